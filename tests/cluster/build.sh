#!/usr/bin/env bash
# Builds the dev cluster's components from the Go module proxy at the versions
# pinned in tests/cluster/go/*/go.mod, into a cache outside the repository.
#
# Usage: tests/cluster/build.sh            build what is missing, print the bin dir
#        tests/cluster/build.sh --print    only print the bin dir (no build)
#
# The cache key of each component is its version plus a hash of its go.mod and
# go.sum, so a version bump rebuilds that component and nothing else. The bin
# dir holds symlinks to the cached binaries of the current pins.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ROCKOON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rockoon}/devcluster"
bindir="$cache/bin"

# component  module-dir  go package  binary name  version
components=(
  "kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|kube-apiserver"
  "kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|kube-controller-manager"
  "kubernetes|k8s.io/kubernetes/cmd/kube-scheduler|kube-scheduler"
  "kubernetes|k8s.io/kubernetes/cmd/kubectl|kubectl"
  "kubernetes|k8s.io/kubernetes/cmd/kubelet|kubelet"
  "kwok|sigs.k8s.io/kwok/cmd/kwok|kwok"
  "helm|helm.sh/helm/v3/cmd/helm|helm"
  "etcd|go.etcd.io/etcd/server/v3|etcd"
  "prometheus|github.com/prometheus/prometheus/cmd/prometheus|prometheus"
)

module_version() { # dir -> version of the single pinned requirement
  sed -n 's/^require \([^ ]*\) \(v[^ ]*\)$/\2/p' "$here/go/$1/go.mod"
}

module_key() { # dir -> version + content hash
  local sum
  sum=$(cat "$here/go/$1/go.mod" "$here/go/$1/go.sum" | sha256sum | cut -c1-12)
  echo "$(module_version "$1")-$sum"
}

ldflags_for() { # dir -> -ldflags so `--version` output is parseable
  local v
  v=$(module_version "$1")
  case "$1" in
    kubernetes)
      local minor
      minor=$(echo "$v" | cut -d. -f2)
      local x="-X k8s.io/component-base/version"
      local c="-X k8s.io/client-go/pkg/version"
      echo "-s -w $x.gitVersion=$v $x.gitMajor=1 $x.gitMinor=$minor $x.gitTreeState=clean" \
        "$c.gitVersion=$v $c.gitMajor=1 $c.gitMinor=$minor"
      ;;
    kwok) echo "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v" ;;
    helm) echo "-s -w -X helm.sh/helm/v3/internal/version.version=$v" ;;
    prometheus) # module v0.3XX.Y is Prometheus 3.XX.Y
      local minor="${v#v0.}"
      minor="${minor%%.*}"
      echo "-s -w -X github.com/prometheus/common/version.Version=3.$((minor - 300)).${v##*.}"
      ;;
    *) echo "-s -w" ;;
  esac
}

tags_for() { # dir -> go build tags
  case "$1" in
    # Only the Kubernetes service discovery: drops the cloud SDKs (a third of the build). No
    # `builtinassets`: the web UI's assets need an npm build, so the module build serves the
    # HTTP API (/api/v1/...) but not the UI pages.
    prometheus) echo "remove_all_sd,enable_kubernetes_sd" ;;
    *) echo "" ;;
  esac
}

if [[ "${1:-}" == "--print" ]]; then
  echo "$bindir"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: step 'find go': no Go toolchain on PATH" >&2; exit 1; }
# -mod=readonly: go.mod and go.sum are the pins; a build must never rewrite them.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0
mkdir -p "$bindir"

for entry in "${components[@]}"; do
  IFS='|' read -r dir pkg name <<<"$entry"
  key=$(module_key "$dir")
  out="$cache/$dir-$key"
  if [[ ! -x "$out/$name" ]]; then
    echo "build.sh: building $name ($dir $key)" >&2
    mkdir -p "$out"
    start=$SECONDS
    if ! (cd "$here/go/$dir" && go build -trimpath -tags "$(tags_for "$dir")" -ldflags "$(ldflags_for "$dir")" -o "$out/$name.tmp" "$pkg"); then
      echo "build.sh: step 'build $name' failed" >&2
      exit 1
    fi
    mv "$out/$name.tmp" "$out/$name"
    echo "build.sh: built $name in $((SECONDS - start))s, $(du -h "$out/$name" | cut -f1)" >&2
  fi
  ln -sfn "$out/$name" "$bindir/$name"
done

# kwok needs stage definitions (how fake nodes and pods progress). Use the ones kwok publishes
# in its own module at the pinned version, read from the module cache, never copied into the repo.
stages="$cache/kwok-$(module_key kwok)/stages.yaml"
if [[ ! -s "$stages" ]]; then
  kwokdir=$(cd "$here/go/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok) || {
    echo "build.sh: step 'locate kwok stages' failed" >&2; exit 1; }
  {
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$kwokdir/kustomize/stage/$f"
    done
  } > "$stages.tmp"
  mv "$stages.tmp" "$stages"
fi
ln -sfn "$stages" "$bindir/kwok-stages.yaml"

# The real node's sandbox ("pause") image: a static C program wrapped into an OCI archive by
# our own oci-archive.sh, so containerd never pulls it. Keyed by the hash of its inputs.
pause_key=$(cat "$here/pause/pause.c" "$here/pause/ref" "$here/oci-archive.sh" | sha256sum | cut -c1-12)
pause="$cache/pause-$pause_key/pause.tar"
if [[ ! -s "$pause" ]]; then
  command -v gcc >/dev/null || { echo "build.sh: step 'build pause': no gcc on PATH" >&2; exit 1; }
  rootfs="$cache/pause-$pause_key/rootfs"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  gcc -static -Os -s -o "$rootfs/pause" "$here/pause/pause.c" || {
    echo "build.sh: step 'build pause' failed (needs a static libc: Debian's libc6-dev)" >&2; exit 1; }
  "$here/oci-archive.sh" "$rootfs" "$(cat "$here/pause/ref")" "$pause" \
    --entrypoint /pause --user 65535:65535
  rm -rf "$rootfs"
fi
ln -sfn "$pause" "$bindir/pause.tar"

# Gateway API CRDs (standard channel) so the API server validates the HTTPRoutes and Gateway
# the render produces. Read from the pinned module in the module cache, never copied into
# the repo; `devcluster` applies bin/gateway-api-crds.yaml.
gwcrds="$cache/gateway-api-$(module_key gateway-api)/standard-crds.yaml"
if [[ ! -s "$gwcrds" ]]; then
  gwdir=$(cd "$here/go/gateway-api" && go mod download sigs.k8s.io/gateway-api \
          && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api) || {
    echo "build.sh: step 'locate Gateway API CRDs' failed" >&2; exit 1; }
  mkdir -p "$(dirname "$gwcrds")"
  for f in "$gwdir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
    grep -q '^kind: CustomResourceDefinition$' "$f" || continue # e.g. the upgrade policy
    echo "---"
    cat "$f"
  done > "$gwcrds.tmp"
  mv "$gwcrds.tmp" "$gwcrds"
fi
ln -sfn "$gwcrds" "$bindir/gateway-api-crds.yaml"
echo "$bindir"
