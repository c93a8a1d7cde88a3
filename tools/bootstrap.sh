#!/usr/bin/env bash
# Installs everything the demo and the tests need, reusing what an earlier run installed:
# Debian's prometheus package, a Python virtualenv with requirements-dev.txt (cached by the file's
# hash), the local cluster's binaries (built once per version) and a collections path that resolves
# terragonlabs.progressive_delivery to this checkout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
say() { echo "bootstrap: $*"; }

install_debian_packages() {
  local missing=()
  [[ -n ${PD_PROMETHEUS:-} ]] || command -v prometheus >/dev/null || missing+=(prometheus)
  command -v rsync >/dev/null || missing+=(rsync)
  ((${#missing[@]})) || return 0
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { say "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

install_python() {
  local hash venv
  hash="$(cat "$root/requirements-dev.txt" | sha256sum | cut -c1-12)"
  venv="$cache/venv-$hash"
  if [[ ! -f $venv/.complete ]]; then
    say "creating the Python environment $venv (first time only, about 2 minutes)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/requirements-dev.txt"
    touch "$venv/.complete"
  fi
  ln -sfn "$venv" "$root/.venv"
}

link_collection() {
  local parent="$root/.cache/collections/ansible_collections/terragonlabs"
  mkdir -p "$parent"
  ln -sfn ../../../.. "$parent/progressive_delivery"
}

install_debian_packages
install_python
link_collection
bash "$root/tools/local_cluster/build-binaries.sh"
say "ready"
