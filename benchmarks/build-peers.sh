#!/usr/bin/env bash
# Builds the peers' controllers (Argo Rollouts, Flagger) from their Go modules and caches them,
# with their CRDs, by version, so `make benchmark-peers` compiles each only once per machine.
#
# Official release downloads are unreachable where this project is developed; the Go module proxy
# is not. Argo Rollouts' go.mod has `replace` directives, which `go install pkg@version` refuses,
# so each peer is built from a wrapper module that requires it (and repeats its replaces).
#
# Usage: build-peers.sh [argo-rollouts] [flagger]   (default: both)
# Prints, per peer, one line `<peer> <binary> <crd-dir> <build-seconds or cached>` on stdout.
set -euo pipefail

ARGO_ROLLOUTS_VERSION="${PD_ARGO_ROLLOUTS_VERSION:-v1.8.5}"
FLAGGER_VERSION="${PD_FLAGGER_VERSION:-v1.36.1}"
CACHE_DIR="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
DEST="$CACHE_DIR/peers"

fail() { echo "build-peers: $*" >&2; exit 1; }

command -v go >/dev/null || fail "Go is not installed; the peers are built from their Go modules"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

module_dir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

# Builds package $3 of module $2 at version $4 into $1/<name>, through a wrapper module whose
# go.mod gets the extra lines in $5 (replace directives).
build_wrapped() {
  local out="$1" module="$2" package="$3" version="$4" extra="$5" dir
  dir="$work/${package##*/}"
  mkdir -p "$dir" "$out.tmp"
  printf 'module peerbuild\ngo 1.23.4\nrequire %s %s\n%s\n' "$module" "$version" "$extra" >"$dir/go.mod"
  # The tools file keeps the command's dependencies in go.mod through `go mod tidy`.
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >"$dir/tools.go"
  (
    cd "$dir"
    go mod tidy >&2
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/" "$package" >&2
  ) || { rm -rf "$out.tmp"; return 1; }
}

build_argo_rollouts() {
  local out="$DEST/argo-rollouts-$ARGO_ROLLOUTS_VERSION" start=$SECONDS src replaces
  if [[ ! -f $out/done ]]; then
    echo "build-peers: building Argo Rollouts $ARGO_ROLLOUTS_VERSION (first time only; about 3 minutes on 2 cores)" >&2
    src="$(module_dir "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION")" \
      || fail "downloading Argo Rollouts $ARGO_ROLLOUTS_VERSION failed (output above)"
    # Argo's own replace block, verbatim: it pins the k8s.io staging modules k8s.io/kubernetes needs.
    replaces="$(sed -n '/^replace (/,/^)/p' "$src/go.mod")"
    build_wrapped "$out" github.com/argoproj/argo-rollouts \
      github.com/argoproj/argo-rollouts/cmd/rollouts-controller "$ARGO_ROLLOUTS_VERSION" "$replaces" \
      || fail "building Argo Rollouts $ARGO_ROLLOUTS_VERSION failed (output above)"
    mkdir -p "$out.tmp/crds"
    cp "$src"/manifests/crds/*-crd.yaml "$out.tmp/crds/"
    chmod -R u+w "$out.tmp"
    echo $((SECONDS - start)) >"$out.tmp/build-seconds"
    touch "$out.tmp/done"
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "argo-rollouts $out/rollouts-controller $out/crds $((SECONDS - start))"
  else
    echo "argo-rollouts $out/rollouts-controller $out/crds cached"
  fi
}

build_flagger() {
  local out="$DEST/flagger-$FLAGGER_VERSION" start=$SECONDS src
  if [[ ! -f $out/done ]]; then
    echo "build-peers: building Flagger $FLAGGER_VERSION (first time only; about 3 minutes on 2 cores)" >&2
    src="$(module_dir "github.com/fluxcd/flagger@$FLAGGER_VERSION")" \
      || fail "downloading Flagger $FLAGGER_VERSION failed (output above)"
    build_wrapped "$out" github.com/fluxcd/flagger github.com/fluxcd/flagger/cmd/flagger \
      "$FLAGGER_VERSION" "" || fail "building Flagger $FLAGGER_VERSION failed (output above)"
    mkdir -p "$out.tmp/crds"
    cp "$src/artifacts/flagger/crd.yaml" "$out.tmp/crds/"
    chmod -R u+w "$out.tmp"
    echo $((SECONDS - start)) >"$out.tmp/build-seconds"
    touch "$out.tmp/done"
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "flagger $out/flagger $out/crds $((SECONDS - start))"
  else
    echo "flagger $out/flagger $out/crds cached"
  fi
}

mkdir -p "$DEST"
# One build at a time: a second caller waits, then finds the binaries cached.
exec 9>"$DEST/.lock"
flock 9
peers=("$@")
[[ ${#peers[@]} -gt 0 ]] || peers=(argo-rollouts flagger)
for peer in "${peers[@]}"; do
  case $peer in
    argo-rollouts) build_argo_rollouts ;;
    flagger) build_flagger ;;
    *) fail "unknown peer $peer (argo-rollouts or flagger)" ;;
  esac
done
