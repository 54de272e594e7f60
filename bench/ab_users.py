"""Signs up N verified users on a dev-mode Tessera and writes wrk scripts that cycle through
their tokens: `lookup.lua` (accounts:lookup), `start.lua` (TOTP mfaEnrollment:start) and
`phone.lua` (phone mfaEnrollment:start, one number per user) with their ID tokens,
`refresh.lua` (the refresh-token grant, which signs an ID token) with their refresh tokens.

    python3 bench/ab_users.py PORT N DIR

Used by bench/ab.sh (AB_USERS); standard library only.
"""

import concurrent.futures
import json
import sys
import urllib.parse
import urllib.request


def post(base, path, body, auth=None):
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = auth
    request = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def verified_user_tokens(base, i):
    user = {"email": f"ab{i}@example.com", "password": "secret123", "returnSecureToken": True}
    local_id = post(base, "/v1/accounts:signUp?key=ab", user)["localId"]
    post(base, "/v1/projects/demo-project/accounts:update",
         {"localId": local_id, "emailVerified": True}, "Bearer owner")
    # Signed in again so that the token carries email_verified.
    session = post(base, "/v1/accounts:signInWithPassword?key=ab", user)
    return session["idToken"], session["refreshToken"]


def wrk_script(bodies, content_type="application/json"):
    """A wrk script that POSTs `bodies` (already encoded strings) in turn."""
    lines = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = "{content_type}"',
             "local bodies = {"]
    lines += [f"  {json.dumps(body)}," for body in bodies]
    lines += ["}", "local i = 0", "request = function()", "  i = i % #bodies + 1",
              "  return wrk.format(nil, nil, nil, bodies[i])", "end", ""]
    return "\n".join(lines)


def main():
    port, users, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    base = f"http://127.0.0.1:{port}/identitytoolkit.googleapis.com"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(lambda i: verified_user_tokens(base, i), range(users)))
    scripts = {
        "lookup": wrk_script([json.dumps({"idToken": t}) for t, _ in tokens]),
        "start": wrk_script([json.dumps({"idToken": t, "totpEnrollmentInfo": {}})
                             for t, _ in tokens]),
        "phone": wrk_script([json.dumps({"idToken": t, "phoneEnrollmentInfo":
                                         {"phoneNumber": f"+1650{2_000_000 + i:07}"}})
                             for i, (t, _) in enumerate(tokens)]),
        "refresh": wrk_script([urllib.parse.urlencode({"grant_type": "refresh_token",
                                                       "refresh_token": r})
                               for _, r in tokens], "application/x-www-form-urlencoded"),
    }
    for name, script in scripts.items():
        with open(f"{out}/{name}.lua", "w") as f:
            f.write(script)


main()
