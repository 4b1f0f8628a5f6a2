"""A client that streams events to the API and retries until each batch is answered: run as a process.

Usage: python -m tests.api_kill_client URL KEY COUNT BATCH. Prints one line per answered batch
(``batch N stored S duplicates D``) and a final ``done`` line; exits 1 if any item came back as a
conflict or rejected, or if it cannot finish within its deadline.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

START = datetime(2026, 11, 1, 8, tzinfo=UTC)


def events(count: int) -> list[dict[str, Any]]:
    """The stream, the same on every run: ids, instants and contacts follow from the position."""
    return [
        {
            "event_id": f"kill-{i:05d}",
            "occurred_at": (START + timedelta(seconds=17 * i)).isoformat(),
            "type": ("page_view", "email_click", "pricing_view")[i % 3],
            "contact_id": f"con-{(i % 50) + 100:06d}",
            "properties": {"seq": i},
        }
        for i in range(count)
    ]


def main(url: str, key: str, count: int, size: int, deadline: float = 150.0) -> int:
    stream = events(count)
    end = time.monotonic() + deadline
    bad = 0
    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=10.0) as client:
        for n, first in enumerate(range(0, count, size)):
            chunk = stream[first : first + size]
            while True:
                if time.monotonic() > end:
                    print("gave up", flush=True)
                    return 1
                try:
                    response = client.post(
                        url + "/events", json={"events": chunk}, params={"decide": "false"}
                    )
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                if response.status_code in (429, 500, 502, 503):
                    time.sleep(0.1)
                    continue
                break
            body = response.json()
            bad += body["conflicts"] + body["rejected"]
            print(f"batch {n} stored {body['stored']} duplicates {body['duplicates']}", flush=True)
            time.sleep(0.02)
    print(f"done bad {bad}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
