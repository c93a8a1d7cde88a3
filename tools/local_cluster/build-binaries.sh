#!/usr/bin/env bash
# Builds the local cluster's binaries from Go modules and caches them by version.
#
# Official release downloads are unreachable from where this project is developed, but the Go
# module proxy is, so kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok are
# compiled from their published modules. A binary already cached (or named by an environment
# variable, see local_cluster.py) is never rebuilt.
#
# The CustomResourceDefinitions of the traffic routers come the same way: each project publishes
# them inside its Go module.
#
# Usage: build-binaries.sh [DEST_DIR]   (default: $PD_CACHE_DIR/bin)
set -euo pipefail

KUBE_VERSION="${PD_KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${PD_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${PD_KWOK_VERSION:-v0.8.0}"
# Router CRDs, installed so the API server validates what the routers write with the real schemas.
GATEWAY_API_VERSION="${PD_GATEWAY_API_VERSION:-v1.3.0}"
ISTIO_API_VERSION="${PD_ISTIO_API_VERSION:-v1.27.3}"
OPENSHIFT_API_VERSION="${PD_OPENSHIFT_API_VERSION:-v0.0.0-20250710004639-926605d3338b}"
# PrometheusRule and ServiceMonitor, which the environment role writes where monitoring is on.
PROMETHEUS_OPERATOR_VERSION="${PD_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
CACHE_DIR="${PD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/progressive-delivery}"
DEST="${1:-$CACHE_DIR/bin}"

# Kubernetes publishes each staging module as k8s.io/<name> v0.<minor>.<patch>; k8s.io/kubernetes
# replaces them with local paths, so a wrapper module must map every one to its published version.
STAGING_MODULES=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
  endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler
  kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin
  sample-controller)

fail() { echo "build-binaries: $*" >&2; exit 1; }

command -v go >/dev/null || fail "Go is not installed; install Go 1.26 or put prebuilt binaries on PATH (see tools/local_cluster/README.md)"

export CGO_ENABLED=0 GOFLAGS=-mod=mod
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build_kubernetes() {
  local out="$DEST/kubernetes-$KUBE_VERSION"
  if [[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/kube-scheduler ]]; then
    return
  fi
  echo "build-binaries: building Kubernetes $KUBE_VERSION (first time only; 15-40 minutes on 2 cores)"
  local staging="v0.${KUBE_VERSION#v1.}" dir="$work/kubernetes"
  mkdir -p "$dir" "$out.tmp"
  {
    echo "module localcluster/kubernetes"
    echo "go 1.24"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    for m in "${STAGING_MODULES[@]}"; do echo "replace k8s.io/$m => k8s.io/$m $staging"; done
  } >"$dir/go.mod"
  local major minor pkg ldflags=""
  major=1 minor="${KUBE_VERSION#v1.}" minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  (
    cd "$dir"
    go get k8s.io/kubernetes/cmd/kube-apiserver@"$KUBE_VERSION" \
      k8s.io/kubernetes/cmd/kube-controller-manager@"$KUBE_VERSION" \
      k8s.io/kubernetes/cmd/kube-scheduler@"$KUBE_VERSION"
    go build -trimpath -tags selinux,notest -ldflags "-s -w$ldflags" -o "$out.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler
  ) || { rm -rf "$out.tmp"; fail "building Kubernetes $KUBE_VERSION failed (output above)"; }
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$DEST/etcd-$ETCD_VERSION"
  [[ -x $out/etcd ]] && return
  echo "build-binaries: building etcd $ETCD_VERSION"
  local dir="$work/etcd"
  mkdir -p "$dir" "$out.tmp"
  printf 'module localcluster/etcd\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  (
    cd "$dir"
    go get go.etcd.io/etcd/server/v3@"$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  ) || { rm -rf "$out.tmp"; fail "building etcd $ETCD_VERSION failed (output above)"; }
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_kwok() {
  local out="$DEST/kwok-$KWOK_VERSION"
  [[ -x $out/kwok ]] && return
  echo "build-binaries: building kwok $KWOK_VERSION"
  mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok@"$KWOK_VERSION" \
    || { rm -rf "$out.tmp"; fail "building kwok $KWOK_VERSION failed (output above)"; }
  rm -rf "$out" && mv "$out.tmp" "$out"
}

module_dir() { go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }

fetch_crds() {
  local out="$DEST/crds-gateway-$GATEWAY_API_VERSION-istio-$ISTIO_API_VERSION-openshift-${OPENSHIFT_API_VERSION##*-}-monitoring-$PROMETHEUS_OPERATOR_VERSION"
  # local_cluster.py installs whatever DEST/crds points at.
  [[ -f $out/done ]] && { ln -sfn "$out" "$DEST/crds"; return; }
  echo "build-binaries: fetching router CRDs"
  local gateway istio openshift monitoring
  gateway="$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")" || gateway=""
  istio="$(module_dir "istio.io/api@$ISTIO_API_VERSION")" || istio=""
  openshift="$(module_dir "github.com/openshift/api@$OPENSHIFT_API_VERSION")" || openshift=""
  monitoring="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")" || monitoring=""
  if [[ -z $gateway || -z $istio || -z $openshift || -z $monitoring ]]; then
    fail "fetching the router CRD modules failed (output above)"
  fi
  rm -rf "$out" && mkdir -p "$out"
  cp "$gateway"/config/crd/standard/gateway.networking.k8s.io_{gatewayclasses,gateways,httproutes}.yaml "$out/"
  cp "$istio/kubernetes/customresourcedefinitions.gen.yaml" "$out/istio.yaml"
  cp "$openshift/route/v1/zz_generated.crd-manifests/routes.crd.yaml" "$out/openshift-routes.yaml"
  cp "$monitoring"/example/prometheus-operator-crd/monitoring.coreos.com_{prometheusrules,servicemonitors}.yaml "$out/"
  chmod 0644 "$out"/*.yaml
  touch "$out/done"
  ln -sfn "$out" "$DEST/crds"
}

mkdir -p "$DEST"
# One build at a time: a second caller waits, then finds the binaries cached.
exec 9>"$DEST/.lock"
flock 9
for component in ${PD_BUILD_ONLY:-etcd kwok crds kubernetes}; do
  case $component in crds) fetch_crds ;; *) "build_$component" ;; esac
done
echo "build-binaries: binaries ready in $DEST"
