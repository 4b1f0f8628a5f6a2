"""API ingest under load: a second process sends events to `accord serve` on 127.0.0.1 at a target rate.

Run: .venv/bin/python bench/api.py [--rate 200] [--seconds 30] [--batch 1] [--no-decide]
     [--workers 32] [--contacts 300] [--workspace DIR] [--no-warm]

The server (process 1) holds a copy of a demo workspace; this process (process 2) schedules requests
open-loop at ``rate / batch`` requests a second, each from a pool of ``workers`` threads. A request
that would exceed ``workers`` in flight is not sent and is counted as shed: the load generator never
queues without bound, so a saturated server shows up as shed requests and long latencies, not as a
bench that never ends. Latency is measured from the instant a request was due (so waiting for a
free worker counts), and the server's own phase timings (stage, commit, decide) are averaged.
Traffic goes only to 127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def prepare(args: argparse.Namespace, folder: Path) -> tuple[Path, str]:
    from accord import service

    root = folder / "ws"
    if args.workspace:
        shutil.copytree(args.workspace, root)
    else:
        service.build_demo(root, contacts=args.contacts, seed=5, as_of=AS_OF)
    ws = service.locate(root)
    _, key = service.create_key(ws, (ws.spec.governance.owners or list(ws.spec.people))[0], "admin", "bench")
    return root, key


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    accord = Path(sys.executable).parent / "accord"
    env = {**os.environ, "ACCORD_NOW": AS_OF.isoformat().replace("+00:00", "Z")}
    command = [str(accord), "serve", "--port", str(port), "--tick-every", "0", "--rate-per-minute", "1000000"]
    proc = subprocess.Popen([*command, "-w", str(root)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def server_cpu(pid: int) -> float | None:
    """Seconds of CPU the server process has used (user and system, all threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def contacts_of(url: str, key: str) -> list[str]:
    got = httpx.get(
        url + "/leads", params={"limit": 1000}, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    return [r["contact_id"] for r in got.json()["leads"]]


def warm_up(url: str, key: str, contacts: list[str]) -> None:
    """One event per contact, 25 to a request, each decided: the server's caches hold every account."""
    at = (AS_OF - timedelta(hours=1)).isoformat()
    for start in range(0, len(contacts), 25):
        events = [
            {"event_id": f"bench-warm-{c}", "occurred_at": at, "type": "page_view", "contact_id": c}
            for c in contacts[start : start + 25]
        ]
        httpx.post(url + "/events", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                   json={"events": events})  # fmt: skip


def drive(url: str, key: str, args: argparse.Namespace, contacts: list[str]) -> dict[str, Any]:
    """Send for ``seconds`` at the target rate; return latencies, server timings and counts."""
    per_second = args.rate / args.batch
    total = int(per_second * args.seconds)
    latencies: list[float] = []
    phases: dict[str, list[float]] = {}
    errors: list[str] = []
    shed = 0
    in_flight = threading.Semaphore(args.workers)
    lock = threading.Lock()
    rng = random.Random(7)
    http = httpx.Client(
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        limits=httpx.Limits(max_connections=args.workers, max_keepalive_connections=args.workers),
    )
    stamp = int(time.time() * 1000)

    def send(n: int, due: float, contact: str) -> None:
        at = AS_OF - timedelta(minutes=5)
        events = [
            {"event_id": f"bench-{stamp}-{n}-{j}", "occurred_at": at.isoformat(), "type": "pricing_view",
             "contact_id": contact, "topic": "pricing"}
            for j in range(args.batch)
        ]  # fmt: skip
        body: Any = events[0] if args.batch == 1 else {"events": events}
        try:
            response = http.post(url + "/events", json=body, params={"decide": str(args.decide).lower()})
            elapsed = time.perf_counter() - due
            with lock:
                if response.status_code >= 300 and response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:120]}")
                else:
                    latencies.append(elapsed)
                    for k, v in response.json().get("timings_ms", {}).items():
                        phases.setdefault(k, []).append(v)
        except httpx.HTTPError as exc:
            with lock:
                errors.append(type(exc).__name__)
        finally:
            in_flight.release()

    pool = ThreadPoolExecutor(max_workers=args.workers)
    began = time.perf_counter()
    for n in range(total):
        due = began + n / per_second
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        if not in_flight.acquire(blocking=False):
            shed += 1
            continue
        pool.submit(send, n, due, rng.choice(contacts))
    pool.shutdown(wait=True)
    wall = time.perf_counter() - began
    http.close()
    return {"latencies": latencies, "phases": phases, "errors": errors, "shed": shed, "wall": wall,
            "requests": total}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events a second to offer")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    parser.add_argument("--decide", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--workers", type=int, default=32, help="requests in flight at most")
    parser.add_argument("--contacts", type=int, default=300, help="demo size when no --workspace")
    parser.add_argument("--workspace", type=Path, default=None, help="copy this workspace instead")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument(
        "--warm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decide every contact once before the timed run (steady state, not a cold start)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accord-bench-api-") as folder:
        root, key = prepare(args, Path(folder))
        proc = start(root, args.port)
        url = f"http://127.0.0.1:{args.port}/api/v1"
        try:
            contacts = contacts_of(url, key)
            warm = time.perf_counter()  # the first decision compiles the real-time queries
            httpx.post(url + "/events", headers={"Authorization": f"Bearer {key}"}, timeout=120, json={
                "event_id": "bench-warm", "occurred_at": AS_OF.isoformat(), "type": "page_view",
                "contact_id": contacts[0]})  # fmt: skip
            warm_s = time.perf_counter() - warm
            if args.warm:  # a server that has run a while has decided its contacts before
                warm_up(url, key, contacts)
            load_before = os.getloadavg()[0]
            print("timed run starts", file=sys.stderr, flush=True)  # for profilers attaching now
            cpu_before, mine_before = server_cpu(proc.pid), os.times()
            result = drive(url, key, args, contacts)
            cpu_after, mine_after = server_cpu(proc.pid), os.times()
            load_after = os.getloadavg()[0]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lat = [x * 1000 for x in result["latencies"]]
    answered = len(lat)
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}; demo contacts: {args.contacts}; decide: {args.decide}; "
          f"warmed: {args.warm}")  # fmt: skip
    print(f"offered: {args.rate:.0f} events/s in requests of {args.batch} for {args.seconds:.0f} s "
          f"({result['requests']} requests); workers {args.workers}")  # fmt: skip
    print(f"answered: {answered} requests ({answered * args.batch} events) in {result['wall']:.1f} s = "
          f"{answered * args.batch / result['wall']:.1f} events/s; shed {result['shed']}; "
          f"errors {len(result['errors'])}")  # fmt: skip
    if lat:
        print(f"latency ms: p50 {pct(lat, 0.5):.1f}  p90 {pct(lat, 0.9):.1f}  p99 {pct(lat, 0.99):.1f}  "
              f"max {max(lat):.1f}")  # fmt: skip
    for phase, values in sorted(result["phases"].items()):
        print(f"server {phase}: mean {statistics.fmean(values):.1f} ms, p99 {pct(values, 0.99):.1f} ms")
    if cpu_before is not None and cpu_after is not None and answered:
        # CPU per answered request does not depend on how long requests queued: the figure to
        # compare between versions on a noisy host, where throughput and latency swing
        spent = cpu_after - cpu_before
        client = (mine_after.user + mine_after.system) - (mine_before.user + mine_before.system)
        print(f"server CPU: {spent / result['wall']:.2f} cores, {spent / answered * 1000:.1f} ms a "
              f"request answered; load generator {client / result['wall']:.2f} cores")  # fmt: skip
    print(f"first decision (compiles the real-time queries): {warm_s:.2f} s")
    print(f"load average (1 min) before / after the run: {load_before:.2f} / {load_after:.2f}")
    if result["errors"]:
        print("first errors:", result["errors"][:3])


if __name__ == "__main__":
    main()
