#!/usr/bin/env bash
# Writes a one-layer OCI image archive (an OCI image layout in a tar) from a folder, without
# a registry, a daemon or a base image: tar + sha256 + JSON. `ctr -n k8s.io images import`
# loads it, so the dev cluster's real node runs images built here (imagePullPolicy: Never).
#
# Usage: tests/cluster/oci-archive.sh <rootfs-dir> <ref> <out.tar> [options]
#   --entrypoint ARG   append ARG to the entrypoint (repeat for several)
#   --cmd ARG          append ARG to the command (repeat for several)
#   --env NAME=VALUE   add an environment variable (repeat)
#   --user USER        user (name or uid[:gid]) the container runs as
#   --workdir DIR      working directory
#   --label KEY=VALUE  add an image label (repeat)
#   --expose PORT/tcp  declare an exposed port (repeat)
#   --gzip             gzip the layer (smaller archive; the default is an uncompressed layer)
#
# <ref> is the full image reference the importer stores (e.g. localhost/rockoon/pause:dev).
# The layer is reproducible: entries sorted, owner root unless the rootfs says otherwise
# (numeric ids are kept), mtime 0. Values must not contain double quotes or backslashes.
set -euo pipefail

[[ $# -ge 3 ]] || { sed -n '2,20p' "$0" >&2; exit 2; }
rootfs=$1 ref=$2 out=$3
shift 3
[[ -d "$rootfs" ]] || { echo "oci-archive.sh: $rootfs is not a folder" >&2; exit 1; }

entrypoint=() cmd=() env=() labels=() ports=() user="" workdir="" compress=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --entrypoint) entrypoint+=("$2"); shift 2 ;;
    --cmd) cmd+=("$2"); shift 2 ;;
    --env) env+=("$2"); shift 2 ;;
    --user) user=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --label) labels+=("$2"); shift 2 ;;
    --expose) ports+=("$2"); shift 2 ;;
    --gzip) compress=1; shift ;;
    *) echo "oci-archive.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

json_string() { # one value as a JSON string; the usage forbids quotes and backslashes
  [[ "$1" != *'"'* && "$1" != *'\'* ]] || { echo "oci-archive.sh: value $1 has a quote or backslash" >&2; exit 2; }
  printf '"%s"' "$1"
}
json_array() { # args -> JSON array of strings
  local first=1
  printf '['
  for item in "$@"; do
    [[ $first -eq 1 ]] || printf ','
    json_string "$item"
    first=0
  done
  printf ']'
}
json_map() { # KEY=VALUE args -> JSON object; with --empty-values, KEY args -> {"KEY":{}}
  local first=1 empty=0
  [[ "${1:-}" == "--empty-values" ]] && { empty=1; shift; }
  printf '{'
  for item in "$@"; do
    [[ $first -eq 1 ]] || printf ','
    if [[ $empty -eq 1 ]]; then
      json_string "$item"; printf ':{}'
    else
      json_string "${item%%=*}"; printf ':'; json_string "${item#*=}"
    fi
    first=0
  done
  printf '}'
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
blobs="$work/layout/blobs/sha256"
mkdir -p "$blobs"

# The layer: every entry of the rootfs, reproducibly ordered and dated.
tar --format=gnu --sort=name --mtime=@0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha "$work/layer.tar")
if [[ $compress -eq 1 ]]; then
  gzip -n -9 "$work/layer.tar"
  layer="$work/layer.tar.gz" layer_type=application/vnd.oci.image.layer.v1.tar+gzip
else
  layer="$work/layer.tar" layer_type=application/vnd.oci.image.layer.v1.tar
fi
layer_digest=$(sha "$layer")
layer_size=$(size "$layer")
mv "$layer" "$blobs/$layer_digest"

# The image configuration (what the runtime reads: entrypoint, env, user, ...).
{
  printf '{"architecture":"amd64","os":"linux","config":{'
  printf '"Env":%s' "$(json_array "${env[@]}")"
  [[ ${#entrypoint[@]} -gt 0 ]] && printf ',"Entrypoint":%s' "$(json_array "${entrypoint[@]}")"
  [[ ${#cmd[@]} -gt 0 ]] && printf ',"Cmd":%s' "$(json_array "${cmd[@]}")"
  [[ -n "$user" ]] && printf ',"User":%s' "$(json_string "$user")"
  [[ -n "$workdir" ]] && printf ',"WorkingDir":%s' "$(json_string "$workdir")"
  [[ ${#labels[@]} -gt 0 ]] && printf ',"Labels":%s' "$(json_map "${labels[@]}")"
  [[ ${#ports[@]} -gt 0 ]] && printf ',"ExposedPorts":%s' "$(json_map --empty-values "${ports[@]}")"
  printf '},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' "$diff_id"
  printf '"history":[{"created_by":"tests/cluster/oci-archive.sh"}]}'
} >"$work/config.json"
config_digest=$(sha "$work/config.json")
config_size=$(size "$work/config.json")
mv "$work/config.json" "$blobs/$config_digest"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"%s","digest":"sha256:%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_type" "$layer_digest" "$layer_size" >"$work/manifest.json"
manifest_digest=$(sha "$work/manifest.json")
manifest_size=$(size "$work/manifest.json")
mv "$work/manifest.json" "$blobs/$manifest_digest"

# The index names the image: containerd's importer reads io.containerd.image.name, other
# tools the OCI ref name (the tag).
tag=${ref##*:}
[[ "$ref" == *:* && "$tag" != */* ]] || tag=latest
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":%s,"org.opencontainers.image.ref.name":%s}}]}' \
  "$manifest_digest" "$manifest_size" "$(json_string "$ref")" "$(json_string "$tag")" >"$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"

mkdir -p "$(dirname "$out")"
tar --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/layout" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "oci-archive.sh: wrote $out ($ref, manifest sha256:$manifest_digest, $(du -h "$out" | cut -f1))" >&2
