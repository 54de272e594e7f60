#!/usr/bin/env bash
# A/B of two server binaries on single requests repeated, for changes smaller than the noise
# between bench runs on a shared VM (±20-30 %): both servers run side by side, and short wrk
# runs alternate between them, so a slow spell of the machine hits both alike.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Per round and binary: requests/s, server CPU µs and context switches per request (perf
# stat), for `accounts:lookup` and for `mfaEnrollment:start` (TOTP), each cycling through the
# ID tokens of AB_USERS users (1 by default: one user's requests repeated; 2000 spreads the
# writes over the indexes as the bench does). Needs wrk and perf (Debian: wrk, linux-perf)
# and python3; wrk runs on CPU 1.
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

# Starts `serve` for binary $1 on port $2 with AB_USERS verified users; writes its wrk scripts.
start() {
  local bin=$1 port=$2 dir=$scratch/$2
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
  python3 "$(dirname "$0")/ab_users.py" "$port" "${AB_USERS:-1}" "$dir"
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
