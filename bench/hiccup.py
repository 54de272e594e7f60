"""Logs the moments this machine did not run a thread on time, to tell a stall of the server
from a pause of the (virtual) machine under it.

One process per CPU, pinned to it and at real-time priority (SCHED_FIFO 99, when allowed:
root or CAP_SYS_NICE), sleeps 1 ms in a loop and prints every wake-up later than the
threshold: the Unix time in ms, the CPU, how late, and the steal time the kernel counted on
that CPU since the last line (the time the hypervisor ran something else). Nothing inside the
VM should hold up such a process for long, so a line shows the CPU itself was not running;
lines from every CPU at once are a pause of the whole VM. Line them up with the bench's
`--slow-log`.

    python3 bench/hiccup.py [THRESHOLD_MS]      # 20 by default; until SIGINT or SIGTERM

Standard library only; Linux only.
"""

import multiprocessing
import os
import signal
import sys
import time


def steal_ms(cpu):
    """Steal time of `cpu` so far, in ms (/proc/stat counts it in ticks of 1/100 s)."""
    with open("/proc/stat") as stat:
        for line in stat:
            fields = line.split()
            if fields[0] == f"cpu{cpu}":
                return int(fields[8]) * 1000 // os.sysconf("SC_CLK_TCK")
    return 0


def watch(cpu, threshold, lock, parent):
    # Stopped by the parent, or once it is gone (killed outright, it cannot stop anyone).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.sched_setaffinity(0, {cpu})
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(99))
    except PermissionError:
        with lock:
            print(f"# cpu {cpu}: no real-time priority (needs root); "
                  "a busy CPU will show as late too", file=sys.stderr, flush=True)
    stolen = steal_ms(cpu)
    last = time.monotonic()
    while os.getppid() == parent:
        time.sleep(0.001)
        now = time.monotonic()
        late = (now - last) * 1000 - 1
        if late > threshold:
            steal = steal_ms(cpu)
            with lock:
                print(f"{time.time() * 1000:.0f}\tcpu{cpu}\tlate {late:.1f} ms"
                      f"\tsteal {steal - stolen} ms", flush=True)
            stolen = steal
        last = now


def main():
    threshold = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: sys.exit(0))
    lock = multiprocessing.Lock()
    watchers = [multiprocessing.Process(target=watch, daemon=True,
                                        args=(cpu, threshold, lock, os.getpid()))
                for cpu in sorted(os.sched_getaffinity(0))]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()


if __name__ == "__main__":
    main()
