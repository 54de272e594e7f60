#!/usr/bin/env bash
# A/B of two server binaries on single requests repeated, for changes smaller than the noise
# between bench runs on a shared VM (±20-30 %): both servers run side by side, and short wrk
# runs alternate between them, so a slow spell of the machine hits both alike.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Per round and binary: requests/s, server CPU µs and context switches per request (perf
# stat), the rest of the machine's CPU µs per request, and wrk's p99 latency, for
# `accounts:lookup`, for `mfaEnrollment:start` (TOTP, and phone: a code queued for sending,
# with dev mode's limits off) and for the refresh-token grant (which signs an ID token), each
# cycling through the tokens of AB_USERS users (1 by default: one user's requests repeated;
# 2000 spreads the writes over the indexes as the bench does). Needs wrk and perf (Debian:
# wrk, linux-perf) and python3; wrk runs on CPU 1.
#
# With AB_POSTGRES set to a PostgreSQL server's URL (postgres://postgres@127.0.0.1:5432), each
# server gets a fresh database there (dropped at the end) instead of SQLite; perf then counts
# Tessera's CPU only, and PostgreSQL's is most of `rest`.
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

# The CPU time the machine has spent busy, in clock ticks (/proc/stat).
busy_ticks() {
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat
}

# One 3 s run of request $2 (lookup, start, phone or refresh) at path $3 against the server on port $1.
# `rest` is the machine's CPU a request apart from the server's and wrk's: on PostgreSQL
# mostly the database's (to the nearest clock tick, 10 ms in a run).
run() {
  local port=$1 dir=$scratch/$1
  perf stat -e task-clock,context-switches -p "$(cat "$dir/pid")" -o "$dir/stat" -- sleep 3.2 &
  local perf=$! n p99 before after
  before=$(busy_ticks)
  read -r n p99 < <(perf stat -e task-clock -o "$dir/wrk" -- taskset -c 1 wrk -t1 -c32 -d3s --latency \
    -s "$dir/$2.lua" "http://127.0.0.1:$port/$3?key=ab" | awk '/requests in/ {n = $1} / 99%/ {p = $2} END {print n, p}')
  after=$(busy_ticks)
  wait "$perf"
  awk -v n="$n" -v p99="$p99" -v busy="$(( (after - before) * 1000 / $(getconf CLK_TCK) ))" \
    'FNR == 1 {file++} /task-clock/ {gsub(",", "", $1); cpu[file] = $1} /context-switches/ {gsub(",", "", $1); cs = $1}
    END {printf "%6.0f/s %6.1f µs %5.2f cs rest %6.1f µs p99 %7s", n / 3, cpu[1] * 1000 / n, cs / n,
      (busy - cpu[1] - cpu[2]) * 1000 / n, p99}' "$dir/stat" "$dir/wrk"
}

start "$old" 18191
start "$new" 18192
for i in $(seq "$rounds"); do
  for request in lookup:identitytoolkit.googleapis.com/v1/accounts:lookup \
    start:identitytoolkit.googleapis.com/v2/accounts/mfaEnrollment:start \
    phone:identitytoolkit.googleapis.com/v2/accounts/mfaEnrollment:start \
    refresh:securetoken.googleapis.com/v1/token; do
    name=${request%%:*} path=${request#*:}
    # Odd rounds run the old binary first, even rounds the new: a run leaves work behind
    # (the delivery worker sending a phone run's codes) that slows whatever runs next.
    if ((i % 2)); then
      old_run=$(run 18191 "$name" "$path") new_run=$(run 18192 "$name" "$path")
    else
      new_run=$(run 18192 "$name" "$path") old_run=$(run 18191 "$name" "$path")
    fi
    printf 'round %d %-7s  old %s   new %s\n' "$i" "$name" "$old_run" "$new_run"
  done
done
