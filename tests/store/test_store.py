"""The generic run store: any analysis writes, resumes and queries its rows the same way; queries take no SQL text."""

from __future__ import annotations

import pyarrow as pa
import pytest

from svitlo.errors import InputError, StoreError
from svitlo.store import Column, RowSchema, RunSpec, RunStore, read_manifest, select

ROWS = RowSchema("pairs", (Column("index", "int64", "", "row key"), Column("value_mw", "float64", "MW", "a value"),
                           Column("assets", "list<string>", "", "ids")))


def _spec(**kw):
    base = dict(format="test-run/1", run_id="r1", n=5, chunk_size=2, identity={"k": 2, "grid": "case9"}, key="index",
                files=("summary.json",))
    return RunSpec(**{**base, **kw})


def _part(start: int, stop: int) -> pa.Table:
    idx = list(range(start, stop))
    return pa.table({"index": idx, "value_mw": [float(i) * 1.5 for i in idx], "assets": [[f"line:{i}"] for i in idx]},
                    schema=ROWS.arrow())


def test_write_resume_and_query(tmp_path):
    with RunStore.prepare(tmp_path, _spec()) as st:
        assert st.n_chunks == 3
        st.write_part(0, _part(0, 2))
    with RunStore.prepare(tmp_path, _spec()) as st:  # resume: chunk 0 is done
        assert st.done_chunks() == {0}
        st.write_part(1, _part(2, 4))
        st.write_part(2, _part(4, 5))
        st.write_file("summary.json", b"{}")
    man = read_manifest(tmp_path, formats=("test-run/1",))
    assert man["k"] == 2 and man["n"] == 5
    df = select(tmp_path, ROWS, filters=[("value_mw", ">=", 3.0), ("assets", "contains", "line:3")])
    assert df["index"].tolist() == [3]
    top = select(tmp_path, ROWS, columns=["index"], order_by=["value_mw"], descending=True, limit=2)
    assert top["index"].tolist() == [4, 3]


def test_another_run_is_refused_naming_what_differs(tmp_path):
    with RunStore.prepare(tmp_path, _spec()):
        pass
    with pytest.raises(StoreError, match="k: stored 2, running 3"):
        RunStore.prepare(tmp_path, _spec(run_id="r2", identity={"k": 3, "grid": "case9"}))
    with pytest.raises(StoreError, match="expected 'other/1'"):
        read_manifest(tmp_path, formats=("other/1",))


def test_rows_must_cover_their_chunk(tmp_path):
    with RunStore.prepare(tmp_path, _spec()) as st, pytest.raises(StoreError, match="index 0…1"):
        st.write_part(0, _part(1, 3))


def test_queries_take_no_sql(tmp_path):
    with RunStore.prepare(tmp_path, _spec()) as st:
        st.write_part(0, _part(0, 2))
    with pytest.raises(InputError, match="unknown column"):
        select(tmp_path, ROWS, filters=[("1=1; DROP TABLE pairs; --", "=", 1)])
    with pytest.raises(InputError, match="unknown operator"):
        select(tmp_path, ROWS, filters=[("index", "OR 1=1 OR", 1)])
    # values are parameters: a quote in a value is just a value
    assert select(tmp_path, ROWS, filters=[("assets", "contains", "x' OR '1'='1")]).empty


def test_stray_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty"):
        RunStore.prepare(tmp_path, _spec())


def test_part_writer_writes_in_background_and_raises_write_errors_in_the_caller(tmp_path):
    """Parts written by the background thread are complete and atomic; a failing write surfaces in the
    computing thread (at the next put or at close), and the failed chunk is not stored."""
    from svitlo.store.writer import PartWriter

    spec = RunSpec(format="t/1", run_id="pw", n=6, chunk_size=2)
    with RunStore.prepare(tmp_path / "ok", spec) as st:
        seen = []
        with PartWriter(st, depth=1, on_written=seen.append) as w:
            for c in range(3):
                w.put(c, pa.table({"scenario": [2 * c, 2 * c + 1]}))
        assert st.done_chunks() == {0, 1, 2} and seen == [2, 2, 2] and w.rows_written == 6
    with RunStore.prepare(tmp_path / "bad", spec) as st:
        w = PartWriter(st)
        w.put(0, pa.table({"scenario": [0, 1]}))
        w.put(1, pa.table({"scenario": [7, 8]}))  # wrong keys: write_part refuses the chunk
        with pytest.raises(StoreError, match="do not cover"):
            w.close()
        assert st.done_chunks() == {0}
        assert not list((tmp_path / "bad" / "parts").glob(".tmp-*"))
