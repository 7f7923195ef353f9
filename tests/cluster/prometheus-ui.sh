#!/usr/bin/env bash
# Builds the web UI of the dev cluster's Prometheus (the `mantine-ui` app, Prometheus 3's
# default UI) from the sources in the Go module cache and packages from the npm registry,
# once per Prometheus version, into a cache outside the repository; prints the folder.
#
# Usage: tests/cluster/prometheus-ui.sh          build when missing, print the folder
#        tests/cluster/prometheus-ui.sh --print  print the folder if built (exit 1 if not)
#
# Why: `tests/cluster/build.sh` builds Prometheus from the Go module without the
# `builtinassets` tag (the module carries no built assets), so the binary serves its UI from
# disk: `static/mantine-ui/...` relative to its working directory (web/ui/ui.go; web/web.go
# serves `/`, `/targets`, `/query` ... from `/static/mantine-ui/index.html`). The folder
# printed here holds that `static/`; tests/src/devcluster/prometheus.rs starts Prometheus in it.
#
# Steps: copy web/ui (minus the old react-app) out of the read-only module cache, install the
# pinned packages with the module's own pnpm-lock.yaml (frozen: nothing is re-resolved), build
# lezer-promql, codemirror-promql, then mantine-ui, and move `mantine-ui/dist` into the cache.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ROCKOON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rockoon}"
version=$(sed -n 's/^require github.com\/prometheus\/prometheus \(v[^ ]*\)$/\1/p' \
  "$here/go/prometheus/go.mod")
[[ -n "$version" ]] || { echo "prometheus-ui.sh: no Prometheus pin in go/prometheus/go.mod" >&2; exit 1; }
out="$cache/prometheus-ui-$version"
index="$out/static/mantine-ui/index.html"

# pnpm 10: the lockfile is format 9.0, and pnpm 11+ needs Node.js >= 22.13 (this machine's
# Node is 20). Vite 8 needs Node ^20.19 or >= 22.12.
PNPM_VERSION=10.34.9

# Pinned packages the npm registry does not serve (the tarball answers 404), and what
# replaces them: name|locked version|replacement|replacement's integrity (from the registry).
# @mantine/code-highlight 9.7.2 is in the lockfile but not published; 9.6.2 is the newest
# published release and has the same API (the UI uses CodeHighlight and its styles only).
SUBSTITUTES=(
  "@mantine/code-highlight|9.7.2|9.6.2|sha512-lEtpNTvLeKB0UKn/f6iH8NKwUtn++Otfg0KCTsIf9ThpSAwkexBTxuo5mDr4UwljalHRIAmFi9otdQ82l6ecYA=="
)

say() { echo "prometheus-ui.sh: $*" >&2; }
fail() { say "step '$1': $2"; exit 1; }
# Any other failing command: name it, so callers can report why there is no UI.
trap 'say "step at line $LINENO failed: $BASH_COMMAND"' ERR

if [[ "${1:-}" == "--print" ]]; then
  [[ -f "$index" ]] || { say "not built yet ($index missing)"; exit 1; }
  echo "$out"
  exit 0
fi
if [[ -f "$index" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache" 2>/dev/null || fail "create the cache" "cannot create $cache"
exec 9>"$cache/prometheus-ui-$version.lock"
flock 9
# Another run may have built it while this one waited for the lock.
if [[ -f "$index" ]]; then
  echo "$out"
  exit 0
fi
started=$SECONDS

command -v node >/dev/null || fail "find node" "no Node.js on PATH (needs ^20.19 or >= 22.12)"
command -v npm >/dev/null || fail "find npm" "no npm on PATH"
node -e 'const [a,b]=process.versions.node.split(".").map(Number);
  process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)?0:1)' ||
  fail "check node" "Node.js $(node --version) is too old for Vite 8 (needs ^20.19 or >= 22.12)"
command -v go >/dev/null || fail "find go" "no Go toolchain on PATH (to locate the module's sources)"

# The module's sources, from the module cache (downloaded by `go mod download` when absent).
module_dir=$(cd "$here/go/prometheus" &&
  GOTOOLCHAIN=local GOFLAGS=-mod=readonly go mod download -json github.com/prometheus/prometheus |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d "$module_dir/web/ui/mantine-ui" ]] ||
  fail "find sources" "no web/ui/mantine-ui in the module dir '$module_dir'"

# pnpm itself, from the npm registry, into the cache.
pnpm_prefix="$cache/pnpm-$PNPM_VERSION"
if [[ ! -x "$pnpm_prefix/node_modules/.bin/pnpm" ]]; then
  say "installing pnpm $PNPM_VERSION into $pnpm_prefix"
  npm install --prefix "$pnpm_prefix" --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >&2 ||
    fail "install pnpm" "npm install pnpm@$PNPM_VERSION failed"
fi
# The packages' own build scripts call `pnpm`.
export PATH="$pnpm_prefix/node_modules/.bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/prometheus-ui.XXXXXX")
trap 'rm -rf "$work" "$out.partial"' EXIT
say "building the web UI of Prometheus $version in $work"
tar -C "$module_dir/web/ui" --exclude=./react-app -cf - . | tar -C "$work" -xf -
chmod -R u+w "$work"

lock="$work/pnpm-lock.yaml"
substituted=""
for entry in "${SUBSTITUTES[@]}"; do
  IFS='|' read -r name locked replacement integrity <<<"$entry"
  grep -q "'$name@$locked" "$lock" || continue
  if [[ -n "$(npm view "$name@$locked" version 2>/dev/null)" ]]; then
    continue # the registry serves it after all: keep the lockfile as it is
  fi
  say "the registry has no $name@$locked; using $replacement (see SUBSTITUTES)"
  old_integrity=$(grep -A1 "^  '$name@$locked':$" "$lock" | sed -n 's/.*integrity: \([^}]*\)}.*/\1/p')
  [[ -n "$old_integrity" ]] || fail "substitute $name" "no integrity line for $name@$locked"
  # The importer's specifier and version, the package's key and integrity, its snapshot key.
  sed -i -e "/^      '${name//\//\\/}':$/{n;s/\^$locked\$/^$replacement/;n;s/version: $locked(/version: $replacement(/}" \
    -e "s|'$name@$locked|'$name@$replacement|" \
    -e "s|$old_integrity|$integrity|" "$lock"
  sed -i "s|\"$name\": \"^$locked\"|\"$name\": \"^$replacement\"|" "$work"/mantine-ui/package.json
  if grep -q "'$name@$locked" "$lock" ||
    ! grep -A2 "^      '$name':$" "$lock" | grep -q "version: $replacement("; then
    fail "substitute $name" "the lockfile still names $locked"
  fi
  substituted+=" $name@$locked->$replacement"
done

cd "$work"
# The package store lives in the work folder and goes with it (about 400 MB for one build);
# ROCKOON_PNPM_STORE keeps one across builds (same filesystem as TMPDIR for hard links).
store="${ROCKOON_PNPM_STORE:-$work/.pnpm-store}"
# Frozen: the lockfile's versions and integrities, no resolution. Only mantine-ui and the
# workspace modules it depends on (the old react-app is not copied at all).
CI=true pnpm install --frozen-lockfile --reporter=append-only \
  --store-dir "$store" --filter '@prometheus-io/mantine-ui...' >&2 ||
  fail "pnpm install" "installing the locked packages failed"
for module in lezer-promql codemirror-promql mantine-ui; do
  say "build $module"
  pnpm --filter "@prometheus-io/$module" run build >&2 || fail "build $module" "its build failed"
done
[[ -f mantine-ui/dist/index.html ]] || fail "build mantine-ui" "no dist/index.html"

rm -rf "$out.partial"
mkdir -p "$out.partial/static"
mv mantine-ui/dist "$out.partial/static/mantine-ui"
{
  echo "prometheus $version web UI (mantine-ui), built by tests/cluster/prometheus-ui.sh"
  echo "node $(node --version), pnpm $(pnpm --version), $((SECONDS - started)) s"
  echo "substituted (not on the npm registry):${substituted:- none}"
} >"$out.partial/BUILD-INFO"
rm -rf "$out"
mv "$out.partial" "$out"
say "built in $((SECONDS - started)) s: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
