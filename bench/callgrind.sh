#!/usr/bin/env bash
# Instructions a request costs the server, counted by callgrind: the same figure for the same
# binary whatever else the machine is doing, so changes of a few per cent show that
# bench/ab.sh's wall-clock rounds cannot tell from a VM's drift.
#
#   bench/callgrind.sh BINARY [BINARY ...]
#
# Per binary: `serve --mode dev` under valgrind on a fresh data dir, CALLGRIND_USERS verified
# users (20 by default, bench/ab_users.py), then for `accounts:lookup`, the TOTP
# `mfaEnrollment:start` and the refresh-token grant (which signs an ID token) a 3 s warm-up
# and a 10 s counted run of wrk (8 in flight), and the instructions per request of the
# counted run. The profiles stay in $CALLGRIND_OUT (a temporary
# directory by default) for `callgrind_annotate --inclusive=yes FILE`. Needs valgrind, wrk and
# python3. Under valgrind the server runs one thread at a time, so the figures count work,
# not waiting.
set -euo pipefail
out=${CALLGRIND_OUT:-$(mktemp -d)}
port=18300
for bin in "$@"; do
  port=$((port + 1))
  dir=$out/$port
  mkdir -p "$dir/data"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out" \
    "$bin" serve --mode dev --listen "127.0.0.1:$port" --data-dir "$dir/data" >"$dir/server.log" 2>&1 &
  valgrind=$!
  until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.5; done
  python3 "$(dirname "$0")/ab_users.py" "$port" "${CALLGRIND_USERS:-20}" "$dir" >/dev/null
  base=http://127.0.0.1:$port
  for phase in lookup:identitytoolkit.googleapis.com/v1/accounts:lookup \
    start:identitytoolkit.googleapis.com/v2/accounts/mfaEnrollment:start \
    refresh:securetoken.googleapis.com/v1/token; do
    name=${phase%%:*} url="$base/${phase#*:}?key=ab"
    wrk -t1 -c8 -d3s -s "$dir/$name.lua" "$url" >/dev/null
    callgrind_control -z "$valgrind" >/dev/null
    callgrind_control -i on "$valgrind" >/dev/null
    requests=$(wrk -t1 -c8 -d10s -s "$dir/$name.lua" "$url" | awk '/requests in/ {print $1}')
    callgrind_control -i off "$valgrind" >/dev/null
    callgrind_control -d "$valgrind" >/dev/null
    profile=$(ls -t "$dir"/callgrind.out.* | head -1)
    mv "$profile" "$dir/$name.callgrind"
    total=$(callgrind_annotate "$dir/$name.callgrind" 2>/dev/null |
      awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    printf '%s %-7s %6d requests %8d instructions a request\n' \
      "$bin" "$name" "$requests" "$((total / requests))"
  done
  kill "$valgrind"
  wait "$valgrind" 2>/dev/null || true
done
echo "profiles in $out"
