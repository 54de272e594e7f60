#!/usr/bin/env python3
"""Schemathesis against a fresh `tessera serve` (dev mode), driven by its own `/openapi.json`.

Starts target/debug/tessera (or TESSERA_BIN) on a free port with a new data dir (and, with
TEST_POSTGRES_URL set, a new PostgreSQL database), then runs `st run` three times:

  * the Identity Toolkit operations as an end user (`x-goog-api-key`),
  * the same operations as an administrator (`Authorization: Bearer owner`, the emulator's
    admin credential, which dev mode accepts),
  * the ZITADEL operations with the dev administrator's PAT from `<data-dir>/admin.pat`.

Checks: no 5xx (`not_a_server_error`), and status codes, content types and bodies as the
document declares them (every operation declares a `default` error response in its dialect's
envelope). It fails unless every pass is clean, the server answered no request with a 5xx (counted by
the server itself, from `tessera_http_requests_total` on `/metrics`), nothing in the server's
log says "panicked", and `/healthz` still answers 200 at the end. It prints, and writes to
`--summary` as JSON, the number of requests the server saw and the number schemathesis sent.

`--max-examples` (env SCHEMATHESIS_MAX_EXAMPLES) bounds the examples per operation and phase;
CI runs a small number, the documented full run (see docs/bad-input.md) a large one.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Route labels hold braces themselves (`/v2/users/{user_id}`): the label set runs to the last `}`.
REQUESTS = re.compile(r"^tessera_http_requests_total\{(?P<labels>.*)\}\s+(?P<value>\S+)$", re.M)


def database_args() -> list[str]:
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        return []
    name = f"tessera_py_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True)
    return ["--database-url", f"{server.rsplit('/', 1)[0]}/{name}"]


def start(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    binary = os.environ.get("TESSERA_BIN", str(ROOT / "target" / "debug" / "tessera"))
    args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), *database_args()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    # Warnings and errors only: a 10,000-request run at `info` writes a log of hundreds of MB.
    env.update(RUST_LOG="warn,tessera=info", NO_COLOR="1", RUST_BACKTRACE="1")
    log = open(log_path, "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"tessera listening addr=(\S+)", ANSI.sub("", log_path.read_text()))
        if match:
            return proc, f"http://{match.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    sys.exit(f"tessera did not start:\n{log_path.read_text()}")


def request_counts(base: str) -> tuple[int, int, dict[str, int]]:
    """All requests the server answered, those answered with a 5xx, and the 5xx by route."""
    text = urllib.request.urlopen(f"{base}/metrics", timeout=30).read().decode()
    total, errors, by_route = 0, 0, {}
    for match in REQUESTS.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        count = int(float(match.group("value")))
        total += count
        if labels.get("status", "").startswith("5"):
            errors += count
            key = f'{labels.get("method")} {labels.get("route")} -> {labels.get("status")}'
            by_route[key] = by_route.get(key, 0) + count
    return total, errors, by_route


def schemathesis(base: str, name: str, filters: list[str], headers: list[str], args, report_dir: Path) -> tuple[int, int]:
    """One `st run`; returns (exit code, test cases it reports)."""
    st = Path(sys.executable).with_name("st")
    junit = report_dir / f"{name}.xml"
    command = [
        str(st), "run", f"{base}/openapi.json",
        "--checks", args.checks,
        "--max-examples", str(args.max_examples),
        "--workers", str(args.workers),
        "--phases", "examples,coverage,fuzzing",
        "--suppress-health-check", "all",
        "--request-timeout", "30",
        "--report", "junit,har", "--report-junit-path", str(junit), "--report-har-path", str(report_dir / f"{name}.har"),
        "--no-color",
        # No example database in the work tree (`.schemathesis/`): each run starts fresh.
        "--generation-database", "none",
        *filters,
    ]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    for header in headers:
        command += ["-H", header]
    print(f"== schemathesis: {name}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    (report_dir / f"{name}.log").write_text(output)
    # The summary's last lines; the whole output is in the report dir.
    tail = output.strip().splitlines()[-25:]
    print("\n".join(tail))
    cases = 0
    for match in re.finditer(r"(\d+) generated", output):
        cases = max(cases, int(match.group(1)))
    print(f"-- {name}: exit {result.returncode}, {time.monotonic() - started:.0f} s", flush=True)
    return result.returncode, cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")))
    # One worker: with two, schemathesis 4.32 on CPython 3.11 now and then fails inside its own
    # code generation ("AST constructor recursion depth mismatch"), a thread race of the tool.
    parser.add_argument("--workers", default=os.environ.get("SCHEMATHESIS_WORKERS", "1"))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--checks",
        default="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
    )
    parser.add_argument("--min-requests", type=int, default=0, help="fail if the server saw fewer requests")
    parser.add_argument("--summary", type=Path, default=None, help="write the counts here as JSON")
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tessera-schemathesis-"))
    report_dir = args.report_dir or work / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    log_path = work / "server.log"
    proc, base = start(work / "data", log_path)
    started = time.monotonic()
    failures = []
    cases = 0
    try:
        pat = (work / "data" / "admin.pat").read_text().strip()
        identity_toolkit = ["--exclude-tag", "zitadel"]
        passes = [
            ("identitytoolkit-user", identity_toolkit, ["x-goog-api-key: schemathesis-key"]),
            ("identitytoolkit-admin", identity_toolkit, ["x-goog-api-key: schemathesis-key", "Authorization: Bearer owner"]),
            ("zitadel", ["--include-tag", "zitadel"], [f"Authorization: Bearer {pat}"]),
        ]
        for name, filters, headers in passes:
            before = request_counts(base)[0]
            code, generated = schemathesis(base, name, filters, headers, args, report_dir)
            print(f"-- {name}: {generated} test cases, {request_counts(base)[0] - before} requests reached the server", flush=True)
            cases += generated
            if code != 0:
                failures.append(f"schemathesis pass {name} failed (exit {code}); see {report_dir / name}.log")
        health = urllib.request.urlopen(f"{base}/healthz", timeout=30).status
        if health != 200:
            failures.append(f"/healthz answered {health} after the run")
        total, server_errors, by_route = request_counts(base)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    elapsed = time.monotonic() - started
    log = ANSI.sub("", log_path.read_text())
    panics = [line for line in log.splitlines() if "panicked" in line]
    if panics:
        failures.append("the server panicked:\n" + "\n".join(panics[:20]))
    if server_errors:
        failures.append(f"the server answered {server_errors} requests with a 5xx: {json.dumps(by_route, indent=2)}")
    if total < args.min_requests:
        failures.append(f"only {total} requests reached the server (at least {args.min_requests} wanted)")
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "requests_seen_by_server": total,
        "test_cases_reported_by_schemathesis": cases,
        "server_errors": server_errors,
        "panics": len(panics),
        "max_examples": args.max_examples,
        "seconds": round(elapsed),
        "database": "postgres" if os.environ.get("TEST_POSTGRES_URL") else "sqlite",
    }
    print(json.dumps(summary, indent=2))
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        print(f"server log and reports kept in {work}", file=sys.stderr)
        return 1
    print(f"schemathesis: {total} requests, 0 server errors, 0 panics in {elapsed:.0f} s")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
