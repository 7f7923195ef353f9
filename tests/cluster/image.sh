#!/usr/bin/env bash
# Builds the suite's image here, from the release binaries, without pulling anything: no base
# image, no registry, no daemon. The same layout as the Dockerfile (which stays for machines
# with a registry; tests/tests/image.rs checks both agree):
#   /usr/local/bin/rockoon-{osdpl,secrets,health,node,ceph-exchange}  the release binaries
#   /usr/local/bin/helm                 the pinned helm of tests/cluster/go/helm (static)
#   the shared libraries `ldd` lists for the binaries, at their paths, and the loader
#   /etc/ssl/certs/ca-certificates.crt  CA bundle (the host's)
#   /etc/passwd, /etc/group             root and rockoon (42424:42424)
#   /tmp                                1777 (the chart mounts an emptyDir over it)
#   user 42424:42424, env HOME=/tmp, workdir /tmp, cmd rockoon-osdpl --help
#
# Usage: tests/cluster/image.sh <release-dir> <out-dir> [<ref>]
#   <release-dir>  cargo's release folder with the five rockoon-* binaries
#   <out-dir>      gets rootfs/ (the unpacked image) and rockoon.oci.tar (an OCI archive that
#                  `ctr -n k8s.io images import` loads)
#   <ref>          image reference, default localhost/rockoon:dev
# Prints the archive's path. The archive is written with tests/cluster/oci-archive.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 2 ]] || { sed -n '2,20p' "$0" >&2; exit 2; }
release=$1 out=$2 ref=${3:-localhost/rockoon:dev}
binaries=(rockoon-osdpl rockoon-secrets rockoon-health rockoon-node rockoon-ceph-exchange)
ca_bundle=/etc/ssl/certs/ca-certificates.crt

fail() { echo "image.sh: step '$1': $2" >&2; exit 1; }

for bin in "${binaries[@]}"; do
  [[ -x "$release/$bin" ]] || fail "find $bin" "$release/$bin is not built (make release)"
done
helm="$("$here/build.sh" --print)/helm"
[[ -x "$helm" ]] || fail "find helm" "$helm is not built (tests/cluster/build.sh)"
[[ -s "$ca_bundle" ]] || fail "find the CA bundle" "$ca_bundle is missing (Debian package ca-certificates)"
command -v ldd >/dev/null || fail "find ldd" "no ldd on PATH"

rootfs="$out/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"

for bin in "${binaries[@]}"; do
  install -m 0755 "$release/$bin" "$rootfs/usr/local/bin/$bin"
done
install -m 0755 "$(readlink -f "$helm")" "$rootfs/usr/local/bin/helm"

# Every shared library the binaries load, and the loader, at the path the binary asks for
# (ldd prints `name => /path (addr)` for libraries and `/path (addr)` for the loader). The
# loader then finds them in its built-in system folders; no ld.so.cache is needed.
libraries=$(
  for bin in "${binaries[@]}"; do
    ldd "$release/$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u
)
for lib in $libraries; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

cp -L "$ca_bundle" "$rootfs$ca_bundle"
printf 'root:x:0:0:root:/root:/sbin/nologin\nrockoon:x:42424:42424:rockoon:/tmp:/sbin/nologin\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nrockoon:x:42424:\n' >"$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs$ca_bundle"

# Config as in the Dockerfile's final stage. PATH and SSL_CERT_FILE are what its base image
# sets; the binaries find the bundle at the default path either way.
"$here/oci-archive.sh" "$rootfs" "$ref" "$out/rockoon.oci.tar" \
  --user 42424:42424 \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env SSL_CERT_FILE=$ca_bundle \
  --env HOME=/tmp \
  --workdir /tmp \
  --cmd /usr/local/bin/rockoon-osdpl --cmd --help \
  --label org.opencontainers.image.title=rockoon \
  --label "org.opencontainers.image.description=Rockoon in Rust: OpenStack lifecycle controllers" \
  --label org.opencontainers.image.licenses=Apache-2.0
echo "$out/rockoon.oci.tar"
