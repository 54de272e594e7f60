#!/usr/bin/env bash
# The Node real-client suite: the unmodified Firebase JS SDK, firebase-admin, @zitadel/client and
# @zitadel/node against a live `tessera serve` (target/debug/tessera, or TESSERA_BIN). TEST_POSTGRES_URL
# switches the server to a fresh PostgreSQL database. Arguments replace the default test
# files, e.g.
#   clients/node/run-tests.sh test/mfa.test.mjs
set -euo pipefail
cd "$(dirname "$0")"

# The npm packages, unless node_modules is already as new as the lock file.
../../scripts/client-deps node

if [ $# -eq 0 ]; then
  set -- test/js-sdk.test.mjs test/admin.test.mjs test/mfa.test.mjs test/emulator-tokens.test.mjs \
    test/action-links.test.mjs test/recover-email.test.mjs test/email-link.test.mjs test/email-privacy.test.mjs test/custom-token.test.mjs test/phone-sign-in.test.mjs test/idp-sign-in.test.mjs test/zitadel-client.test.mjs \
    test/zitadel-node.test.mjs test/zitadel-idp-links.test.mjs test/zitadel-passkeys.test.mjs \
    test/zitadel-sessions.test.mjs test/zitadel-metadata.test.mjs test/zitadel-invites.test.mjs test/zitadel-settings.test.mjs test/zitadel-organizations.test.mjs
fi
exec node --test "$@"
