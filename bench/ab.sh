#!/usr/bin/env bash
# A/B of two server binaries on single requests repeated, for changes smaller than the noise
# between bench runs on a shared VM (±20-30 %): both servers run side by side, and short wrk
# runs alternate between them, so a slow spell of the machine hits both alike.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Per round and binary: requests/s, server CPU µs and context switches per request (perf
# stat), for `accounts:lookup` with one user's ID token and for `mfaEnrollment:start` (TOTP)
# repeated for that user. Needs wrk and perf (Debian: wrk, linux-perf); wrk runs on CPU 1.
#
# With AB_POSTGRES set to a PostgreSQL server's URL (postgres://postgres@127.0.0.1:5432), each
# server gets a fresh database there (dropped at the end) instead of SQLite; perf then counts
# Tessera's CPU only, not PostgreSQL's.
set -euo pipefail
old=$1 new=$2 rounds=${3:-5}
scratch=$(mktemp -d)
databases=()
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  for db in "${databases[@]}"; do psql -q "$AB_POSTGRES/postgres" -c "DROP DATABASE $db WITH (FORCE)"; done
  rm -rf "$scratch"
}
trap cleanup EXIT

json() { python3 -c "import sys, json; print(json.load(sys.stdin)['$1'])"; }

# Starts `serve` for binary $1 on port $2, with one verified user; writes its wrk scripts.
start() {
  local bin=$1 port=$2 dir=$scratch/$2 url=http://127.0.0.1:$2/identitytoolkit.googleapis.com
  mkdir -p "$dir"
  local database=()
  if [ -n "${AB_POSTGRES:-}" ]; then
    databases+=("ab_${port}_$$")
    psql -q "$AB_POSTGRES/postgres" -c "CREATE DATABASE ab_${port}_$$"
    database=(--database-url "$AB_POSTGRES/ab_${port}_$$")
  fi
  "$bin" serve --mode dev --listen "127.0.0.1:$port" --data-dir "$dir" "${database[@]}" >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
  local user='{"email":"ab@example.com","password":"secret123","returnSecureToken":true}'
  local id
  id=$(curl -s "$url/v1/accounts:signUp?key=ab" -H 'content-type: application/json' -d "$user" | json localId)
  curl -s "$url/v1/projects/demo-project/accounts:update" -H 'authorization: Bearer owner' \
    -H 'content-type: application/json' -d "{\"localId\":\"$id\",\"emailVerified\":true}" >/dev/null
  local token
  token=$(curl -s "$url/v1/accounts:signInWithPassword?key=ab" -H 'content-type: application/json' -d "$user" | json idToken)
  for body in lookup:"{\"idToken\":\"$token\"}" start:"{\"idToken\":\"$token\",\"totpEnrollmentInfo\":{}}"; do
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
      "'${body#*:}'" >"$dir/${body%%:*}.lua"
  done
}

# One 3 s run of request $2 (lookup or start) at path $3 against the server on port $1.
run() {
  local port=$1 dir=$scratch/$1
  perf stat -e task-clock,context-switches -p "$(cat "$dir/pid")" -o "$dir/stat" -- sleep 3.2 &
  local n
  n=$(taskset -c 1 wrk -t1 -c32 -d3s -s "$dir/$2.lua" "http://127.0.0.1:$port/identitytoolkit.googleapis.com/$3?key=ab" |
    awk '/requests in/ {print $1}')
  wait $!
  awk -v n="$n" '/task-clock/ {gsub(",", "", $1); cpu = $1} /context-switches/ {gsub(",", "", $1); cs = $1}
    END {printf "%6.0f/s %6.1f µs %5.2f cs", n / 3, cpu * 1000 / n, cs / n}' "$dir/stat"
}

start "$old" 18191
start "$new" 18192
for i in $(seq "$rounds"); do
  for request in lookup:v1/accounts:lookup start:v2/accounts/mfaEnrollment:start; do
    printf 'round %d %-6s  old %s   new %s\n' "$i" "${request%%:*}" \
      "$(run 18191 "${request%%:*}" "${request#*:}")" "$(run 18192 "${request%%:*}" "${request#*:}")"
  done
done
