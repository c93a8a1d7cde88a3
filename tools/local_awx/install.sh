#!/usr/bin/env bash
# Installs what the local AWX needs, once per version, into the cache:
#   Debian packages (PostgreSQL, Redis, podman with runc and slirp4netns, debootstrap, the headers
#   AWX's compiled Python dependencies build against), receptor built from its Go source, and a
#   Python environment with AWX and its pinned requirements.
#
# Sources: PD_AWX_SOURCES (a directory holding awx-<v>.tar.gz, django-ansible-base-<v>.tar.gz and
# receptor-<v>.tar.gz, checked against its SHA256SUMS), else ../shared/vendor beside the checkout
# when present, else the projects' public release archives. AWX is not on PyPI, its pinned
# django-ansible-base is older than PyPI's oldest release, and the Go module proxy refuses receptor.
#
# Usage: install.sh [STAGE...]   stages: packages sources receptor python (default: all)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
AWX_VERSION="${PD_AWX_VERSION:-24.6.1}"
DAB_VERSION="${PD_DAB_VERSION:-2024.7.1}"
RECEPTOR_VERSION="${PD_RECEPTOR_VERSION:-1.4.9}"
CACHE_DIR="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
AWX_CACHE="$CACHE_DIR/awx"
SOURCES="$AWX_CACHE/src"
say() { echo "local-awx install: $*"; }
fail() { echo "local-awx install: $*" >&2; exit 1; }

DEBIAN_PACKAGES=(postgresql redis-server podman runc slirp4netns uidmap fuse-overlayfs debootstrap
  git rsync build-essential python3-dev pkg-config libldap2-dev libsasl2-dev libxmlsec1-dev
  libxml2-dev libpq-dev)

install_packages() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || fail "need root or sudo to install: ${missing[*]}"
    sudo=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# archive name, public URL of the same release
archive_url() {
  case $1 in
    awx) echo "https://github.com/ansible/awx/archive/refs/tags/$AWX_VERSION.tar.gz" ;;
    django-ansible-base) echo "https://github.com/ansible/django-ansible-base/archive/refs/tags/$DAB_VERSION.tar.gz" ;;
    receptor) echo "https://github.com/ansible/receptor/archive/refs/tags/v$RECEPTOR_VERSION.tar.gz" ;;
  esac
}

archive_version() {
  case $1 in awx) echo "$AWX_VERSION" ;; django-ansible-base) echo "$DAB_VERSION" ;; receptor) echo "$RECEPTOR_VERSION" ;; esac
}

local_sources() {
  if [[ -n ${PD_AWX_SOURCES:-} ]]; then
    [[ -d $PD_AWX_SOURCES ]] || fail "PD_AWX_SOURCES=$PD_AWX_SOURCES is not a directory"
    echo "$PD_AWX_SOURCES"
  elif [[ -f $root/../shared/vendor/SHA256SUMS ]]; then
    echo "$root/../shared/vendor"
  fi
}

# Unpacks <name>-<version> into the cache; each archive's top directory is <name>-<version>.
fetch_sources() {
  local name version dir archive copy
  copy="$(local_sources)"
  mkdir -p "$SOURCES"
  for name in awx django-ansible-base receptor; do
    version="$(archive_version "$name")"
    dir="$SOURCES/$name-$version"
    [[ -f $dir/.complete ]] && continue
    archive="$name-$version.tar.gz"
    if [[ -n $copy ]]; then
      say "unpacking $archive from $copy"
      (cd "$copy" && grep " $archive\$" SHA256SUMS | sha256sum -c --quiet -) \
        || fail "$copy/$archive does not match $copy/SHA256SUMS"
      archive="$copy/$archive"
    else
      say "downloading $(archive_url "$name")"
      curl -fsSL --retry 3 -o "$SOURCES/$archive" "$(archive_url "$name")" \
        || fail "downloading $name $version failed; give a local copy with PD_AWX_SOURCES"
      archive="$SOURCES/$archive"
    fi
    rm -rf "$dir" && tar -xzf "$archive" -C "$SOURCES"
    [[ -d $dir ]] || fail "$archive has no top directory $name-$version"
    touch "$dir/.complete"
  done
}

build_receptor() {
  local out="$AWX_CACHE/bin/receptor-$RECEPTOR_VERSION"
  [[ -x $out/receptor ]] && return
  command -v go >/dev/null || fail "Go is not installed; receptor is built from its source"
  say "building receptor $RECEPTOR_VERSION (first time only, about 3 minutes)"
  mkdir -p "$out.tmp"
  (
    cd "$SOURCES/receptor-$RECEPTOR_VERSION"
    CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath \
      -ldflags "-s -w -X github.com/ansible/receptor/internal/version.Version=$RECEPTOR_VERSION" \
      -o "$out.tmp/receptor" ./cmd/receptor-cl
  ) || { rm -rf "$out.tmp"; fail "building receptor failed (output above)"; }
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# AWX's pinned requirements, less the git pins that stand in for released packages below.
install_python() {
  local venv="$AWX_CACHE/venv-$AWX_VERSION" src="$SOURCES/awx-$AWX_VERSION"
  [[ -f $venv/.complete ]] && return
  say "creating AWX's Python environment $venv (first time only, about 5 minutes)"
  # An interrupted run's environment is completed rather than made again: pip skips what is there.
  python3 -m venv "$venv"
  local pip=("$venv/bin/pip" install -q --disable-pip-version-check)
  "${pip[@]}" 'pip<25' 'setuptools<71' wheel setuptools-scm cython
  # uwsgi, hiredis, python-ldap and xmlsec compile here; nice keeps the machine responsive.
  nice -n 10 "${pip[@]}" -r "$src/requirements/requirements.txt" \
    ansible-runner==2.4.0 python3-saml==1.16.0 certifi
  # Release archives have no git metadata for setuptools-scm: name the versions.
  SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DJANGO_ANSIBLE_BASE="$DAB_VERSION" \
    "${pip[@]}" --no-deps "$SOURCES/django-ansible-base-$DAB_VERSION"
  # AWX reads its version from VERSION when it has no git metadata, as in its release packages.
  echo "$AWX_VERSION" >"$src/VERSION"
  "${pip[@]}" --no-deps --no-build-isolation -e "$src"
  # Without the development settings module, AWX runs as a released package does.
  rm -f "$src/awx/devonly.py"
  touch "$venv/.complete"
}

mkdir -p "$AWX_CACHE"
# One install at a time: a second caller (another test worker) waits, then finds it done.
exec 9>"$AWX_CACHE/.install.lock"
flock 9
(($#)) || set -- packages sources receptor python
for stage in "$@"; do
  case $stage in
    packages) install_packages ;;
    sources) fetch_sources ;;
    receptor) build_receptor ;;
    python) install_python ;;
    *) fail "unknown stage $stage" ;;
  esac
done
