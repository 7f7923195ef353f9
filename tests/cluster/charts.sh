#!/usr/bin/env bash
# Prepares the upstream OpenStack-Helm charts for installation: copies the pinned snapshot
# (read-only, outside the repository) into a cache and runs `helm dependency build` on every
# chart, so `helm upgrade --install <release> <dir>/<chart>` works offline.
#
# Usage: tests/cluster/charts.sh            prepare what is missing, print the chart dir
#        tests/cluster/charts.sh --print    only print the chart dir (no work)
#
# Source: $ROCKOON_OSH_DIR, else <repo>/../shared/openstack-helm, else /work/shared/openstack-helm.
# Cache key: the snapshot's SNAPSHOT.md plus a digest of the chart files' names, sizes and
# modification times, so a new snapshot prepares a new directory and never mixes with the old.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${ROCKOON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rockoon}/charts"

source_dir() {
  local d
  for d in "${ROCKOON_OSH_DIR:-}" "$repo/../shared/openstack-helm" /work/shared/openstack-helm; do
    if [[ -n "$d" && -f "$d/SNAPSHOT.md" && -d "$d/helm-toolkit" ]]; then
      (cd "$d" && pwd)
      return 0
    fi
  done
  echo "charts.sh: step 'find the OpenStack-Helm snapshot' failed: set ROCKOON_OSH_DIR to a" \
    "directory holding the upstream charts (with SNAPSHOT.md and helm-toolkit/)" >&2
  return 1
}

src=$(source_dir)
key=$( { cat "$src/SNAPSHOT.md"; cd "$src" && find . -path ./values_overrides -prune -o -type f -printf '%p %s %T@\n' | sort; } \
  | sha256sum | cut -c1-16)
out="$cache/osh-$key"

if [[ "${1:-}" == "--print" ]]; then
  echo "$out"
  exit 0
fi

if [[ -f "$out/.prepared" ]]; then
  echo "$out"
  exit 0
fi

helm="${ROCKOON_HELM:-$("$here/build.sh" --print)/helm}"
[[ -x "$helm" ]] || "$here/build.sh" >/dev/null
[[ -x "$helm" ]] || { echo "charts.sh: step 'find helm' failed: $helm missing" >&2; exit 1; }

echo "charts.sh: preparing the upstream charts from $src into $out" >&2
start=$SECONDS
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# Only the chart directories (each has a Chart.yaml); values_overrides stays in the snapshot.
for chart in "$src"/*/Chart.yaml; do
  cp -r "$(dirname "$chart")" "$tmp/"
done
chmod -R u+w "$tmp"
# helm needs a writable home; keep it inside the temporary tree so nothing leaks to $HOME.
export HELM_CACHE_HOME="$tmp/.helm/cache" HELM_CONFIG_HOME="$tmp/.helm/config" HELM_DATA_HOME="$tmp/.helm/data"
for chart in "$tmp"/*/Chart.yaml; do
  dir=$(dirname "$chart")
  # Charts without dependencies (helm-toolkit itself) need nothing.
  if grep -q '^dependencies:' "$chart"; then
    "$helm" dependency build --skip-refresh "$dir" >/dev/null 2>"$tmp/.dep.err" || {
      echo "charts.sh: step 'helm dependency build $(basename "$dir")' failed:" >&2
      cat "$tmp/.dep.err" >&2
      exit 1
    }
  fi
done
rm -rf "$tmp/.helm" "$tmp/.dep.err"
touch "$tmp/.prepared"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "charts.sh: prepared $(ls "$out" | wc -l) charts in $((SECONDS - start))s" >&2
echo "$out"
