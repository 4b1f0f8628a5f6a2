"""The few things that differ per engine: connecting, and materialising an intermediate table."""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import sqlglot.expressions as sge

from accord.errors import WorkspaceError

_names = itertools.count()

_COMPILED: dict[Any, str] = {}
"""DuckDB SELECT text per expression. Compiling a derive step costs tens to hundreds of milliseconds of
Python; account chunks build equal expressions over equally named tables, so each compiles once."""
_COMPILED_MAX = 512


def create_table(backend: Any, name: str, expr: ir.Table, *, temp: bool = False) -> None:
    """``create_table`` as Ibis does it (typed columns, then an insert), compiling each distinct
    expression once per process on DuckDB; a permanent table replaces one of the same name."""
    op = expr.op()
    if backend.name != "duckdb" or op.find(ops.InMemoryTable):
        backend.create_table(name, expr, temp=temp, overwrite=not temp)
        return
    query = _COMPILED.get(op)
    if query is None:
        query = backend.compiler.to_sqlglot(expr).sql(backend.dialect)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[op] = query
    schema = expr.schema()
    target = (
        sge.table_(name, db="main", catalog="temp", quoted=True)
        if temp
        else sge.to_identifier(name, quoted=True)
    )
    create = sge.Create(
        kind="TABLE",
        this=sge.Schema(this=target, expressions=schema.to_sqlglot_column_defs(backend.dialect)),
        properties=sge.Properties(expressions=[sge.TemporaryProperty()]) if temp else None,
        replace=not temp,
    )
    columns = ", ".join(sge.to_identifier(c, quoted=True).sql(backend.dialect) for c in schema.names)
    backend.raw_sql(create.sql(backend.dialect))
    backend.raw_sql(f"INSERT INTO {target.sql(backend.dialect)} ({columns}) {query}")


class Materializer:
    """Creates named temporary tables and drops them when derive is done (no finalizers left behind)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.created: list[str] = []
        self.folder: Path | None = None
        self.family: str | None = None
        self.views: list[str] = []  # views over split files, dropped with them

    def name_by_content(self, family: str) -> None:
        """Name tables by what they hold (their expression) within ``family`` instead of by a counter.

        Successive materialisers of one family (one per account chunk, each closed before the next)
        then create the same names for the same steps, so every later step's expression, and its
        compiled SQL, is the same for every chunk.
        """
        self.family = family

    def __call__(self, expr: ir.Table, name: str | None = None) -> ir.Table:
        """Materialise ``expr``; ``name`` (with :meth:`name_by_content`) fixes its name across chunks."""
        if self.backend.name == "pyspark":
            # Spark has no temporary tables, and its cache keeps the whole lineage in every later plan
            # (plans grow until the analyser runs out of memory); Parquet files cut the lineage.
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="accord-spark-tmp-"))
            path = self.folder / f"t{next(_names)}"
            self.backend.to_parquet(expr, str(path))
            return self.backend.read_parquet(str(path))
        if self.family is None:
            table_name = f"_accord_tmp_{os.getpid()}_{next(_names)}"
        else:
            key = name or f"{hash(expr.op()) & 0xFFFFFFFFFFFF:012x}"
            table_name = f"_accord_tmp_{os.getpid()}_{self.family}_{key}"
            if table_name in self.created:  # the same expression twice in one chunk
                table_name += f"_{next(_names)}"
        table = self._create(table_name, expr)
        self.created.append(table_name)
        return table

    def _create(self, name: str, expr: ir.Table) -> ir.Table:
        create_table(self.backend, name, expr, temp=True)
        if self.backend.name != "duckdb":
            return self.backend.table(name)
        return self.backend.table(name, database=("temp", "main"))

    def split(self, expr: ir.Table, key: str) -> Callable[[int], ir.Table] | None:
        """``expr`` written once as files partitioned by the integer column ``key``; the result reads
        back the rows of one key value (``key`` dropped, columns typed as in ``expr``).

        Account chunks each need their share of the ledger: filtering the whole ledger again for every
        chunk costs a full scan per chunk, and holding a keyed copy costs the ledger's size in memory.
        DuckDB only (None elsewhere: the caller filters instead).
        """
        if self.backend.name != "duckdb" or expr.op().find(ops.InMemoryTable):
            return None
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="accord-split-"))
        folder = self.folder / f"s{next(_names)}"
        query = self.backend.compiler.to_sqlglot(expr).sql(self.backend.dialect)
        target = str(folder).replace("'", "''")
        self.backend.raw_sql(f"COPY ({query}) TO '{target}' (FORMAT parquet, PARTITION_BY ({key}))")
        schema = expr.schema()
        columns = [c for c in schema.names if c != key]

        def read(value: int) -> ir.Table:
            files = folder / f"{key}={value}"
            if not files.exists():  # no rows with this value
                return expr.filter(expr[key] == value).drop(key)
            t = self.backend.read_parquet(str(files / "*.parquet"), hive_partitioning=False)
            self.views.append(t.get_name())
            return t.select(**{c: t[c].cast(schema[c]) for c in columns})

        return read

    def close(self) -> None:
        for name in reversed(self.created):
            # best effort: a session ending drops temporary tables anyway
            with contextlib.suppress(Exception):
                self.backend.drop_table(name, force=True)
        for name in self.views:
            with contextlib.suppress(Exception):
                self.backend.drop_view(name, force=True)
        self.views.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        self.created.clear()


def duckdb_backend(con: duckdb.DuckDBPyConnection) -> Any:
    """An Ibis back end sharing the ledger's DuckDB connection (same transaction, no second writer)."""
    return ibis.duckdb.from_connection(con)


SPARK_CONF_VAR = "ACCORD_SPARK_CONF"


def spark_settings(text: str | None) -> dict[str, str]:
    """Spark settings a user adds to (or changes in) the local session, from ``$ACCORD_SPARK_CONF``.

    Entries are ``key=value`` separated by ``;`` (not by spaces: a value such as the driver's Java
    options holds spaces of its own). Only ``spark.*`` keys are taken, so a typo of the separator or a
    stray word is refused before a JVM starts rather than ignored by Spark in silence.
    """
    settings: dict[str, str] = {}
    for entry in (text or "").split(";"):
        entry = entry.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.startswith("spark.") or not value:
            raise WorkspaceError(
                f"${SPARK_CONF_VAR}: {entry!r} is not a Spark setting",
                hint="write spark.KEY=VALUE entries separated by ';', "
                "e.g. spark.driver.memory=8g;spark.sql.shuffle.partitions=8",
            )
        settings[key] = value
    return settings


def session_settings(warehouse: str, cores: int) -> dict[str, str]:
    """The local session's settings: Accord's defaults, then ``$ACCORD_SPARK_CONF`` over them."""
    return {
        "spark.sql.warehouse.dir": warehouse,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(2, cores * 2)),
        "spark.driver.memory": "4g",
        **spark_settings(os.environ.get(SPARK_CONF_VAR)),
    }


def find_java() -> str:
    """The java Spark's launcher will run. Without one the launcher fails with a shell error and
    PySpark with a gateway error, neither of which says that Java is what is missing."""
    home = os.environ.get("JAVA_HOME")
    if home:
        found = Path(home) / "bin" / "java"
        if found.exists():
            return str(found)
        raise WorkspaceError(
            f"Spark needs Java, and JAVA_HOME ({home}) holds no bin/java",
            hint="point JAVA_HOME at a Java 17 install, or unset it to use the java on PATH "
            "(apt-get install openjdk-17-jre-headless)",
        )
    on_path = shutil.which("java")
    if on_path is None:
        raise WorkspaceError(
            "Spark needs Java, and none was found (JAVA_HOME is not set and no java is on PATH)",
            hint="apt-get install openjdk-17-jre-headless, or derive on DuckDB (the default engine)",
        )
    return on_path


@contextmanager
def spark_session(app: str = "accord", cores: int = 2) -> Iterator[Any]:
    """A local Spark session configured for this machine: loopback only, quiet, UTC, temp warehouse.

    ``$ACCORD_SPARK_CONF`` comes last, so a user can give a large ledger more driver memory (4g by
    default) or a short run a quicker-starting JVM, without a flag for each of Spark's settings.
    """
    spark_settings(os.environ.get(SPARK_CONF_VAR))  # refused before a folder or a JVM exists
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    java = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if "JAVA_HOME" not in os.environ and java.exists():
        os.environ["JAVA_HOME"] = str(java)
    find_java()
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="accord-spark-")
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app)
    for key, value in session_settings(warehouse, cores).items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        shutil.rmtree(warehouse, ignore_errors=True)
        if exc.getCondition() != "JAVA_GATEWAY_EXITED":
            raise
        with warnings.catch_warnings():
            # the traceback's frames hold PySpark's failed launcher and the pipe it left open: let them
            # go now, quietly, rather than as an unraisable warning when the process exits
            warnings.simplefilter("ignore", ResourceWarning)
            exc.__traceback__ = None
            gc.collect()
        raise WorkspaceError(
            "Spark could not start its JVM: the Java process exited before it answered",
            hint="its own message is printed above; check the Java options and memory in "
            f"${SPARK_CONF_VAR}, or derive on DuckDB (the default engine)",
        ) from exc
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)  # a derive leaves nothing behind in /tmp


def spark_backend(session: Any) -> Any:
    return ibis.pyspark.connect(session)
