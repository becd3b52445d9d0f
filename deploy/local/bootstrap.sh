#!/usr/bin/env bash
# Install what Herald's local stack and tests need on a fresh machine, and nothing twice:
#   uv (from PyPI), the Python workspace (uv.lock), the Kafka broker jars (Maven Central),
#   PostgreSQL server binaries (the distribution's package, when missing and we are root), and
#   libfaketime for one chaos scenario (best effort).
# Java 17+ and Maven must be on the machine (they are on ours); the script says so if not.
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
if ! ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing libfaketime (apt-get install faketime) for the chaos clock scenario"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; } \
      || say "libfaketime not installed: the chaos clock scenario will be skipped"
  else
    say "libfaketime not found (Debian: faketime): the chaos clock scenario will be skipped"
  fi
fi
say "ready"
