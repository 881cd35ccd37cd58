"""Plan a Monte Carlo sweep: per-scenario keys, chunks and the run id (pure).

Run format ``svitlo-sweep/2`` (this version): scenario ``i`` of a sweep with root seed ``root`` draws its
strikes from the counter-based key ``svitlo.engine.batch.draws.scenario_key(root, i)`` (stored in the row's
``seed`` column), inside the compiled draw loop (:mod:`svitlo.engine.batch.draws`). Any chunk of any size, on
any worker, draws the same strikes: results never depend on worker count or chunking.

Format ``svitlo-sweep/1`` (earlier versions) drew scenario ``i`` from ``SeedSequence(root).spawn(n)[i]`` with
one Python call per scenario; its run folders stay readable (``svitlo report``) but cannot be resumed by this
version (:func:`check_resumable` says so before any work). :func:`scenario_seed` and :func:`scenario_seeds`
keep that derivation for the timeline analyses that use it.

Examples
--------
>>> seeds = scenario_seeds(7, 0, 3)
>>> seeds.tolist() == [scenario_seed(7, i) for i in range(3)]
True
>>> chunk_bounds(10, chunk_size=4)
[(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from svitlo.errors import RunFolderError, ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.spec import Scenario
from svitlo.store.runstore import RunSpec, read_manifest

__all__ = ["SweepPlan", "scenario_seed", "scenario_seeds", "chunk_bounds", "default_chunk_size",
           "grid_fingerprint", "make_plan", "read_sweep_manifest", "check_resumable", "STORE_FORMAT", "READ_FORMATS",
           "SWEEP_FILES", "MAX_SCENARIOS", "MAX_CHUNKS"]

#: Most scenarios in one sweep (a row each: about 100 GB of Parquet at this size).
MAX_SCENARIOS = 1_000_000_000
#: Most chunks (part files) in one run folder.
MAX_CHUNKS = 1_000_000

#: Version of the sweep's run format; part of every run id. ``/2``: counter-based draws
#: (:mod:`svitlo.engine.batch.draws`); ``/1``: one ``SeedSequence`` per scenario.
STORE_FORMAT = "svitlo-sweep/2"
#: Sweep formats this version reads (reports, queries); only :data:`STORE_FORMAT` is written and resumed.
READ_FORMATS = ("svitlo-sweep/1", STORE_FORMAT)
#: Files a sweep writes into its run folder besides the store's own.
SWEEP_FILES = ("assets.parquet", "risk_curve.parquet", "metrics.parquet", "facilities.parquet",
               "facility_table.parquet", "summary.json")

_SEED_MASK = (1 << 63) - 1  # stored seeds fit a signed 64-bit Parquet column


def scenario_seed(root: int, index: int) -> int:
    """Integer seed of scenario ``index`` under root seed ``root`` (non-negative, < 2**63).

    It is derived from ``SeedSequence(root).spawn(n)[index]`` for any ``n > index``.

    Examples
    --------
    >>> import numpy as np
    >>> child = np.random.SeedSequence(5).spawn(3)[2]
    >>> scenario_seed(5, 2) == int(child.generate_state(1, np.uint64)[0]) & (2**63 - 1)
    True
    """
    child = np.random.SeedSequence(int(root), spawn_key=(int(index),))
    return int(child.generate_state(1, np.uint64)[0]) & _SEED_MASK


# numpy's SeedSequence constants (numpy/random/bit_generator.pyx), for the vectorised seeds below
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT, _POOL = 0xCA01F9DD, 0x4973F715, 16, 4
_M32 = 0xFFFFFFFF


def _words(x: int) -> list[int]:
    out = []
    while True:
        out.append(x & _M32)
        x >>= 32
        if not x:
            return out


def scenario_seeds(root: int, start: int, stop: int) -> np.ndarray:
    """Seeds of scenarios ``start`` … ``stop - 1`` (int64 array), equal to :func:`scenario_seed` one by one.

    ``SeedSequence(root, spawn_key=(i,))``'s hash is applied to all ``i`` at once (uint32 arithmetic, as numpy
    does it), so a chunk of 100,000 seeds costs milliseconds instead of a Python loop.

    Examples
    --------
    >>> scenario_seeds(3, 2**32 - 2, 2**32 + 1).tolist() == [scenario_seed(3, i) for i in range(2**32 - 2, 2**32 + 1)]
    True
    """
    if not 0 <= int(root) <= _SEED_MASK:  # a negative root never ends _words' shift loop
        raise ScenarioError("a seed is 0 … 2**63 - 1", field="seed", value=root)
    n = max(0, int(stop) - int(start))
    if n > MAX_SCENARIOS or not 0 <= int(start) < 2**64 - n:
        raise ScenarioError(f"at most {MAX_SCENARIOS:,} scenarios", field="n", value=n)
    idx = np.arange(int(start), int(start) + n, dtype=np.uint64)
    out = np.empty(n, dtype=np.int64)
    small = idx < (1 << 32)  # one spawn word; larger indices (never in practice) take the exact slow path
    if (~small).any():
        out[~small] = [scenario_seed(root, int(i)) for i in idx[~small]]
    if not small.any():
        return out
    run = _words(int(root))
    run += [0] * max(0, _POOL - len(run))
    with np.errstate(over="ignore"):
        u32 = np.uint32
        ent = [np.full(int(small.sum()), w, dtype=u32) for w in run] + [idx[small].astype(u32)]
        hc = [_INIT_A]

        def hashmix(v):
            v = v ^ u32(hc[0])
            hc[0] = (hc[0] * _MULT_A) & _M32
            v = v * u32(hc[0])
            return v ^ (v >> u32(_XSHIFT))

        def mix(x, y):
            r = x * u32(_MIX_L) - y * u32(_MIX_R)
            return r ^ (r >> u32(_XSHIFT))

        pool = [hashmix(ent[i]) for i in range(_POOL)]
        for i_src in range(_POOL):
            for i_dst in range(_POOL):
                if i_src != i_dst:
                    pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
        for i_src in range(_POOL, len(ent)):
            for i_dst in range(_POOL):
                pool[i_dst] = mix(pool[i_dst], hashmix(ent[i_src]))
        hb = _INIT_B
        words = []
        for i_dst in range(2):  # generate_state(1, np.uint64): two uint32 words, little-endian
            v = pool[i_dst % _POOL] ^ u32(hb)
            hb = (hb * _MULT_B) & _M32
            v = v * u32(hb)
            words.append(v ^ (v >> u32(_XSHIFT)))
    seed = (words[1].astype(np.uint64) << np.uint64(32)) | words[0].astype(np.uint64)
    out[small] = (seed & np.uint64(_SEED_MASK)).astype(np.int64)
    return out


def default_chunk_size(n: int) -> int:
    """Scenarios per part file: about 100 parts for large sweeps, between 2,000 and 20,000 scenarios each
    (smaller parts cost more in task, engine set-up and file overhead than they save on a resume)."""
    return int(min(20_000, max(2_000, -(-n // 100))))


def chunk_bounds(n: int, *, chunk_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of every chunk of a sweep of ``n`` scenarios; chunk ``c`` starts at ``c * chunk_size``."""
    if chunk_size < 1:
        raise ScenarioError("must be at least 1", field="chunk_size", value=chunk_size)
    return [(s, min(n, s + chunk_size)) for s in range(0, n, chunk_size)]


def grid_fingerprint(cg: CompiledGrid) -> str:
    """A short hash of every compiled array that affects results (:attr:`CompiledGrid.fingerprint`)."""
    return cg.fingerprint


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep computes; two plans with the same ``run_id`` produce identical stores.

    Attributes
    ----------
    n
        Number of scenarios.
    root_seed
        Root of the per-scenario seeds.
    chunk_size
        Scenarios per part file (does not change results).
    scenario_json
        The scenario, canonical JSON (without the folder it was read from).
    grid_fingerprint
        :func:`grid_fingerprint` of the compiled grid the scenario resolves to.
    engine_version
        svitlo's version and the evaluation path; results of different versions are never mixed.
    """

    n: int
    root_seed: int
    chunk_size: int
    scenario_json: str
    grid_fingerprint: str
    engine_version: str

    @property
    def run_id(self) -> str:
        """Hash of scenario (and its grid), ``n``, root seed, engine version and store format."""
        key = json.dumps({"format": STORE_FORMAT, "scenario": json.loads(self.scenario_json),
                          "grid": self.grid_fingerprint, "n": self.n, "root_seed": self.root_seed,
                          "engine": self.engine_version}, sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    def run_spec(self) -> RunSpec:
        """The run store's description of this sweep (manifest fields as before: root seed, engine version,
        grid fingerprint, scenario)."""
        return RunSpec(format=STORE_FORMAT, run_id=self.run_id, n=self.n, chunk_size=self.chunk_size,
                       identity={"root_seed": self.root_seed, "engine_version": self.engine_version,
                                 "grid_fingerprint": self.grid_fingerprint,
                                 "scenario": json.loads(self.scenario_json)},
                       key="scenario", files=SWEEP_FILES)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of every chunk."""
        return chunk_bounds(self.n, chunk_size=self.chunk_size)


def read_sweep_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a sweep run folder (``StoreError`` when the folder is not one)."""
    man = read_manifest(path, formats=READ_FORMATS, what="sweep run")
    rs = man.get("root_seed")
    if not isinstance(rs, int) or isinstance(rs, bool) or rs < 0:
        raise RunFolderError("expected a non-negative integer", source=str(Path(path) / "manifest.json"),
                             field="root_seed", value=rs)
    return man


def check_resumable(path: str | os.PathLike) -> None:
    """Refuse, before any work, to resume a run folder written in an older sweep format (its strikes were drawn
    another way, so new rows would not belong to it); a folder without a manifest passes.

    >>> import tempfile, json, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.json").write_text(json.dumps({"format": "svitlo-sweep/1"}))
    >>> try:
    ...     check_resumable(d)
    ... except RunFolderError as exc:
    ...     print(exc.field, exc.value)
    format svitlo-sweep/1
    """
    p = Path(path) / "manifest.json"
    try:
        if not p.is_file():
            return
        fmt = json.loads(p.read_text(encoding="utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        return  # the store reports a damaged manifest itself
    if fmt in READ_FORMATS and fmt != STORE_FORMAT:
        raise RunFolderError(f"this run was written in sweep format {fmt} (strikes drawn one SeedSequence per "
                             f"scenario); this svitlo writes {STORE_FORMAT} (counter-based draws) and cannot "
                             "resume it. Its rows stay readable with `svitlo report`; start the sweep in a new "
                             "folder", source=str(p), field="format", value=fmt)


def make_plan(scenario: Scenario, cg: CompiledGrid, *, n: int, root_seed: int | None = None,
              chunk_size: int | None = None, engine: str = "loop") -> SweepPlan:
    """Validate the sweep size and build its plan (root seed defaults to the scenario's ``seed``).

    ``engine`` names the evaluation path (``"batch"`` or ``"loop"``); with svitlo's version it forms the
    engine version, so rows of different engines never mix in one run.

    Examples
    --------
    >>> import svitlo
    >>> from svitlo.model.compiled import compile_grid
    >>> sc = svitlo.parse_scenario({"grid": "case9", "strikes": [{"random": {"k": 1}}]})
    >>> p = make_plan(sc, compile_grid(svitlo.load_grid("case9")), n=10)
    >>> p.n, p.root_seed, len(p.chunks), len(p.run_id)
    (10, 0, 1, 20)
    """
    from svitlo._version import __version__

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= MAX_SCENARIOS:
        raise ScenarioError(f"the number of scenarios must be an integer from 1 to {MAX_SCENARIOS:,}", field="n",
                            value=n)
    root = scenario.seed if root_seed is None else root_seed
    if not 0 <= int(root) <= _SEED_MASK:
        raise ScenarioError("the root seed must be an integer from 0 to 2**63 - 1", field="seed", value=root)
    cs = default_chunk_size(int(n)) if chunk_size is None else int(chunk_size)
    if cs < 1:
        raise ScenarioError("must be at least 1", field="chunk_size", value=chunk_size)
    if -(-int(n) // cs) > MAX_CHUNKS:
        raise ScenarioError(f"{-(-int(n) // cs):,} chunks (part files); at most {MAX_CHUNKS:,}: choose a larger "
                            "chunk size", field="chunk_size", value=cs)
    sc_json = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    return SweepPlan(n=int(n), root_seed=int(root), chunk_size=cs, scenario_json=sc_json,
                     grid_fingerprint=grid_fingerprint(cg), engine_version=f"{__version__}+{engine}")
