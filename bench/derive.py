"""How fast derive scores a large ledger, against a raw DuckDB floor and a plain pandas baseline.

Run: .venv/bin/python bench/derive.py LABEL [--pandas-limit N] [--skip-pandas] [--memory-limit 12GB]
after ``bench/generate.py LABEL`` has written bench/data/LABEL/{ev,profiles}.parquet.

Three measurements, each in its own subprocess so each gets its own peak RSS (ru_maxrss is a
high-water mark: measured in one process, the pandas figure would include DuckDB's and vice versa):

1. floor: DuckDB alone, ``SELECT contact_id, sum(ts) FROM read_parquet(ev) GROUP BY 1`` materialised,
   best of 3: the least any per-contact pass over the file can cost on this machine;
2. engine: ``accord.engine.derive`` end to end on the same files, outputs materialised, with the
   engine's own phase timings;
3. pandas: bench/pandas_scores.py, the same scores written by hand in pandas, the baseline a team would
   otherwise maintain. On large inputs it runs on the first N contacts' account streams and its time
   is scaled by events processed (the report says so).

A fourth subprocess checks pandas against the engine's score history (fit, intent, committee, score at
the as-of point and at every event point pandas computed), so a fast engine cannot hide a wrong one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))  # bench/ is not a package: generate.py and pandas_scores.py sit beside us

from accord.engine.derive import CHUNK_EVENTS  # noqa: E402
from generate import AS_OF  # noqa: E402

AS_OF_TS = int(AS_OF.timestamp())
MARK = "RESULT "
PANDAS_FULL_MAX = 20_000_000
"""Above this many events pandas runs on a sample by default (about 7 s and 0.8 GB per million events
here: the whole of 100M would take a quarter of an hour and more memory than the machine has)."""

TARGET_RATE = 10_000_000 / 60  # the "10M events in under 60 s", as a rate
TARGET_RSS_MB = 4096
TARGET_FLOOR_RATIO = 5.0
TARGET_PANDAS_RATIO = 10.0


@dataclass(frozen=True)
class Options:
    label: str
    threads: int
    memory_limit: str | None
    max_temp: str | None
    preserve_order: bool
    pandas_limit: int | None
    skip_pandas: bool
    chunk_events: int

    @property
    def folder(self) -> Path:
        return DATA / self.label

    @property
    def scratch(self) -> Path:
        """Where the check's inputs and DuckDB's spill files go (under bench/data: git-ignored)."""
        return self.folder / "_derive_bench"


def parse(argv: list[str]) -> tuple[Options, str | None]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("label", help="data set under bench/data (1M, 10M, 100M ...)")
    ap.add_argument("--pandas-limit", type=int, default=None, help="run pandas on the first N contacts")
    ap.add_argument("--skip-pandas", action="store_true", help="floor and engine only")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2: the machine)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 12GB (spills beyond)")
    ap.add_argument(
        "--max-temp", default=None, help="DuckDB max_temp_directory_size, e.g. 50GB (fail, not fill the disk)"
    )
    ap.add_argument(
        "--preserve-order", action="store_true", help="keep DuckDB's preserve_insertion_order (default off)"
    )
    ap.add_argument(
        "--chunk-events",
        type=int,
        default=CHUNK_EVENTS,
        help=f"derive in account chunks of about this many events (0: one pass) (default: {CHUNK_EVENTS:,})",
    )
    ap.add_argument("--part", choices=["floor", "engine", "pandas", "check"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    opts = Options(
        a.label,
        a.threads,
        a.memory_limit,
        a.max_temp,
        a.preserve_order,
        a.pandas_limit,
        a.skip_pandas,
        a.chunk_events,
    )
    return opts, a.part


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def duckdb_config(opts: Options) -> dict[str, Any]:
    """The same DuckDB settings for the floor and the engine, so the ratio compares work, not settings."""
    spill = opts.scratch / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "threads": opts.threads,
        "temp_directory": str(spill),
        "preserve_insertion_order": opts.preserve_order,
    }
    if opts.memory_limit:
        config["memory_limit"] = opts.memory_limit
    if opts.max_temp:
        config["max_temp_directory_size"] = opts.max_temp
    return config


# --- the parts, each run in its own process --------------------------------------------------------


def part_floor(opts: Options) -> dict[str, Any]:
    """DuckDB's own group-by over the events file: the cost of one per-contact pass, best of 3."""
    import duckdb

    con = duckdb.connect(config=duckdb_config(opts))
    path = opts.folder / "ev.parquet"
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        con.execute(
            f"CREATE TEMP TABLE floor AS SELECT contact_id, sum(ts) FROM read_parquet('{path}') GROUP BY 1"
        )
        runs.append(time.perf_counter() - t0)
        con.execute("DROP TABLE floor")
    con.close()
    return {"seconds": min(runs), "runs": runs, "rss_mb": peak_rss_mb()}


def part_engine(opts: Options) -> dict[str, Any]:
    """derive() end to end, outputs materialised; then (untimed) its score history for the check."""
    import ibis

    import accord
    from accord.engine.backends import Materializer
    from accord.engine.derive import derive
    from accord.engine.plan import Plan
    from accord.spec.load import load_spec

    plan = Plan(load_spec(Path(accord.__file__).parent / "starter" / "accord.yaml"))
    con = ibis.duckdb.connect(**duckdb_config(opts))
    cache = Materializer(con)
    t0 = time.perf_counter()

    def progress(phase: str, _fraction: float) -> None:
        """On stderr as it happens: if a large run dies, the log still says how far it got."""
        at = time.perf_counter() - t0
        print(f"    engine: {phase} done at {at:,.1f} s, peak RSS {peak_rss_mb():,.0f} MB", file=sys.stderr)

    ev = con.read_parquet(str(opts.folder / "ev.parquet"))
    profiles = con.read_parquet(str(opts.folder / "profiles.parquet"))
    d = derive(
        plan,
        ev,
        profiles,
        AS_OF_TS,
        cache=cache,
        progress=progress,
        chunk_events=opts.chunk_events or None,
        scratch=lambda: Materializer(con),
    )
    outputs = {name: cache(getattr(d, name)) for name in ("points", "leads", "drivers", "stages")}
    seconds = time.perf_counter() - t0
    rss = peak_rss_mb()
    rows = {name: int(table.count().execute()) for name, table in outputs.items()}
    if not opts.skip_pandas:
        points = outputs["points"]
        history = points.select("contact_id", "ts", "trigger", "fit", "intent", "committee", "score")
        con.to_parquet(history, str(opts.scratch / "engine_points.parquet"))
    cache.close()
    return {
        "seconds": seconds,
        "phases": [[name, float(secs)] for name, secs in getattr(d, "timings", [])],
        "rows": rows,
        "rss_mb": rss,
    }


def part_pandas(opts: Options, limit: int | None) -> dict[str, Any]:
    """bench/pandas_scores.py from the Parquet files to every point's score, reading included."""
    import pandas_scores

    t0 = time.perf_counter()
    ev, profiles = pandas_scores.load(opts.folder / "ev.parquet", opts.folder / "profiles.parquet", limit)
    t1 = time.perf_counter()
    out = pandas_scores.scores(ev, profiles, AS_OF_TS)
    seconds = time.perf_counter() - t0
    rss = peak_rss_mb()
    out.to_parquet(opts.scratch / "pandas_points.parquet")
    return {
        "seconds": seconds,
        "read_seconds": t1 - t0,
        "events": len(ev),
        "contacts": len(profiles),
        "points": len(out),
        "rss_mb": rss,
    }


def part_check(opts: Options) -> dict[str, Any]:
    """Share of pandas' points whose numbers equal the engine's after rounding to hundredths."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the venv

    mine = pd.read_parquet(opts.scratch / "pandas_points.parquet")
    path = opts.scratch / "engine_points.parquet"
    if len(mine["contact_id"].unique()) == pq.ParquetFile(opts.folder / "profiles.parquet").metadata.num_rows:
        engine = pd.read_parquet(path)
    else:  # pandas ran on a sample of contacts: compare those
        engine = pd.read_parquet(path, filters=[("contact_id", "in", list(mine["contact_id"].unique()))])
    both = mine.merge(engine, on=["contact_id", "ts"], how="left", suffixes=("", "_engine"), indicator=True)
    found = both["_merge"] == "both"
    result: dict[str, Any] = {
        "pandas_points": len(mine),
        "engine_points": len(engine),
        "missing_in_engine": int((~found).sum()),
        "engine_wake_ups": int((engine["trigger"] == "wake_up").sum()),
    }
    both = both[found]
    cents = {c: np.rint(both[c].to_numpy() * 100) == np.rint(both[f"{c}_engine"].to_numpy() * 100)
             for c in ("fit", "intent", "committee", "score")}  # fmt: skip
    at = (both["ts"] == AS_OF_TS).to_numpy()
    for where, rows in (("as_of", at), ("history", ~at)):
        n = int(rows.sum())
        result[where] = {"n": n, **{c: float(ok[rows].mean()) if n else 1.0 for c, ok in cents.items()}}
    bad = both[~cents["score"]]
    cols = ["contact_id", "ts", "fit", "fit_engine", "intent", "intent_engine", "committee",
            "committee_engine", "score", "score_engine", "pattern_days", "roles"]  # fmt: skip
    result["examples"] = bad[cols].head(5).astype(str).to_dict("records")
    return result


# --- orchestration ---------------------------------------------------------------------------------


def run_part(opts: Options, part: str, argv: list[str]) -> dict[str, Any]:
    """Run one part in a fresh interpreter; its progress goes to our stderr, its result comes back as JSON."""
    print(f"... {part}", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--part", part], stdout=subprocess.PIPE, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        return {"error": f"exit code {proc.returncode}", "output": proc.stdout[-2000:]}
    result: dict[str, Any] = json.loads(lines[-1][len(MARK) :])
    return result


def default_limit(opts: Options, events: int) -> int | None:
    """Contacts for pandas: all of them up to PANDAS_FULL_MAX events, else about that many events' worth."""
    if opts.pandas_limit is not None:
        return opts.pandas_limit
    if events <= PANDAS_FULL_MAX:
        return None
    contacts = int(pq.ParquetFile(opts.folder / "profiles.parquet").metadata.num_rows)
    return max(1, contacts * PANDAS_FULL_MAX // events)


def fmt_s(seconds: float) -> str:
    return f"{seconds:,.2f} s" if seconds < 600 else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import pandas as pd

    cores = f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))})"
    return (
        f"{cores}, {mem:.1f} GiB, {platform.machine()}, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, pandas {pd.__version__}"
    )


def main(argv: list[str]) -> None:
    opts, part = parse(argv)
    if part is not None:
        opts.scratch.mkdir(parents=True, exist_ok=True)
        if part == "floor":
            result = part_floor(opts)
        elif part == "engine":
            result = part_engine(opts)
        elif part == "pandas":
            result = part_pandas(opts, opts.pandas_limit)
        else:
            result = part_check(opts)
        print(MARK + json.dumps(result), flush=True)
        return

    ev_path = opts.folder / "ev.parquet"
    if not ev_path.exists():
        sys.exit(f"{ev_path} not found: run .venv/bin/python bench/generate.py {opts.label} first")
    events = pq.ParquetFile(ev_path).metadata.num_rows
    opts.scratch.mkdir(parents=True, exist_ok=True)
    base = [opts.label, "--threads", str(opts.threads)]
    if opts.memory_limit:
        base += ["--memory-limit", opts.memory_limit]
    if opts.max_temp:
        base += ["--max-temp", opts.max_temp]
    if opts.preserve_order:
        base.append("--preserve-order")
    if opts.skip_pandas:
        base.append("--skip-pandas")
    base += ["--chunk-events", str(opts.chunk_events)]
    started = datetime.now(UTC)
    floor = run_part(opts, "floor", base)
    engine = run_part(opts, "engine", base)
    pandas: dict[str, Any] = {}
    check: dict[str, Any] = {}
    limit = default_limit(opts, events)
    if not opts.skip_pandas:
        pandas = run_part(opts, "pandas", [*base, *(["--pandas-limit", str(limit)] if limit else [])])
        if "error" not in pandas and "error" not in engine:
            check = run_part(opts, "check", base)
    shutil.rmtree(opts.scratch, ignore_errors=True)
    report(opts, events, started, floor, engine, pandas, check)


def report(
    opts: Options,
    events: int,
    started: datetime,
    floor: dict[str, Any],
    engine: dict[str, Any],
    pandas: dict[str, Any],
    check: dict[str, Any],
) -> None:
    print(f"\nderive benchmark: {opts.label} ({events:,} events), as of {AS_OF:%Y-%m-%dT%H:%M:%SZ}")
    print(f"machine: {machine()}")
    print(
        f"date: {started:%Y-%m-%d %H:%M} UTC; DuckDB threads={opts.threads}, "
        f"memory_limit={opts.memory_limit or 'default (80% of RAM)'}, "
        f"max_temp_directory_size={opts.max_temp or 'default (90% of free disk)'}, "
        f"preserve_insertion_order={opts.preserve_order}, chunk_events={opts.chunk_events or 'off'}, "
        f"spill to {opts.scratch / 'spill'}"
    )
    for name, result in (("floor", floor), ("engine", engine), ("pandas", pandas), ("check", check)):
        if "error" in result:
            print(f"\n{name} FAILED: {result['error']}\n{result['output']}")
    print()
    if "error" not in floor:
        runs = ", ".join(f"{r:.2f}" for r in floor["runs"])
        print(f"floor   DuckDB group-by, best of 3 ({runs}):  {fmt_s(floor['seconds'])}   "
              f"peak RSS {floor['rss_mb']:,.0f} MB")  # fmt: skip
    if "error" not in engine:
        rate = events / engine["seconds"]
        print(f"engine  derive end to end:  {fmt_s(engine['seconds'])}  ({rate:,.0f} events/s)   "
              f"peak RSS {engine['rss_mb']:,.0f} MB")  # fmt: skip
        for name, secs in engine["phases"]:
            print(f"          {name:<22} {secs:8.2f} s  {100 * secs / engine['seconds']:5.1f}%")
        rows = ", ".join(f"{k} {v:,}" for k, v in engine["rows"].items())
        print(f"          output rows: {rows}")
    if pandas and "error" not in pandas:
        scaled = pandas["seconds"] * events / pandas["events"]
        sampled = pandas["events"] < events
        print(
            f"pandas  bench/pandas_scores.py:  {fmt_s(pandas['seconds'])} on {pandas['events']:,} events, "
            f"{pandas['contacts']:,} contacts, {pandas['points']:,} points "
            f"(reading {pandas['read_seconds']:.2f} s)   peak RSS {pandas['rss_mb']:,.0f} MB"
        )
        if sampled:
            print(
                f"          EXTRAPOLATED to all {events:,} events from {pandas['events']:,} "
                f"({100 * pandas['events'] / events:.1f}%): {fmt_s(scaled)} (time x events ratio)"
            )
    if check and "error" not in check:
        print(
            f"check   pandas vs engine points: {check['pandas_points']:,} pandas points, "
            f"{check['missing_in_engine']:,} missing from the engine's history "
            f"(engine has {check['engine_wake_ups']:,} wake-up points pandas does not compute)"
        )
        for where in ("as_of", "history"):
            c = check[where]
            shares = ", ".join(f"{k} {100 * c[k]:.3f}%" for k in ("score", "fit", "intent", "committee"))
            print(f"          {where:<8} {c['n']:>11,} points equal to the cent: {shares}")
        for row in check["examples"]:
            print(f"          mismatch: {row}")

    print("\ntargets (from the issue)")
    near_10m = abs(events - 10_000_000) <= 500_000
    if "error" not in engine:
        rate = events / engine["seconds"]
        at_10m = 10_000_000 / rate
        print(
            f"  10M events in < 60 s (>= {TARGET_RATE:,.0f} events/s):  {rate:,.0f} events/s "
            f"-> 10M in ~{at_10m:,.0f} s  {verdict(rate >= TARGET_RATE)}"
            + ("" if near_10m else f"  (rate measured at {events:,} events)")
        )
        print(
            f"  peak RSS < {TARGET_RSS_MB:,} MB (at 10M):  {engine['rss_mb']:,.0f} MB  "
            f"{verdict(engine['rss_mb'] < TARGET_RSS_MB)}"
            + ("" if near_10m else f"  (measured at {events:,} events, not 10M)")
        )
    if "error" not in engine and "error" not in floor:
        ratio = engine["seconds"] / floor["seconds"]
        print(
            f"  within {TARGET_FLOOR_RATIO:.0f}x of the floor:  derive / floor = {ratio:,.1f}x  "
            f"{verdict(ratio <= TARGET_FLOOR_RATIO)}"
        )
    if pandas and "error" not in pandas and "error" not in engine:
        scaled = pandas["seconds"] * events / pandas["events"]
        ratio = scaled / engine["seconds"]
        note = " (pandas extrapolated)" if pandas["events"] < events else ""
        print(
            f"  >= {TARGET_PANDAS_RATIO:.0f}x faster than pandas:  pandas / derive = {ratio:,.2f}x{note}  "
            f"{verdict(ratio >= TARGET_PANDAS_RATIO)}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
