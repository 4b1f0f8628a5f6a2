"""The same Ibis derive on DuckDB and on PySpark (local[2]) gives identical tables on a demo world."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pytest

from accord import service
from accord.engine.backends import Materializer, spark_backend, spark_session
from accord.engine.derive import derive
from accord.engine.inputs import InputFiles, export_inputs
from accord.engine.plan import Plan
from accord.spec.model import Spec

AS_OF = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _java() -> bool:
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java") or Path("/usr/lib/jvm").exists())


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if not _java():
        if os.environ.get("CI"):
            pytest.fail("Java is missing: `make test` installs openjdk-17-jre-headless")
        pytest.skip("Java is missing (install openjdk-17-jre-headless)")
    with spark_session(app="accord-tests") as session:
        yield session


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Spec, InputFiles]:
    root = tmp_path_factory.mktemp("spark") / "demo"
    service.build_demo(root, contacts=150, seed=5, as_of=AS_OF)
    ws = service.locate(root)
    with ws.ledger() as ledger:
        files = export_inputs(ledger.con, ws.spec, int(AS_OF.timestamp()), root / "inputs")
    return ws.spec, files


def _tables(backend: Any, spec: Spec, files: InputFiles) -> dict[str, list[tuple[Any, ...]]]:
    cache = Materializer(backend)
    try:
        ev = backend.read_parquet(str(files.events))
        profiles = backend.read_parquet(str(files.profiles))
        derived = derive(Plan(spec), ev, profiles, int(AS_OF.timestamp()), cache=cache)
        out = {}
        for name in ("points", "leads", "drivers", "stages"):
            rows = getattr(derived, name).to_pyarrow().to_pylist()
            out[name] = sorted((tuple(_norm(v) for v in row.values()) for row in rows), key=repr)
        out["columns"] = [
            tuple(getattr(derived, n).columns) for n in ("points", "leads", "drivers", "stages")
        ]
        return out
    finally:
        cache.close()


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    return value


def test_duckdb_and_spark_derive_identical_tables(spark: Any, world: tuple[Spec, InputFiles]) -> None:
    spec, files = world
    duck = _tables(ibis.duckdb.connect(), spec, files)
    sparked = _tables(spark_backend(spark), spec, files)
    assert duck["columns"] == sparked["columns"]
    for name in ("points", "leads", "drivers", "stages"):
        assert len(duck[name]) > 0, name
        assert duck[name] == sparked[name], name
