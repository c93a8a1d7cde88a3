#!/usr/bin/env bash
# Installs everything the demo and the tests need, reusing what an earlier run installed:
# Debian packages (prometheus, prometheus-alertmanager, rsync, shellcheck, and Java 17 for
# ansible-rulebook), a Python virtualenv with requirements-dev.txt (cached by the file's hash),
# the local cluster's binaries (built once per version) and a collections path that resolves
# terragonlabs.progressive_delivery to this checkout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
say() { echo "bootstrap: $*"; }

install_debian_packages() {
  local missing=()
  [[ -n ${PD_PROMETHEUS:-} ]] || command -v prometheus >/dev/null || missing+=(prometheus)
  [[ -n ${PD_ALERTMANAGER:-} ]] || command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  compgen -G "/usr/lib/jvm/java-17-openjdk-*/bin/java" >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v rsync >/dev/null || missing+=(rsync)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
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
  hash="$(sha256sum <"$root/requirements-dev.txt" | cut -c1-12)"
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

# ansible-test bootstraps pip in its virtualenvs with a get-pip script it downloads from a host
# outside the package registries; give it a stand-in that uses Python's bundled pip instead.
provide_get_pip() {
  local version
  version="$("$root/.venv/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages; from ansible_test._internal.host_configs import NativePythonConfig; print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])')"
  mkdir -p "$HOME/.ansible/test/cache"
  cp "$root/tools/ansible_test_get_pip.py" "$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
}

link_collection() {
  local parent="$root/.cache/collections/ansible_collections/terragonlabs"
  mkdir -p "$parent"
  ln -sfn ../../../.. "$parent/progressive_delivery"
}

install_debian_packages
install_python
provide_get_pip
link_collection
bash "$root/tools/local_cluster/build-binaries.sh"
say "ready"
