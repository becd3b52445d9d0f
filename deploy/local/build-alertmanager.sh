#!/usr/bin/env bash
# Build Prometheus Alertmanager (ALERTMANAGER_VERSION of deploy/local/tools.env) into
# ${HERALD_TOOLS_DIR:-~/.cache/herald-tools}/alertmanager-<version>/bin, once; print its path.
#
# `go install github.com/prometheus/alertmanager/cmd/alertmanager@<version>` fails: the module
# embeds ui/app/dist (go:embed), which the published module does not carry. So: download the
# module's source with `go mod download`, copy it to a writable folder, put an empty
# ui/app/dist/index.html there, and `go build ./cmd/alertmanager`. Nothing of it enters the
# checkout. Only the benchmark against Alertmanager needs it (bench/alertmanager.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/tools.env
source deploy/local/tools.env
version="${ALERTMANAGER_VERSION:?}"
bin_dir="${HERALD_TOOLS_DIR:-$HOME/.cache/herald-tools}/alertmanager-${version}/bin"
if [ -x "$bin_dir/alertmanager" ]; then
  echo "$bin_dir/alertmanager"
  exit 0
fi
go_bin="$(command -v go || true)"
[ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; }
[ -n "$go_bin" ] || { echo "error: Go is required to build alertmanager ${version}" >&2; exit 1; }
echo "building alertmanager ${version} into $bin_dir (a few minutes, once)" >&2
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
# a throwaway module, so that `go mod download` has a go.mod to work in
"$go_bin" mod init herald-tools-alertmanager >/dev/null 2>&1
module_dir="$("$go_bin" mod download -json "github.com/prometheus/alertmanager@${version}" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$module_dir" ] || { echo "error: go mod download gave no module directory" >&2; exit 1; }
cp -r "$module_dir" src
chmod -R u+w src
mkdir -p src/ui/app/dist
: > src/ui/app/dist/index.html
mkdir -p "$bin_dir"
(cd src && GOFLAGS=-mod=mod "$go_bin" build -o "$bin_dir/alertmanager" ./cmd/alertmanager)
echo "$bin_dir/alertmanager"
