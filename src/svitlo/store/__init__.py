"""The run store shared by every analysis: atomic Parquet parts, a manifest, a lock, resume, row schemas as data,
and parameterised DuckDB queries.

* :class:`RunStore` / :class:`RunSpec`: write a run folder chunk by chunk; a killed run resumes.
* :class:`RowSchema` / :class:`Column`: the rows an analysis stores, declared once (name, type, unit, meaning).
* :func:`connect` / :func:`select`: query a run folder's rows with DuckDB, values always bound as parameters.
"""

from svitlo.store.query import Filter, connect, select
from svitlo.store.runstore import MANIFEST, PARTS_DIR, RunSpec, RunStore, read_manifest
from svitlo.store.schema import Column, RowSchema

__all__ = ["Column", "Filter", "MANIFEST", "PARTS_DIR", "RowSchema", "RunSpec", "RunStore", "connect",
           "read_manifest", "select"]
