"""The chunk split: the ledger written once by chunk reads back exactly, and leaves nothing behind."""

from __future__ import annotations

import ibis

from accord.engine.backends import Materializer


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
