#!/usr/bin/env bash
# The browser real-client suite: the unmodified Firebase JS SDK in headless Chromium (Debian's
# /usr/bin/chromium, driven by playwright-core) against a live `tessera serve`
# (target/debug/tessera, or TESSERA_BIN). Covers what the SDK's Node build cannot do: phone
# second factors; and Tessera's self-service page at /ui/ (UPDATE_SCREENSHOTS=1 also writes its
# screenshots to docs/screenshots/). TEST_POSTGRES_URL switches the server to a fresh PostgreSQL
# database.
# Arguments replace the default test files.
set -euo pipefail
cd "$(dirname "$0")"

# The npm packages, unless node_modules is already as new as the lock file.
../../scripts/client-deps browser

# The page's bundle: firebase/app and firebase/auth, served locally by the tests (no CDN).
# Built aside and renamed into place, so that a run beside this one (CI runs its SQLite and
# PostgreSQL passes at once) never serves a half-written file.
node_modules/.bin/esbuild page/main.mjs --bundle --format=esm --platform=browser \
  --outfile="dist/main.js.$$" --log-level=warning
mv -f "dist/main.js.$$" dist/main.js

if [ $# -eq 0 ]; then
  set -- test/*.test.mjs
fi
exec node --test "$@"
