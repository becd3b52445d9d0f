#!/usr/bin/env bash
# Install what Herald's local stack and tests need on a fresh machine, and nothing twice:
#   uv (from PyPI), the Python workspace (uv.lock), the Kafka broker jars (Maven Central),
#   PostgreSQL server binaries (the distribution's package, when missing and we are root),
#   libfaketime for one chaos scenario (best effort), and prometheus, promtool and helm (Go
#   modules, versions in deploy/local/tools.env) in ${HERALD_TOOLS_DIR:-$HOME/.cache/herald-tools}.
# Java 17+, Maven and Go must be on the machine (they are on ours); the script says so if not.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[36m[bootstrap]\033[0m %s\n' "$*"; }

if ! command -v uv >/dev/null 2>&1; then
  say "installing uv from PyPI"
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi

say "syncing the Python workspace (uv.lock)"
# Compiled once here: where PYTHONDONTWRITEBYTECODE is set, pytest and its plugins, imported before
# tests/conftest.py turns caching back on, would otherwise be compiled again at every run.
uv sync --frozen --quiet --compile-bytecode

command -v npm >/dev/null 2>&1 || { echo "error: Node.js 20+ and npm are required (tests/interop): apt-get install nodejs npm" >&2; exit 1; }
if [ ! -f tests/interop/js_scalingo/node_modules/.package-lock.json ] || [ tests/interop/js_scalingo/package-lock.json -nt tests/interop/js_scalingo/node_modules/.package-lock.json ]; then
  say "installing Scalingo's JavaScript client for the interop tests (npm ci)"
  (cd tests/interop/js_scalingo && npm ci --no-audit --no-fund --silent)
fi
if [ ! -f tests/interop/js_clevercloud/node_modules/.package-lock.json ] || [ tests/interop/js_clevercloud/package-lock.json -nt tests/interop/js_clevercloud/node_modules/.package-lock.json ]; then
  say "installing Clever Cloud's JavaScript client for the interop tests (npm ci)"
  (cd tests/interop/js_clevercloud && npm ci --no-audit --no-fund --silent)
fi
if [ ! -f tests/interop/asyncapi/node_modules/.package-lock.json ] || [ tests/interop/asyncapi/package-lock.json -nt tests/interop/asyncapi/node_modules/.package-lock.json ]; then
  say "installing the AsyncAPI parser that validates schemas/asyncapi.yaml (npm ci)"
  (cd tests/interop/asyncapi && npm ci --no-audit --no-fund --silent)
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is required (Java 17+ and Maven): apt-get install openjdk-17-jre-headless maven" >&2; exit 1; }
done
if ! ls deploy/local/kafka/target/lib/kafka_2.13-*.jar >/dev/null 2>&1; then
  say "fetching the Apache Kafka broker jars with Maven"
  (cd deploy/local/kafka && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=target/lib)
fi

if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing the PostgreSQL server (apt-get install postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "error: PostgreSQL server binaries not found; install your distribution's postgresql package" >&2
    exit 1
  fi
fi
# libfaketime, for the chaos scenario of a sender whose clock is off (tests/chaos/test_chaos_clock.py
# skips without it): best effort, nothing else needs it.
# (found when either path exists: `ls` of both would fail whenever one of them is missing)
if ! compgen -G "/usr/lib/*/faketime/libfaketime.so.1" >/dev/null \
  && [ ! -e /usr/lib/faketime/libfaketime.so.1 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing libfaketime (apt-get install faketime) for the chaos clock scenario"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; } \
      || say "libfaketime not installed: the chaos clock scenario will be skipped"
  else
    say "libfaketime not found (Debian: faketime): the chaos clock scenario will be skipped"
  fi
fi
# Prometheus and promtool (`promtool check rules` / `test rules` on deploy/prometheus/rules):
# built from their Go module into a versioned folder outside the checkout, once per version.
# shellcheck source=deploy/local/tools.env
. deploy/local/tools.env
tools_dir="${HERALD_TOOLS_DIR:-$HOME/.cache/herald-tools}/prometheus-${PROMETHEUS_VERSION}/bin"
if [ ! -x "$tools_dir/prometheus" ] || [ ! -x "$tools_dir/promtool" ]; then
  go_bin="$(command -v go || true)"
  [ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; }
  [ -n "$go_bin" ] || { echo "error: Go is required to build prometheus and promtool ${PROMETHEUS_VERSION} (https://go.dev/doc/install), or put both in $tools_dir" >&2; exit 1; }
  mkdir -p "$tools_dir"
  for tool in prometheus promtool; do
    if [ ! -x "$tools_dir/$tool" ]; then
      say "building $tool ${PROMETHEUS_VERSION} with go install into $tools_dir (takes several minutes, once)"
      GOBIN="$tools_dir" "$go_bin" install "github.com/prometheus/prometheus/cmd/$tool@${PROMETHEUS_VERSION}"
    fi
  done
fi
# Helm (`helm lint` and `helm template` of the chart in deploy/helm/herald), the same way.
helm_dir="${HERALD_TOOLS_DIR:-$HOME/.cache/herald-tools}/helm-${HELM_VERSION}/bin"
if [ ! -x "$helm_dir/helm" ]; then
  go_bin="$(command -v go || true)"
  [ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; }
  [ -n "$go_bin" ] || { echo "error: Go is required to build helm ${HELM_VERSION} (https://go.dev/doc/install), or put it in $helm_dir" >&2; exit 1; }
  mkdir -p "$helm_dir"
  say "building helm ${HELM_VERSION} with go install into $helm_dir (takes several minutes, once)"
  GOBIN="$helm_dir" "$go_bin" install "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}"
fi
say "ready"
