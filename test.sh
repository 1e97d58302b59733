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
# Chromium (Debian's package) for the console's browser tests, driven by Playwright through its executable path.
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "warning: could not install chromium; the browser tests will fail" >&2
fi
# A CJK font, so that the console's Chinese pages render (and their screenshots show) real characters.
if ! fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk'; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei) >/dev/null 2>&1 \
    || echo "warning: could not install a CJK font; Chinese text in screenshots will be boxes" >&2
fi
# Node and npm build the console and run its Vitest tests.
if ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1 \
    || echo "warning: could not install nodejs/npm; the console will not build" >&2
fi

results="$root/.build/test-results"
rm -rf "$results"; mkdir -p "$results"
if ! dotnet build OneId.slnx -c Release -nologo -v q -clp:NoSummary; then
  echo "0 passed, 1 failed"
  exit 1
fi
console_failed=0
if ! console/build.sh; then
  console_failed=1
fi
dotnet test OneId.slnx -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" "$@"
status=$?

# The console's logic, with Vitest; its JUnit report is counted with the .NET results.
if [ -d console/node_modules ]; then
  (cd console && npx --no-install vitest run --reporter=default --reporter=junit --outputFile="$results/console-vitest.xml") || status=1
fi

passed=0; failed=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c"); passed=$((passed + ${p:-0}))
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c"); failed=$((failed + ${x:-0}))
done
if [ -f "$results/console-vitest.xml" ]; then
  c=$(grep -o '<testsuites [^>]*>' "$results/console-vitest.xml" | head -n1)
  n=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$c"); f=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$c")
  e=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$c"); s=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$c")
  passed=$((passed + ${n:-0} - ${f:-0} - ${e:-0} - ${s:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
else
  failed=$((failed + 1))
fi
failed=$((failed + console_failed))
if [ "$console_failed" -ne 0 ]; then status=1; fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
