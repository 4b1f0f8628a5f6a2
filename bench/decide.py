"""What one real-time decision costs as an account's history grows, against deciding it afresh.

Run: .venv/bin/python bench/decide.py [--sizes 5000,25000,100000] [--decisions 150] [--contacts 300]

A server decides after every ingest: the new event's contact is evaluated as of now, on its account's
whole history. This bench builds a demo workspace, grows its busiest account to each size (events
spread over the past year, in batches, without deciding), decides every contact of that account once
(a server in steady state), then times ``--decisions`` rounds of "ingest one event for one of the
account's contacts, decide it" the way a server does (one evaluator for all requests, the account's
slice kept between them). The baseline, timed in the same run on the same slices, is a fresh
evaluator deciding the same contact from scratch: what every decision would cost without the kept
state. Figures are CPU milliseconds of this process (DuckDB's threads included).
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)
TYPES = ("page_view", "email_click", "webinar_attended", "pricing_view", "email_open", "content_download")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="5000,25000,100000", help="account sizes in events, comma-separated"
    )
    parser.add_argument("--decisions", type=int, default=150, help="timed ingest-and-decide rounds per size")
    parser.add_argument("--baseline", type=int, default=5, help="fresh evaluations per size (the baseline)")
    parser.add_argument("--contacts", type=int, default=300, help="demo size")
    args = parser.parse_args()

    from accord import service
    from accord.domain.lead import LeadEvaluator
    from accord.engine.realtime import RealTime
    from accord.service.decide import decisions
    from accord.service.hosted import HostedWorkspace
    from accord.service.ingestion import ingest

    rng = random.Random(7)
    folder = Path(tempfile.mkdtemp(prefix="accord-bench-decide-"))
    try:
        root = folder / "ws"
        service.build_demo(root, contacts=args.contacts, seed=5, as_of=AS_OF)
        ws = HostedWorkspace(root)
        with ws.ledger(read_only=True) as ledger:
            account, *_ = ledger.con.execute(
                "SELECT account_id FROM contacts WHERE account_id IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            ).fetchone() or (None,)
            members = [r[0] for r in ledger.con.execute(
                "SELECT contact_id FROM contacts WHERE account_id = ? ORDER BY 1", [account]
            ).fetchall()]  # fmt: skip

        def account_events() -> int:
            with ws.ledger(read_only=True) as ledger:
                row = ledger.con.execute(
                    "SELECT count(*) FROM events WHERE account_id = $a OR contact_id IN "
                    "(SELECT contact_id FROM contacts WHERE account_id = $a)",
                    {"a": account},
                ).fetchone()
            return int(row[0]) if row else 0

        today = f"{datetime.now(UTC):%Y-%m-%d}"
        print(f"machine: {platform.machine()}, Python {platform.python_version()}; date {today}")
        print(f"demo contacts: {args.contacts}; account {account} with {len(members)} contacts")
        head = f"{'kept state: mean':>16} {'p50':>7} {'p99':>7}"
        print(f"{'account events':>14} | {head} | {'afresh: mean':>12} | ratio")
        serial = 0
        for size in [int(s) for s in args.sizes.split(",")]:
            grow = max(0, size - account_events())
            while grow > 0:
                batch = []
                for _ in range(min(500, grow)):
                    serial += 1
                    batch.append({
                        "event_id": f"grow-{serial}", "type": rng.choice(TYPES),
                        "contact_id": rng.choice(members),
                        "occurred_at": AS_OF - timedelta(seconds=rng.randint(600, 365 * 86400)),
                    })  # fmt: skip
                ingest(ws, batch, now=AS_OF, decide=False)
                grow -= len(batch)
            for contact in members:
                decisions(ws, [contact], AS_OF)
            kept: list[float] = []
            for k in range(args.decisions):
                contact = rng.choice(members)
                serial += 1
                event = {"event_id": f"live-{serial}", "type": rng.choice(TYPES), "contact_id": contact,
                         "occurred_at": AS_OF - timedelta(seconds=300 - k)}  # fmt: skip
                ingest(ws, [event], now=AS_OF, decide=False)
                clock = time.process_time()
                decisions(ws, [contact], AS_OF)
                kept.append((time.process_time() - clock) * 1000)
            fresh: list[float] = []
            with ws.ledger(read_only=True) as ledger:
                real_time = RealTime(ledger, ws.spec)
                for contact in members[: args.baseline]:
                    piece = real_time.slice(contact, int(AS_OF.timestamp()))
                    clock = time.process_time()
                    LeadEvaluator(ws.spec).evaluate(
                        contact, piece.profiles, piece.account_of, piece.events, int(AS_OF.timestamp())
                    )
                    fresh.append((time.process_time() - clock) * 1000)
            mean, afresh = statistics.fmean(kept), statistics.fmean(fresh)
            spread = f"{mean:>13.2f} ms {pct(kept, 0.5):>7.2f} {pct(kept, 0.99):>7.2f}"
            print(
                f"{account_events():>14,} | {spread} | {afresh:>9.1f} ms | {afresh / mean:.0f}x", flush=True
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
