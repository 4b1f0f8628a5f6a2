"""`accord derive`, `explain` and `leads` on a demo world, as a rep and a RevOps lead would use them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import service
from accord.cli.derive_cmds import parse_instant
from accord.cli.main import app
from accord.domain.timeline import round2
from accord.errors import WorkspaceError
from accord.spec.load import spec_hash

AS_OF = "2026-11-02T12:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("derive") / "demo"
    args = ["demo", str(root), "--contacts", "400", "--seed", "11", "--as-of", AS_OF, "--no-derive"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root


def test_leads_before_derive_says_what_to_do(demo: Path) -> None:
    result = CliRunner().invoke(app, ["leads", "-w", str(demo)])
    assert result.exit_code == 2
    assert "nothing derived yet" in result.output and "accord derive" in result.output


def test_derive_stores_stamped_tables(demo: Path) -> None:
    result = CliRunner().invoke(app, ["derive", "-w", str(demo), "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    for phrase in ("derived as of", "timing", "derived_scores", "tiers:", "stages:"):
        assert phrase in result.output
    ws = service.locate(demo)
    version = spec_hash(ws.spec)
    with ws.ledger(read_only=True) as ledger:
        con = ledger.con
        for table in ("derived_scores", "derived_leads", "derived_drivers", "derived_stages"):
            versions = con.execute(f"SELECT DISTINCT spec_version FROM {table}").fetchall()
            assert versions == [(version,)], table
        contacts = con.execute("SELECT count(*) FROM contacts").fetchall()[0][0]
        leads = con.execute("SELECT count(*) FROM derived_leads").fetchall()[0][0]
        assert leads >= contacts
        # drivers add up to every lead's score
        rows = con.execute(
            "SELECT l.contact_id, l.score, coalesce(sum(d.points), 0) FROM derived_leads l "
            "LEFT JOIN derived_drivers d USING (contact_id) GROUP BY 1, 2"
        ).fetchall()
        assert all(round2(total) == score for _, score, total in rows)
        # the demo's hidden propensities show: Tier 1 leads reach opportunity far more often
        tiers = dict(
            con.execute(
                "SELECT tier, avg(CASE WHEN stage IN ('opportunity', 'customer', 'onboarding', 'adoption', "
                "'expansion', 'renewal') THEN 1.0 ELSE 0.0 END) FROM derived_leads GROUP BY 1"
            ).fetchall()
        )
        assert tiers["Tier 1"] > 3 * tiers["Tier 3"]
        runs = con.execute("SELECT spec_version, engine FROM derive_runs").fetchall()
        assert runs == [(version, "duckdb")]


def test_leads_lists_the_tier_1_queue_by_score(demo: Path) -> None:
    result = CliRunner().invoke(app, ["leads", "--tier", "1", "-w", str(demo), "--limit", "5"])
    assert result.exit_code == 0, result.output
    rows, _ = service.leads(service.locate(demo), tier="1", limit=5)
    assert rows and all(r["tier"] == "Tier 1" for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(r["top_driver"] for r in rows)
    assert rows[0]["contact_id"] in result.output
    bad = CliRunner().invoke(app, ["leads", "--tier", "Tier 9", "-w", str(demo)])
    assert bad.exit_code == 2 and "no tier 'Tier 9'" in bad.output
    # an owner nobody has is a typo, not an empty queue (`queue` already said so)
    typo = CliRunner().invoke(app, ["leads", "--owner", "samm", "-w", str(demo)])
    assert typo.exit_code == 2 and "no owner 'samm'" in typo.output and "'sam'" in typo.output
    owned = CliRunner().invoke(app, ["leads", "--owner", "sam", "-w", str(demo)])
    assert owned.exit_code == 0, owned.output


def test_explain_reads_like_something_to_act_on(demo: Path) -> None:
    ws = service.locate(demo)
    rows, _ = service.leads(ws, tier="1", limit=1)
    contact = rows[0]["contact_id"]
    result = CliRunner().invoke(app, ["explain", contact, "-w", str(demo)], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    info = service.explain(ws, contact)
    assert f"score {info.lead['score']:g}" in result.output
    assert "Tier 1" in result.output and "Human follow-up" in result.output
    assert "drivers" in result.output and "stage history" in result.output
    assert re.search(r"x\d+ in the last 30 days", result.output)  # intent drivers say how often
    assert round2(sum(d["points"] for d in info.drivers)) == info.lead["score"]
    assert not info.stale
    missing = CliRunner().invoke(app, ["explain", contact[:-1], "-w", str(demo)])
    assert missing.exit_code == 2 and "did you mean" in missing.output


def test_explain_of_a_contact_newer_than_the_derive_says_to_derive(demo: Path, tmp_path: Path) -> None:
    """The nearest ids to a new one start with the new one itself: "did you mean" offered it back."""
    root = tmp_path / "ws"
    shutil.copytree(demo, root)
    runner = CliRunner()
    derived = runner.invoke(app, ["derive", "-w", str(root), "--as-of", AS_OF])
    assert derived.exit_code == 0, derived.output
    file = tmp_path / "new.csv"
    file.write_text("contact_id,created_at\ncon-900001,2026-11-01T10:00:00Z\n")
    assert runner.invoke(app, ["import", "contacts", str(file), "-w", str(root)]).exit_code == 0
    result = runner.invoke(app, ["explain", "con-900001", "-w", str(root)])
    assert result.exit_code == 2, result.output
    assert "contact 'con-900001' is newer than the last derive (as of 2026-11-02 12:00 UTC)" in result.output
    assert "run `accord derive`" in result.output and "did you mean" not in result.output
    assert runner.invoke(app, ["derive", "-w", str(root), "--as-of", AS_OF]).exit_code == 0
    assert runner.invoke(app, ["explain", "con-900001", "-w", str(root)]).exit_code == 0


def test_explain_warns_when_the_spec_changed(demo: Path, tmp_path: Path) -> None:
    ws = service.locate(demo)
    original = ws.spec_path.read_text()
    try:
        ws.spec_path.write_text(original.replace("fit >= 30 AND intent >= 25", "fit >= 35 AND intent >= 25"))
        rows, _ = service.leads(service.locate(demo), limit=1)
        result = CliRunner().invoke(app, ["explain", rows[0]["contact_id"], "-w", str(demo)])
        assert "the spec changed since this derive" in result.output
    finally:
        ws.spec_path.write_text(original)


def _derived(root: Path) -> dict[str, list[tuple[object, ...]]]:
    with service.locate(root).ledger(read_only=True) as ledger:
        return {
            name: ledger.con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
            for name in ("derived_scores", "derived_leads", "derived_drivers", "derived_stages")
        }


def test_derive_in_account_chunks_stores_what_one_pass_stores(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large ledger derives account chunk by account chunk, reading the events table where each
    step needs it. Forced into chunks on the demo, the stored tables are the same, row for row."""
    from accord.engine.derive import derive

    ws = service.locate(demo)
    moment = parse_instant(AS_OF)
    whole = service.run_derive(ws, as_of=moment)
    one_pass = _derived(demo)
    rows = whole.counts["derived_scores"]  # about one score point per event
    defaults = derive.__kwdefaults__
    assert defaults is not None and "chunk_events" in defaults  # the service relies on the default
    monkeypatch.setitem(defaults, "chunk_events", rows // 4)
    phases: list[str] = []
    service.run_derive(ws, as_of=moment, progress=lambda phase, _f: phases.append(phase))
    assert any(re.search(r"\(1 of [4-6]\)", p) for p in phases), phases
    chunked = _derived(demo)
    assert {k: len(v) for k, v in chunked.items()} == {k: len(v) for k, v in one_pass.items()}
    assert chunked == one_pass


def test_derive_under_a_memory_limit(demo: Path) -> None:
    """A cap DuckDB can work under derives; a cap it cannot, or no size at all, is refused in words,
    and the tables already derived stay as they were."""
    runner = CliRunner()
    capped = runner.invoke(app, ["derive", "-w", str(demo), "--as-of", AS_OF, "--memory-limit", "1GB"])
    assert capped.exit_code == 0, capped.output
    before = _derived(demo)
    args = ["derive", "-w", str(demo), "--as-of", AS_OF]
    bad = runner.invoke(app, args, env={"ACCORD_MEMORY_LIMIT": "lots"})
    assert bad.exit_code == 2 and "memory limit 'lots' is not a size" in bad.output
    assert "3GB" in bad.output  # the hint shows the notation
    for nothing in ("-1GB", "0MB", "-0.5GiB"):  # DuckDB reads a negative size as no cap at all
        refused = runner.invoke(app, [*args, "--memory-limit", nothing])
        assert refused.exit_code == 2 and f"memory limit '{nothing}' must be more than zero" in refused.output
    for tiny in ("1KB", "1MB", "20MB"):  # sizes, but below what any derive needs
        refused = runner.invoke(app, [*args, "--memory-limit", tiny])
        assert refused.exit_code == 2, refused.output
        assert f"memory limit '{tiny}' is too small: a derive needs at least 32MB" in refused.output
    # at the floor but below what this ledger needs (about 96MB): DuckDB runs out, nothing is stored
    short = runner.invoke(app, ["derive", "-w", str(demo), "--as-of", "2026-11-03", "--memory-limit", "32MB"])
    assert short.exit_code == 2, short.output
    assert "needs more memory than the limit of 32MB" in short.output and "nothing was stored" in short.output
    assert _derived(demo) == before


def test_memory_limits_are_read_as_duckdb_reads_them() -> None:
    from accord.service.derive import memory_limit_bytes

    assert memory_limit_bytes("3GB") == 3 * 10**9
    assert memory_limit_bytes(" 2.5 GiB ") == int(2.5 * 2**30)
    assert memory_limit_bytes("512mb") == 512 * 10**6
    assert memory_limit_bytes("32MB") == 32 * 10**6
    for text in ("lots", "100", "50%", "1,5GB", "GB", "3 parsecs"):
        with pytest.raises(WorkspaceError, match="is not a size"):
            memory_limit_bytes(text)


def test_spark_settings_are_read_from_the_environment() -> None:
    """Entries split on ';' only: a driver's Java options hold spaces of their own."""
    from accord.engine.backends import spark_settings

    assert spark_settings(None) == {} and spark_settings(" ; ") == {}
    text = " spark.driver.memory = 8g ;spark.driver.extraJavaOptions=-Xss4m -XX:+UseG1GC;"
    assert spark_settings(text) == {
        "spark.driver.memory": "8g",
        "spark.driver.extraJavaOptions": "-Xss4m -XX:+UseG1GC",
    }
    assert spark_settings("spark.a=1;spark.a=2") == {"spark.a": "2"}  # the last one wins, as in a shell
    assert spark_settings("spark.a=1 spark.b=2") == {"spark.a": "1 spark.b=2"}  # a value is taken whole
    for text in ("driver.memory=8g", "spark.driver.memory", "spark.driver.memory=", "=8g"):
        with pytest.raises(WorkspaceError, match="is not a Spark setting") as caught:
            spark_settings(text)
        assert repr(text) in str(caught.value) and "ACCORD_SPARK_CONF" in str(caught.value)


def test_spark_settings_from_the_environment_come_over_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from accord.engine.backends import session_settings

    assert session_settings("/w", 2)["spark.driver.memory"] == "4g"
    monkeypatch.setenv("ACCORD_SPARK_CONF", "spark.driver.memory=8g;spark.executor.cores=1")
    settings = session_settings("/w", 2)
    assert settings["spark.driver.memory"] == "8g" and settings["spark.executor.cores"] == "1"
    assert settings["spark.sql.session.timeZone"] == "UTC" and settings["spark.sql.warehouse.dir"] == "/w"


def test_a_bad_spark_setting_is_refused_before_spark_starts(demo: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["derive", "-w", str(demo), "--as-of", AS_OF])
    assert first.exit_code == 0, first.output
    before = _derived(demo)
    args = ["derive", "-w", str(demo), "--as-of", "2026-11-03", "--engine", "spark"]
    bad = runner.invoke(app, args, env={"ACCORD_SPARK_CONF": "driver.memory=8g"})
    assert bad.exit_code == 2, bad.output
    assert "$ACCORD_SPARK_CONF: 'driver.memory=8g' is not a Spark setting" in bad.output
    assert "spark.driver.memory=8g" in bad.output  # the hint shows the notation
    assert _derived(demo) == before


def test_spark_without_java_is_refused_in_words(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher's own failure is a shell error and a gateway error that never say "Java"."""
    from accord.engine.backends import find_java

    runner = CliRunner()
    assert runner.invoke(app, ["derive", "-w", str(demo), "--as-of", AS_OF]).exit_code == 0
    before = _derived(demo)
    args = ["derive", "-w", str(demo), "--as-of", "2026-11-03", "--engine", "spark"]
    gone = runner.invoke(app, args, env={"JAVA_HOME": str(tmp_path / "no-jdk")})
    assert gone.exit_code == 2, gone.output
    assert "Spark needs Java, and JAVA_HOME" in gone.output and "openjdk-17-jre-headless" in gone.output
    assert "internal error" not in gone.output and _derived(demo) == before
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(WorkspaceError, match="none was found"):
        find_java()
    (tmp_path / "java").write_text("#!/bin/sh\n")
    (tmp_path / "java").chmod(0o755)
    assert find_java() == str(tmp_path / "java")


def test_a_jvm_that_will_not_start_is_refused_in_words(demo: Path, java: None) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["derive", "-w", str(demo), "--as-of", AS_OF]).exit_code == 0
    before = _derived(demo)
    # In a process of its own: PySpark keeps the first JVM it starts for the life of the process, so in
    # a test process where Spark already ran, no new JVM would be launched with the setting.
    accord = Path(sys.executable).parent / "accord"
    args = [str(accord), "derive", "-w", str(demo), "--as-of", "2026-11-03", "--engine", "spark"]
    # a heap size the JVM cannot read (Spark's launcher passes unknown -XX options as ignorable)
    env = {**os.environ, "ACCORD_SPARK_CONF": "spark.driver.memory=1x", "COLUMNS": "200"}
    env["PYTHONWARNINGS"] = "default::ResourceWarning"  # PySpark's failed launcher leaves a pipe open
    refused = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    said = refused.stdout + refused.stderr
    assert refused.returncode == 2, said
    assert "Invalid maximum heap size" in said  # the JVM's own words come first
    assert "Spark could not start its JVM" in said and "ACCORD_SPARK_CONF" in said
    assert "internal error" not in said and "ResourceWarning" not in said and _derived(demo) == before


def test_the_runs_settings_are_its_alone() -> None:
    """A server's connection outlives a derive: it gets DuckDB's defaults back, after a failure too."""
    import duckdb

    from accord.service.derive import _run_settings

    con = duckdb.connect()

    def settings() -> tuple[str, bool]:
        row = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('preserve_insertion_order')"
        ).fetchall()[0]
        return str(row[0]), bool(row[1])

    before = settings()
    assert before[1]  # DuckDB's default
    with _run_settings(con, "1GB"):
        assert settings() == ("953.6 MiB", False)
    assert settings() == before
    inside: list[tuple[str, bool]] = []

    def failing_derive() -> None:
        with _run_settings(con, None):
            inside.append(settings())
            raise RuntimeError("derive failed")

    with pytest.raises(RuntimeError):
        failing_derive()
    assert inside == [(before[0], False)]
    assert settings() == before
    with pytest.raises(WorkspaceError), _run_settings(con, "lots"):
        pass
    assert settings() == before
