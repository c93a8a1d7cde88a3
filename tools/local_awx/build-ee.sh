#!/usr/bin/env bash
# Builds the execution environment the local AWX runs jobs in, from the collection's own
# definition and without a container registry:
#   1. a base image: a Debian root file system (debootstrap, from the Debian package mirror) with
#      Python, git, the system packages of bindep.txt, ansible-core and ansible-runner at the
#      versions execution-environment.yml names, and requirements.txt; imported with
#      `podman import`. Cached by the hash of those files.
#   2. the collection layer: the tarball `ansible-galaxy collection build` makes, installed as
#      requirements.yml says; requirements.yml's Galaxy collections come from the `ansible`
#      package of the project's Python environment (Galaxy is not reachable here, PyPI is).
#      Tagged by the hash of the collection's files, and as :latest.
#
# Usage: build-ee.sh   (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF choose podman's store;
# local_awx.py sets them)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
AWX_CACHE="$CACHE_DIR/awx"
IMAGE="${PD_AWX_EE_IMAGE:-localhost/progressive-delivery-ee:latest}"
IMAGE_NAME="${IMAGE%:*}"
MIRROR="${PD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
say() { echo "build-ee: $*"; }
fail() { echo "build-ee: $*" >&2; exit 1; }

# The value of `key: value` under `name:` in execution-environment.yml's dependencies.
ee_pin() { sed -n "/^  $1:/,/^  [a-z]/s/^    package_pip: //p" "$root/execution-environment.yml"; }

# bindep.txt's packages for Debian (the dpkg platform), without a bindep run on this host.
debian_packages() {
  sed -e 's/#.*//' "$root/bindep.txt" | awk 'NF && ($0 !~ /\[/ || $0 ~ /platform:dpkg/) {print $1}'
}

build_base() {
  local key base_tag
  key="$(cat "$root/execution-environment.yml" "$root/requirements.txt" "$root/bindep.txt" "$0" | sha256sum | cut -c1-12)"
  base_tag="$IMAGE_NAME-base:$key"
  if podman image exists "$base_tag"; then
    echo "$base_tag"
    return
  fi
  command -v debootstrap >/dev/null || fail "debootstrap is not installed (tools/local_awx/install.sh installs it)"
  local rootfs="$AWX_CACHE/ee-rootfs.tmp" include
  include="python3,python3-pip,python3-venv,git,ca-certificates,openssh-client,$(debian_packages | paste -sd,)"
  say "making a Debian $SUITE root file system (first time only, about 2 minutes)" >&2
  rm -rf "$rootfs"
  nice -n 10 debootstrap --variant=minbase --include="$include" "$SUITE" "$rootfs" "$MIRROR" >&2 \
    || fail "debootstrap failed (see $rootfs/debootstrap/debootstrap.log)"
  # pip inside the root file system reaches PyPI as this host does (same resolver and CAs).
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/pd-host-ca.crt"
  cp "$root/requirements.txt" "$rootfs/tmp/requirements.txt"
  say "installing ansible-core $(ee_pin ansible_core), ansible-runner $(ee_pin ansible_runner) and requirements.txt" >&2
  nice -n 10 chroot "$rootfs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    PIP_CERT=/etc/ssl/certs/pd-host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    python3 -m pip install -q --no-cache-dir --break-system-packages \
    "$(ee_pin ansible_core)" "$(ee_pin ansible_runner)" -r /tmp/requirements.txt >&2
  rm -f "$rootfs/tmp/requirements.txt" "$rootfs/etc/ssl/certs/pd-host-ca.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$rootfs/runner" "$rootfs/usr/share/ansible/collections"
  chmod 0777 "$rootfs/runner"
  tar -C "$rootfs" -c . | podman import --change 'WORKDIR /runner' --change 'ENV HOME=/runner' \
    --change 'ENV LANG=C.UTF-8' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$base_tag" >&2
  rm -rf "$rootfs"
  echo "$base_tag"
}

build_collection_layer() {
  local base_tag="$1" context key
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' RETURN
  (cd "$root" && "$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$context" >/dev/null)
  local tarball
  tarball="$(cd "$context" && ls terragonlabs-progressive_delivery-*.tar.gz)"
  # FILES.json lists every file's checksum and nothing that changes between identical builds.
  key="$( (tar -xzOf "$context/$tarball" FILES.json; echo "$base_tag") | sha256sum | cut -c1-12)"
  if podman image exists "$IMAGE_NAME:$key"; then
    podman tag "$IMAGE_NAME:$key" "$IMAGE"
    return
  fi
  say "installing the collection into $IMAGE_NAME:$key"
  local site="$root/.venv/lib/python3.11/site-packages/ansible_collections"
  mkdir -p "$context/collections/ansible_collections"
  mv "$context/$tarball" "$context/collections/"
  cp -a "$site/kubernetes" "$context/collections/ansible_collections/"
  cp "$root/requirements.yml" "$context/requirements.yml"
  cat >"$context/Containerfile" <<EOF
FROM $base_tag
COPY collections/ansible_collections /usr/share/ansible/collections/ansible_collections
COPY collections/$tarball /tmp/$tarball
RUN ansible-galaxy collection install --no-deps -p /usr/share/ansible/collections /tmp/$tarball \
 && rm /tmp/$tarball
EOF
  podman build -q --network none -t "$IMAGE_NAME:$key" -t "$IMAGE" "$context" >/dev/null
}

command -v podman >/dev/null || fail "podman is not installed (tools/local_awx/install.sh installs it)"
mkdir -p "$AWX_CACHE"
exec 8>"$AWX_CACHE/.ee.lock"
flock 8
base="$(build_base)"
build_collection_layer "$base"
say "ready: $IMAGE"
