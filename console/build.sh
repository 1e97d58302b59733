#!/usr/bin/env bash
# Builds the web console into .build/console when its sources changed since the last build (a content stamp), so
# ./oneid and ./test.sh can call it every time. `npm ci` runs only when the lock file changed. Quiet unless it fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/.build/console"
stamp="$root/.build/console.stamp"
if ! command -v npm >/dev/null 2>&1; then
  echo "console: npm is missing; the console is not built (install nodejs and npm)" >&2
  exit 3
fi
sources_hash() {
  (cd "$here" && find package.json package-lock.json index.html vite.config.ts tsconfig.json src -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
want="$(sources_hash)"
if [ -f "$out/index.html" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
lock_hash="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$here/node_modules/.oneid-lock" ] || [ "$(cat "$here/node_modules/.oneid-lock")" != "$lock_hash" ]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    cat "$log" >&2; echo "console: npm ci failed (see above)" >&2; exit 2
  fi
  echo "$lock_hash" > "$here/node_modules/.oneid-lock"
fi
# Vite strips types without checking them; the type check is what catches a wrong field name or API shape.
if ! (cd "$here" && npx --no-install tsc --noEmit -p .) >"$log" 2>&1; then
  cat "$log" >&2; echo "console: type check failed (see above)" >&2; exit 2
fi
if ! (cd "$here" && npx --no-install vite build --logLevel error) >"$log" 2>&1; then
  cat "$log" >&2; echo "console: vite build failed (see above)" >&2; exit 2
fi
mkdir -p "$root/.build"
echo "$want" > "$stamp"
