"""The ledger: versioned schema, idempotent and atomic imports, rejects, time zones."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import service
from accord.errors import AccordError, ImportFileError, LedgerError
from accord.ledger.importer import ImportReport, ImportRequest
from accord.ledger.schema import SCHEMA_VERSION, TABLES
from accord.ledger.store import Ledger, connect
from accord.ledger.writes import FAULT_ENV

EVENTS_CSV = """event_id,occurred_at,type,contact_id,account_id,topic,url
e1,2026-07-01 09:00:00,page_view,c1,a1,pricing,/pricing
e2,2026-07-01T13:00:00Z,pricing_view,c1,a1,pricing,/pricing
e3,not a date,page_view,c2,a1,blog,/blog
e4,2026-07-02 10:00:00,,c2,a1,blog,/blog
e5,2026-07-02 11:00:00,page_view,,,blog,/blog
e6,2026-07-03 08:15:00+02:00,demo_request,c3,a2,demo,/demo
"""


@pytest.fixture
def workspace(any_workspace: service.Workspace) -> service.Workspace:
    """Every ledger guarantee below holds on both stores: a DuckDB file and PostgreSQL."""
    return any_workspace


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def do_import(ws: service.Workspace, kind: str, file: Path, **kwargs: Any) -> ImportReport:
    return service.import_file(ws, ImportRequest(file=file, kind=kind, **kwargs))


def rows(ws: service.Workspace, sql: str) -> list[tuple[Any, ...]]:
    with ws.ledger(read_only=True) as ledger:
        return ledger.con.execute(sql).fetchall()


def fingerprint(ws: service.Workspace) -> dict[str, tuple[int, str]]:
    with ws.ledger(read_only=True) as ledger:
        return ledger.fingerprint()


# ---- schema ----------------------------------------------------------------------------------------


def test_new_ledger_has_every_table_at_the_current_version(tmp_path: Path) -> None:
    with Ledger.create(tmp_path / "l.duckdb") as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION
        assert set(ledger.counts()) == set(TABLES)
        assert ledger.migrate() == []  # nothing pending on a second run


def test_a_ledger_from_a_newer_accord_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    Ledger.create(path).close()
    con = connect(path)
    con.execute("INSERT INTO accord_migrations VALUES (99, 'future', now())")
    con.close()
    with pytest.raises(LedgerError, match="newer than this Accord"):
        Ledger.open(path)


def test_opening_a_missing_ledger_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(LedgerError) as caught:
        Ledger.open(tmp_path / "nope.duckdb")
    assert "accord init" in (caught.value.hint or "")


def test_migrations_apply_to_an_old_ledger(tmp_path: Path) -> None:
    """A ledger with no migrations table (version 0) is brought to the current version on open."""
    path = tmp_path / "old.duckdb"
    connect(path).close()
    with Ledger.open(path) as ledger:
        assert ledger.schema_version() == SCHEMA_VERSION


# ---- imports ---------------------------------------------------------------------------------------


def test_bad_rows_are_rejected_good_rows_kept_and_second_import_adds_nothing(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    file = write(tmp_path / "events.csv", EVENTS_CSV)
    report = do_import(workspace, "events", file)
    assert (report.rows_read, report.imported, report.rejected) == (6, 3, 3)
    reasons = {r.row: r.reason for r in report.rejects}
    assert "occurred_at 'not a date' is not a valid timestamp" in reasons[3]
    assert "is empty" not in reasons[3]  # one reason per problem
    assert reasons[4] == "type is empty"
    assert reasons[5] == "needs contact_id, account_id or opportunity_id"
    with Path(str(report.rejects_file)).open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["row"] for r in written] == ["3", "4", "5"]
    assert written[0]["event_id"] == "e3" and written[0]["occurred_at"] == "not a date"
    before = fingerprint(workspace)
    again = do_import(workspace, "events", file)
    assert (again.imported, again.duplicates, again.rejected) == (0, 3, 3)
    assert fingerprint(workspace) == before


def test_placeholder_dates_are_rejected_by_row(workspace: service.Workspace, tmp_path: Path) -> None:
    """1970-01-01 and 1900-01-01 are what exports write for "no date": stored, such an event would
    score and route as real history (tests/test_engine_parity.py keeps the engine right if one slips
    in some other way)."""
    text = (
        "event_id,occurred_at,type,contact_id\n"
        "p1,1970-01-01T00:00:00Z,pricing_view,c1\n"
        "p2,1900-01-01,page_view,c1\n"
        "p3,1990-01-01T00:00:00Z,page_view,c1\n"
        "p4,2100-01-01T00:00:00Z,page_view,c1\n"
        "p5,2099-12-31T23:59:59Z,page_view,c1\n"
    )
    before = fingerprint(workspace)
    report = do_import(workspace, "events", write(tmp_path / "old.csv", text))
    assert (report.imported, report.rejected) == (2, 3)
    reasons = {r.row: r.reason for r in report.rejects}
    assert set(reasons) == {1, 2, 4}  # first data row = 1 (docs/ledger.md)
    assert all("outside 1990-01-01 to 2099-12-31" in r for r in reasons.values()), reasons
    stored = {r[0] for r in rows(workspace, "SELECT event_id FROM events WHERE event_id LIKE 'p%'")}
    assert stored == {"p3", "p5"}
    assert fingerprint(workspace) != before


def test_naive_timestamps_are_read_in_the_workspace_zone(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    do_import(workspace, "events", write(tmp_path / "e.csv", EVENTS_CSV))
    stored = dict(rows(workspace, "SELECT event_id, epoch(occurred_at) FROM events"))
    # workspace zone is America/New_York (EDT, UTC-4 in July)
    assert stored["e1"] == datetime(2026, 7, 1, 13, 0, tzinfo=UTC).timestamp()
    assert stored["e2"] == datetime(2026, 7, 1, 13, 0, tzinfo=UTC).timestamp()
    assert stored["e6"] == datetime(2026, 7, 3, 6, 15, tzinfo=UTC).timestamp()


def test_timezone_flag_and_daylight_saving(workspace: service.Workspace, tmp_path: Path) -> None:
    text = (
        "event_id,occurred_at,type,contact_id\n"
        "w,2026-01-15 09:00,page_view,c1\n"  # winter, GMT
        "s,2026-07-15 09:00,page_view,c1\n"  # summer, BST
        "g,2026-03-29 01:30,page_view,c1\n"
    )  # inside the spring-forward gap in London
    do_import(workspace, "events", write(tmp_path / "tz.csv", text), timezone="Europe/London")
    stored = dict(rows(workspace, "SELECT event_id, epoch(occurred_at) FROM events"))
    assert stored["w"] == datetime(2026, 1, 15, 9, 0, tzinfo=UTC).timestamp()
    assert stored["s"] == datetime(2026, 7, 15, 8, 0, tzinfo=UTC).timestamp()
    # a wall time that does not exist moves forward by the gap: 01:30 GMT == 02:30 BST
    assert stored["g"] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp()


def test_unknown_timezone_is_refused(workspace: service.Workspace, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="not an IANA time zone"):
        do_import(workspace, "events", write(tmp_path / "e.csv", EVENTS_CSV), timezone="Mars/Olympus")


def test_day_first_dates_are_detected_and_reported(workspace: service.Workspace, tmp_path: Path) -> None:
    text = "contact_id,created_at\nc1,25-12-2025\nc2,01-02-2026\n"
    report = do_import(workspace, "contacts", write(tmp_path / "c.csv", text))
    assert report.imported == 2
    assert any("read as DD-MM-YYYY" in n for n in report.notes)
    created = dict(
        rows(workspace, "SELECT contact_id, created_at AT TIME ZONE 'America/New_York' FROM contacts")
    )
    assert created["c2"] == datetime(2026, 2, 1, 0, 0)


def test_ambiguous_day_month_is_flagged(workspace: service.Workspace, tmp_path: Path) -> None:
    report = do_import(
        workspace, "contacts", write(tmp_path / "c.csv", "contact_id,created_at\nc1,01-02-2026\n")
    )
    assert any("could be month-first" in n for n in report.notes)


def test_mapping_flags_and_unmapped_columns_are_kept(workspace: service.Workspace, tmp_path: Path) -> None:
    text = "When,What,Who,Page Title\n2026-07-01 09:00,page_view,c1,Pricing\n"
    report = do_import(
        workspace,
        "events",
        write(tmp_path / "m.csv", text),
        columns={"occurred_at": "When", "type": "What", "contact_id": "Who"},
    )
    assert report.imported == 1
    (props,) = rows(workspace, "SELECT properties FROM events")[0]
    assert json.loads(str(props)) == {"Page Title": "Pricing"}
    assert any("kept in properties" in n and "Page Title" in n for n in report.notes)


def test_a_mapping_that_cannot_work_stores_nothing(workspace: service.Workspace, tmp_path: Path) -> None:
    file = write(tmp_path / "m.csv", "When,What\n2026-07-01,page_view\n")
    before = fingerprint(workspace)
    with pytest.raises(ImportFileError) as caught:
        do_import(workspace, "events", file, columns={"occurred_at": "Whenn"})
    assert "no column 'Whenn'" in caught.value.message and "did you mean 'When'" in (caught.value.hint or "")
    with pytest.raises(ImportFileError, match="no column for occurred_at, type"):
        do_import(workspace, "events", file)
    with pytest.raises(ImportFileError, match="'ocurred_at' is not a column of events"):
        do_import(workspace, "events", file, columns={"ocurred_at": "When"})
    assert fingerprint(workspace) == before


def test_files_that_cannot_be_read_are_refused_whole(workspace: service.Workspace, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="file not found"):
        do_import(workspace, "events", tmp_path / "missing.csv")
    with pytest.raises(ImportFileError, match="empty"):
        do_import(workspace, "events", write(tmp_path / "empty.csv", ""))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("contact_id,title\nc1,Directeur g\xe9n\xe9ral\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="not utf-8 text"):
        do_import(workspace, "contacts", latin)
    report = do_import(workspace, "contacts", latin, encoding="latin-1")
    assert report.imported == 1
    with pytest.raises(ImportFileError, match="cannot tell the format"):
        do_import(workspace, "events", write(tmp_path / "x.xlsx", "x"))


def test_rows_with_the_wrong_number_of_fields_are_rejected(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    text = "contact_id,title\nc1,CTO\nc2,VP,extra\nc3,CFO\n"
    report = do_import(workspace, "contacts", write(tmp_path / "c.csv", text))
    assert report.imported == 2 and report.rejected == 1
    assert report.rejects[0].row == 2 and "3 fields" in report.rejects[0].reason


def test_changed_records_update_and_keep_their_history(workspace: service.Workspace, tmp_path: Path) -> None:
    do_import(workspace, "contacts", write(tmp_path / "a.csv", "contact_id,title\nc1,Manager\nc2,CTO\n"))
    report = do_import(
        workspace, "contacts", write(tmp_path / "b.csv", "contact_id,title\nc1,Director\nc2,CTO\n")
    )
    assert (report.imported, report.updated, report.duplicates) == (0, 1, 1)
    assert rows(workspace, "SELECT title FROM contacts WHERE contact_id = 'c1'") == [("Director",)]
    (props,) = rows(workspace, "SELECT properties FROM events WHERE type = 'record_updated'")[0]
    changes = json.loads(str(props))
    assert changes["id"] == "c1" and changes["changes"] == {"title": {"from": "Manager", "to": "Director"}}


def test_same_event_id_with_other_content_is_rejected_not_overwritten(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    do_import(
        workspace,
        "events",
        write(tmp_path / "a.csv", "event_id,occurred_at,type,contact_id\nx,2026-07-01,page_view,c1\n"),
    )
    text = (
        "event_id,occurred_at,type,contact_id\n"
        "x,2026-07-02,page_view,c1\ny,2026-07-02,page_view,c1\ny,2026-07-03,page_view,c1\n"
    )
    report = do_import(workspace, "events", write(tmp_path / "b.csv", text))
    assert report.imported == 1 and report.rejected == 2
    reasons = [r.reason for r in report.rejects]
    assert "already stored with different content" in reasons[0]
    assert "repeats row 2 with different values" in reasons[1]
    assert rows(
        workspace,
        "SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS DATE)::VARCHAR FROM events WHERE event_id = 'x'",
    ) == [("2026-07-01",)]


def test_events_without_ids_get_stable_ones(workspace: service.Workspace, tmp_path: Path) -> None:
    text = (
        "occurred_at,type,contact_id\n"
        "2026-07-01 09:00,page_view,c1\n2026-07-01 09:00,page_view,c1\n2026-07-01 10:00,page_view,c1\n"
    )
    file = write(tmp_path / "noid.csv", text)
    first = do_import(workspace, "events", file)
    assert first.imported == 2 and first.duplicates == 1
    second = do_import(workspace, "events", file)
    assert second.imported == 0 and second.duplicates == 3


def test_jsonl_and_parquet_read_like_csv(workspace: service.Workspace, tmp_path: Path) -> None:
    lines = [
        {
            "event_id": "j1",
            "occurred_at": "2026-07-01T09:00:00Z",
            "type": "page_view",
            "contact_id": "c1",
            "properties": {"url": "/a", "score": 3},
        },
        "not json",
        {"event_id": "j2", "occurred_at": "2026-07-01T10:00:00Z", "type": "email_click", "contact_id": "c1"},
    ]
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    report = do_import(workspace, "events", jsonl)
    assert (report.imported, report.rejected) == (2, 1)
    assert "not valid JSON" in report.rejects[0].reason
    (props,) = rows(workspace, "SELECT properties FROM events WHERE event_id = 'j1'")[0]
    assert json.loads(str(props)) == {"url": "/a", "score": 3}
    table = pa.table(
        {
            "event_id": ["p1", "p2"],
            "occurred_at": pa.array(
                [datetime(2026, 7, 1, 9, tzinfo=UTC), datetime(2026, 7, 1, 10)],
                type=pa.timestamp("us", tz=None),
            ),
            "type": ["page_view", "demo_request"],
            "contact_id": ["c9", "c9"],
            "amount": [1.5, None],
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    report = do_import(workspace, "events", tmp_path / "e.parquet")
    assert report.imported == 2
    stored = dict(rows(workspace, "SELECT event_id, epoch(occurred_at) FROM events WHERE event_id LIKE 'p%'"))
    assert stored["p2"] == datetime(2026, 7, 1, 14, tzinfo=UTC).timestamp()  # naive -> New York


def test_dry_run_stores_nothing(workspace: service.Workspace, tmp_path: Path) -> None:
    before = fingerprint(workspace)
    report = do_import(workspace, "events", write(tmp_path / "e.csv", EVENTS_CSV), dry_run=True)
    assert report.imported == 3 and report.dry_run
    assert fingerprint(workspace) == before


def test_saved_mapping_from_the_spec(workspace: service.Workspace, tmp_path: Path) -> None:
    text = "Record ID,Email,Job Title,Create Date,Lifecycle\n101,a@b.co,CTO,2026-05-01,lead\n"
    report = do_import(
        workspace, "contacts", write(tmp_path / "hs.csv", text), mapping_name="hubspot_contacts"
    )
    assert report.imported == 1
    assert rows(workspace, "SELECT contact_id, title, source FROM contacts") == [("101", "CTO", "hubspot")]


def test_a_rejects_file_that_cannot_be_written_stores_nothing(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    """Found after the commit, the refused rows would be lost while the good ones stayed stored."""
    here = tmp_path / "files"
    here.mkdir()
    file = write(here / "events.csv", EVENTS_CSV)
    blocker = write(here / "blocker", "a file, not a folder")
    before = fingerprint(workspace)
    with pytest.raises(AccordError) as under_a_file:
        do_import(workspace, "events", file, rejects_path=blocker / "r.csv")
    assert f"--rejects {blocker / 'r.csv'}" in under_a_file.value.message
    assert "is a file" in under_a_file.value.message
    with pytest.raises(AccordError) as a_folder:
        do_import(workspace, "events", file, rejects_path=here)
    assert f"--rejects {here} is a folder" in a_folder.value.message
    assert f"{here / 'events.rejects.csv'}" in (a_folder.value.hint or "")
    assert fingerprint(workspace) == before
    assert rows(workspace, "SELECT count(*) FROM imports") == [(0,)]
    assert sorted(p.name for p in here.iterdir()) == ["blocker", "events.csv"]  # no stray .tmp
    report = do_import(workspace, "events", file, rejects_path=here / "new" / "r.csv")
    assert report.rejects_file == str(here / "new" / "r.csv") and report.imported == 3
    assert sorted(p.name for p in (here / "new").iterdir()) == ["r.csv"]


def test_delimiters_and_date_formats_that_cannot_work_are_refused_in_words(
    workspace: service.Workspace, tmp_path: Path
) -> None:
    file = write(tmp_path / "events.csv", EVENTS_CSV)
    before = fingerprint(workspace)
    for delimiter in ("||", "", '"'):
        with pytest.raises(ImportFileError, match=f"--delimiter '{delimiter}' cannot separate columns"):
            do_import(workspace, "events", file, delimiter=delimiter)
    with pytest.raises(ImportFileError) as caught:
        do_import(workspace, "events", file, date_formats=["%Y-%m-%d", "%Q"])
    assert (
        caught.value.message
        == "--date-format '%Q' cannot be read: Unrecognized format for strftime/strptime: %Q"
    )
    assert "%d day" in (caught.value.hint or "")
    assert fingerprint(workspace) == before
    tabbed = write(tmp_path / "tabbed.txt", EVENTS_CSV.replace(",", "\t"))
    report = do_import(workspace, "events", tabbed, format="csv", delimiter="\\t")  # as typed in a shell
    assert report.imported == 3


def test_empty_cells_are_noted_only_for_rows_stored(workspace: service.Workspace, tmp_path: Path) -> None:
    """A refused row's empty cell is told as its reason; a note saying it was stored contradicted that."""
    report = do_import(workspace, "events", write(tmp_path / "events.csv", EVENTS_CSV))
    assert report.rejected == 3  # rows 4 and 5 are refused for their empty type and subject
    assert not [n for n in report.notes if "empty in" in n]
    text = (
        "event_id,occurred_at,type,contact_id,account_id\nk1,2026-07-01,page_view,c1,\nk2,2026-07-01,,c1,\n"
    )
    report = do_import(workspace, "events", write(tmp_path / "k.csv", text))
    assert report.rejected == 1
    assert [n for n in report.notes if "empty in" in n] == [
        "account_id -> account_id: empty in 1 rows (stored as empty)"
    ]


@pytest.mark.parametrize("point", ["before_events", "after_events", "after_update", "before_commit"])
def test_a_crash_midway_leaves_the_ledger_as_it_was(
    workspace: service.Workspace, tmp_path: Path, point: str
) -> None:
    do_import(workspace, "contacts", write(tmp_path / "a.csv", "contact_id,title\nc1,Manager\n"))
    before = fingerprint(workspace)
    if point in ("after_update",):
        file = write(tmp_path / "b.csv", "contact_id,title\nc1,Director\nc2,CTO\n")
        args = ["contacts", str(file)]
    else:
        args = ["events", str(write(tmp_path / "e.csv", EVENTS_CSV))]
    env = {**os.environ, FAULT_ENV: point}
    proc = subprocess.run(
        [sys.executable, "-m", "accord.cli", "import", *args, "-w", str(workspace.root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 86, proc.stderr
    assert fingerprint(workspace) == before
    assert rows(workspace, "SELECT count(*) FROM imports") == [(1,)]


# ---- property: importing twice changes nothing; every row is accounted for --------------------------

CELLS = st.sampled_from(["", "x", "2026-07-01 10:00", "2026-07-01T10:00:00Z", "bad", "page_view", "c1", "c2"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.sampled_from(["e1", "e2", "e3", ""]), CELLS, CELLS, CELLS), min_size=1, max_size=15)
)
def test_import_is_idempotent_and_accounts_for_every_row(
    tmp_path_factory: pytest.TempPathFactory, data: list[tuple[str, str, str, str]]
) -> None:
    root = tmp_path_factory.mktemp("prop")
    ws = service.init_workspace(root / "ws")
    file = root / "e.csv"
    with file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "occurred_at", "type", "contact_id"])
        writer.writerows(data)
    first = do_import(ws, "events", file)
    assert first.imported + first.duplicates + first.rejected == len(data)
    snapshot = fingerprint(ws)
    second = do_import(ws, "events", file)
    assert second.imported == 0
    assert second.duplicates + second.rejected == len(data)
    assert fingerprint(ws) == snapshot


def test_a_column_inside_a_longer_quoted_name_is_not_read() -> None:
    """A preset reading "Deal Stage (closed)" does not read "Deal Stage": that one stays in attributes."""
    from accord.ledger.mapping import _referenced

    columns = ["Deal Stage", "Deal Stage (closed)", "stage", "amount"]
    used = _referenced(['lower("Deal Stage (closed)")', "stage || 'x'", "attributes->>'amount'"], columns)
    assert used == {"Deal Stage (closed)", "stage"}
