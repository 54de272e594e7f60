#!/usr/bin/env bash
# The Node real-client suite: the unmodified Firebase JS SDK, firebase-admin and @zitadel/client
# against a live `tessera serve` (target/debug/tessera, or TESSERA_BIN). TEST_POSTGRES_URL
# switches the server to a fresh PostgreSQL database. Arguments replace the default test
# files, e.g.
#   clients/node/run-tests.sh test/mfa.test.mjs
set -euo pipefail
cd "$(dirname "$0")"

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ $# -eq 0 ]; then
  set -- test/js-sdk.test.mjs test/admin.test.mjs test/mfa.test.mjs test/emulator-tokens.test.mjs \
    test/zitadel-client.test.mjs
fi
exec node --test "$@"
