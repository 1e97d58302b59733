#!/usr/bin/env bash
# The whole test suite: installs what a fresh machine lacks, builds, runs every test project,
# and ends with one line "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# PostgreSQL 15 server binaries (initdb, pg_ctl): the tests start their own throwaway cluster.
if ! ls /usr/lib/postgresql/15/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql-15 ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15) >/dev/null 2>&1 \
    || echo "warning: could not install postgresql-15; the PostgreSQL tests will fail" >&2
fi

# Citus 13.2.2 (PostgreSQL's distributed engine; Debian does not package it): built from the source beside the
# repository, ~3 minutes once per machine. Without it the Citus tests are skipped and say why.
citus_installer="$root/../shared/vendor/install-citus.sh"
if ! ls /usr/lib/postgresql/15/lib/citus.so >/dev/null 2>&1 && [ -f "$citus_installer" ]; then
  echo "installing citus 13.2.2 (building from source) ..."
  bash "$citus_installer" >/dev/null \
    || echo "warning: could not install citus; the Citus tests will be skipped" >&2
fi

results="$root/.build/test-results"
rm -rf "$results"; mkdir -p "$results"
if ! dotnet build OneId.slnx -c Release -nologo -v q -clp:NoSummary; then
  echo "0 passed, 1 failed"
  exit 1
fi
dotnet test OneId.slnx -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" "$@"
status=$?

passed=0; failed=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c"); passed=$((passed + ${p:-0}))
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c"); failed=$((failed + ${x:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
