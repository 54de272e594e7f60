"""The SQLite writer's commit cycle under load, from a `perf` recording of the server: how long
each commit (SQLite's `pagerWalFrames`, the log's `pwrite`s) and each log fsync (`fdatasync`)
took, and the gaps between them, in which the disk was idle.

    perf probe -x target/release/tessera --add pagerWalFrames --add 'pagerWalFrames%return'
    perf record -p <server pid> -o cycle.data -e 'probe_tessera:*' \\
        -e syscalls:sys_enter_fdatasync,syscalls:sys_exit_fdatasync \\
        -e syscalls:sys_enter_fsync,syscalls:sys_exit_fsync -- sleep 2    # while wrk runs
    perf script -i cycle.data -F tid,time,event | python3 bench/commit_cycle.py

`fsync` (not `fdatasync`) is the checkpoints' sync of the database file. Standard library only.
"""

import statistics
import sys


def summarize(name, durations):
    if not durations:
        print(f"{name:28} none")
        return
    ms = sorted(d * 1e3 for d in durations)
    print(f"{name:28} n={len(ms):5}  mean {statistics.mean(ms):6.2f} ms  p50 {ms[len(ms) // 2]:6.2f}"
          f"  p90 {ms[int(len(ms) * 0.9)]:6.2f}  total {sum(ms):7.0f} ms")


# The events that begin and end each span, by name.
BEGINS = {"pagerWalFrames": "commit", "sys_enter_fdatasync": "fdatasync",
          "sys_enter_fsync": "checkpoint fsync"}
ENDS = {"pagerWalFrames__return": "commit", "sys_exit_fdatasync": "fdatasync",
        "sys_exit_fsync": "checkpoint fsync"}
# The cycle: each span of these begins after the other one ended; the time between is a gap.
AFTER = {"commit": "fdatasync", "fdatasync": "commit"}


def main():
    spans = {name: [] for name in
             ("commit", "commit -> fdatasync", "fdatasync", "fdatasync -> commit", "checkpoint fsync")}
    began = {}
    last = None  # the last span of the cycle to end, and when
    first = end = None
    for line in sys.stdin:
        fields = line.split()
        if len(fields) < 3:
            continue
        at, event = float(fields[1].rstrip(":")), fields[2].rstrip(":").split(":")[-1]
        first = at if first is None else first
        end = at
        if event in BEGINS:
            span = BEGINS[event]
            began[span] = at
            if last and last[0] == AFTER.get(span):
                spans[f"{last[0]} -> {span}"].append(at - last[1])
        elif event in ENDS and ENDS[event] in began:
            span = ENDS[event]
            spans[span].append(at - began[span])
            if span in AFTER:
                last = (span, at)
    if first is None:
        sys.exit("no events: is the probe on the binary that runs?")
    print(f"recorded {1e3 * (end - first):.0f} ms")
    for name, durations in spans.items():
        summarize(name, durations)


if __name__ == "__main__":
    main()
