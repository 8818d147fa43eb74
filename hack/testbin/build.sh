#!/usr/bin/env bash
# Builds the local control-plane binaries (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager, kubectl, kwok, helm) from the Go module proxy into a
# cache outside the repository, keyed by the helper modules' go.mod/go.sum and
# this script, then links them at <repo>/.testbin. Prints the cache directory.
# A warm cache costs nothing: the binaries are reused as they are.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
K8S_VERSION=v1.37.2   # must match k8s.io/kubernetes in k8s/go.mod

KEY=$(cat "$HERE"/{k8s,etcd,tools}/go.{mod,sum} "$HERE/build.sh" | sha256sum | cut -c1-16)
CACHE_ROOT="${CENAS_TESTBIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cenas/testbin}"
OUT="$CACHE_ROOT/$KEY"
BINARIES=(etcd kube-apiserver kube-scheduler kube-controller-manager kubectl kwok helm)

complete() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done
}

link() {
  ln -sfn "$OUT" "$REPO/.testbin"
  echo "$OUT"
}

if complete; then link; exit 0; fi

# -trimpath and -mod=readonly: reproducible and never edits the committed go.mod files.
# GOTOOLCHAIN=local: fail clearly rather than download another Go toolchain.
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=readonly"
# Two compile jobs at most: the machine has 2 cores and linking kube-apiserver needs GiBs.
export GOMAXPROCS="${GOMAXPROCS:-2}"

TMP="$OUT.tmp.$$"
rm -rf "$TMP"; mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

minor=$(cut -d. -f2 <<<"$K8S_VERSION")
# Module zips carry no git metadata, so stamp the version the binaries report.
K8S_LDFLAGS="-s -w \
 -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

echo "building control-plane binaries into $OUT (cold: tens of minutes)" >&2
(cd "$HERE/etcd" && go build -ldflags "-s -w" -o "$TMP/etcd" go.etcd.io/etcd/server/v3) >&2
(cd "$HERE/k8s" && go build -ldflags "$K8S_LDFLAGS" -o "$TMP/" \
   k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-scheduler \
   k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl) >&2
(cd "$HERE/tools" && go build -ldflags "-s -w" -o "$TMP/" \
   sigs.k8s.io/kwok/cmd/kwok helm.sh/helm/v3/cmd/helm) >&2
# kwok ships its stage definitions in its module; keep a copy beside the binary.
KWOK_DIR=$(cd "$HERE/tools" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
cp -r "$KWOK_DIR/kustomize/stage" "$TMP/kwok-stages"
chmod -R u+w "$TMP/kwok-stages"

rm -rf "$OUT"; mv "$TMP" "$OUT"; trap - EXIT
link
