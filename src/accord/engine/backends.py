"""The few things that differ per engine: connecting, and materialising an intermediate table."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

_names = itertools.count()


class Materializer:
    """Creates named temporary tables and drops them when derive is done (no finalizers left behind)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.created: list[str] = []
        self.folder: Path | None = None

    def __call__(self, expr: ir.Table) -> ir.Table:
        if self.backend.name == "pyspark":
            # Spark has no temporary tables, and its cache keeps the whole lineage in every later plan
            # (plans grow until the analyser runs out of memory); Parquet files cut the lineage.
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="accord-spark-tmp-"))
            path = self.folder / f"t{next(_names)}"
            self.backend.to_parquet(expr, str(path))
            return self.backend.read_parquet(str(path))
        name = f"_accord_tmp_{os.getpid()}_{next(_names)}"
        table = self.backend.create_table(name, expr, temp=True)
        self.created.append(name)
        return table

    def close(self) -> None:
        for name in reversed(self.created):
            # best effort: a session ending drops temporary tables anyway
            with contextlib.suppress(Exception):
                self.backend.drop_table(name, force=True)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        self.created.clear()


def duckdb_backend(con: duckdb.DuckDBPyConnection) -> Any:
    """An Ibis back end sharing the ledger's DuckDB connection (same transaction, no second writer)."""
    return ibis.duckdb.from_connection(con)


@contextmanager
def spark_session(app: str = "accord", cores: int = 2) -> Iterator[Any]:
    """A local Spark session configured for this machine: loopback only, quiet, UTC, temp warehouse."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    java = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if "JAVA_HOME" not in os.environ and java.exists():
        os.environ["JAVA_HOME"] = str(java)
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="accord-spark-")
    session = (
        SparkSession.builder.master(f"local[{cores}]").appName(app)
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(max(2, cores * 2)))
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )  # fmt: skip
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)  # a derive leaves nothing behind in /tmp


def spark_backend(session: Any) -> Any:
    return ibis.pyspark.connect(session)
