"""The chunk split: the ledger written once by chunk reads back exactly, and leaves nothing behind."""

from __future__ import annotations

from functools import partial

import ibis
import ibis.expr.types as ir

from accord.engine.backends import Materializer
from accord.engine.derive import Builds


def test_split_reads_each_chunk_back_and_cleans_up() -> None:
    con = ibis.duckdb.connect()
    source = con.create_table(
        "source",
        ibis.memtable({"a": [1, 2, 3, 4], "b": ["w", None, "y", "z"], "_chunk": [0, 1, 1, 3]}),
        temp=True,
    )
    cache = Materializer(con)
    read = cache.split(source, "_chunk")
    assert read is not None
    assert sorted(read(1).to_pyarrow().to_pylist(), key=lambda r: r["a"]) == [
        {"a": 2, "b": None},
        {"a": 3, "b": "y"},
    ]
    assert read(2).to_pyarrow().num_rows == 0  # no rows with that key: no files either
    assert read(0).schema() == source.drop("_chunk").schema()
    folder = cache.folder
    assert folder is not None and folder.exists()
    cache.close()
    assert not folder.exists()
    views = con.raw_sql("SELECT view_name FROM duckdb_views() WHERE view_name LIKE 'ibis_read_parquet%'")
    assert views.fetchall() == []


def test_chunks_store_each_step_under_one_name_and_build_it_once() -> None:
    """Two chunks' materialisers store a named step under the same table name, so the step's readers
    see equal tables and the second chunk reuses the first one's expression; other inputs build anew."""
    con = ibis.duckdb.connect()
    builds = Builds(None)
    built: list[str] = []

    def total(t: ir.Table) -> ir.Table:
        built.append(t.get_name())
        return t.aggregate(n=t.a.sum())

    names = []
    for rows in ([1, 2], [3, 4, 5]):
        local = Materializer(con)
        local.name_by_content("family")
        table = local(ibis.memtable({"a": rows}), "step")
        names.append(table.get_name())
        expr = builds("total", partial(total, table), table)
        assert expr.to_pyarrow()["n"][0].as_py() == sum(rows)  # the reused expression reads this chunk's rows
        local.close()
    assert names[0] == names[1]
    assert len(built) == 1
    other = Materializer(con)
    other.name_by_content("family")
    wider = other(ibis.memtable({"a": [1], "b": [2]}), "step")
    builds("total", partial(total, wider), wider)
    assert len(built) == 2  # another schema: another expression
    other.close()
