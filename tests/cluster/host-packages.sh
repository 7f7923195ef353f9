#!/usr/bin/env bash
# Installs the Debian packages the dev cluster's real node needs, when they are missing:
# containerd (the container runtime kubelet talks to), runc (its low-level runtime), the
# CNI plugins (bridge, host-local, loopback: pod networking, and containerd only reports
# NetworkReady with a CNI config and plugins) and iptables (the bridge plugin's masquerade
# and port rules).
#
# Usage: tests/cluster/host-packages.sh           install what is missing
#        tests/cluster/host-packages.sh --check   only report; exit 1 when something is missing
#
# Idempotent: nothing happens when everything is present, and `apt-get update` runs only
# when a package has to be installed. Needs root and apt; without them it names what is
# missing and exits non-zero, so the caller can fail (CI) or skip (a developer's machine).
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "host-packages.sh: missing Debian packages: ${missing[*]}" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "host-packages.sh: the real node needs Debian packages ${missing[*]}; installing them needs root (run: sudo $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "host-packages.sh: the real node needs ${missing[*]}, and this host has no apt-get to install them" >&2
  exit 1
fi
echo "host-packages.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "host-packages.sh: step 'apt-get update' failed" >&2; exit 1; }
# The package's own service must not start: devcluster runs containerd itself, with its state
# inside the cluster's run folder (policy-rc.d keeps the maintainer scripts from starting it).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
status=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || status=$?
[[ $created_policy -eq 1 ]] && rm -f "$policy"
if [[ $status -ne 0 ]]; then
  echo "host-packages.sh: step 'apt-get install ${missing[*]}' failed" >&2
  exit 1
fi
