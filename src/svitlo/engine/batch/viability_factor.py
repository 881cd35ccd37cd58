"""A :class:`~svitlo.engine.batch.factor.BatchFactor` extended with the viability feature columns.

The intact factorisation is reused (the dense inverse ``Z`` is the expensive part); features, intact-component
coefficients, angle images and intact angles are rebuilt with the columns of
:mod:`~svitlo.engine.batch.viability_rule` and the schedule clipped to ``[p_min, p_max]``. Cached per grid,
factor and options.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from svitlo.engine.batch.factor import BatchFactor, gen_features
from svitlo.engine.batch.island_rule import n_features
from svitlo.engine.batch.viability_rule import (
    GFCAP,
    IBRP0,
    KE,
    N_VCOLS,
    NGEN,
    NGFINF,
    NKEINF,
    P0,
    PMIN,
    PMINE,
    SB,
    island_rule_v,
)
from svitlo.engine.dispatch import external_units
from svitlo.engine.viability import ViabilityOptions, effective_p_min, pre_event, unit_inertia_mws
from svitlo.model.compiled import CompiledGrid

__all__ = ["viability_factor"]

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _features(cg: CompiledGrid, fac: BatchFactor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nt = fac.n_tiers
    nf0 = n_features(nt)
    v0 = nf0
    g_ok = fac.gen_alive0
    pmax = np.maximum(cg.gen_p_max_mw, 0.0)
    fin = np.isfinite(pmax)
    pmin = effective_p_min(cg)
    ext = external_units(cg)
    ke = unit_inertia_mws(cg)
    g0, l0 = pre_event(cg)
    fg = np.zeros((cg.n_gen, nf0 + N_VCOLS))
    fg[:, :nf0] = fac.feat_gen
    gen_features(cg, fg, pmin)
    fg[:, v0 + PMIN] = np.where(ext, 0.0, pmin)
    fg[:, v0 + PMINE] = np.where(ext, pmin, 0.0)
    fg[:, v0 + GFCAP] = np.where(cg.gen_forms_island & fin, pmax, 0.0)
    fg[:, v0 + NGFINF] = cg.gen_forms_island & ~fin
    fg[:, v0 + KE] = np.where(np.isfinite(ke), ke, 0.0)
    fg[:, v0 + NKEINF] = np.isinf(ke)
    fg[:, v0 + SB] = np.where((ke > 0) & fin, pmax, 0.0)
    fg[:, v0 + P0] = g0
    fg[:, v0 + NGEN] = 1.0
    fg[:, v0 + IBRP0] = np.where((ke == 0) & fin, g0, 0.0)
    fg[~g_ok] = 0.0
    fl = np.zeros((cg.n_load, nf0 + N_VCOLS))
    fl[:, :nf0] = fac.feat_load
    fl[:, v0 + P0] = np.where(fac.load_alive0, l0, 0.0)
    feat = np.zeros((cg.n_bus, nf0 + N_VCOLS))
    np.add.at(feat, cg.gen_bus, fg)
    np.add.at(feat, cg.load_bus, fl)
    return feat, fg, fl


def viability_factor(cg: CompiledGrid, fac: BatchFactor, opts: ViabilityOptions) -> BatchFactor:
    """``fac`` with the viability features and the intact state under the viability rule (pure, cached)."""
    key = (id(fac), opts)
    per = _CACHE.setdefault(cg, {})
    if key in per:
        return per[key]
    nt = fac.n_tiers
    feat, fg, fl = _features(cg, fac)
    nf = feat.shape[1]
    bus_ok = fac.bus_alive0
    n_comp = fac.comp_size.size
    feat_comp = np.zeros((n_comp, nf))
    np.add.at(feat_comp, fac.bus_comp[bus_ok], feat[bus_ok])
    from svitlo.engine.batch import viability_params

    vp = viability_params(opts, np.unique(cg.load_tier).astype(np.int64))
    coef0 = np.zeros((n_comp, nf))
    comp_out = np.zeros((n_comp, 7))
    comp_frac = np.zeros((n_comp, max(nt, 1)))
    ok = fac.intact_ok
    for c in range(n_comp):
        ok &= island_rule_v(feat_comp[c], nt, vp, coef0[c], comp_frac[c], comp_out[c]) == 0
    p0 = np.zeros(cg.n_bus)
    p0[bus_ok] = np.einsum("ij,ij->i", feat[bus_ok], coef0[fac.bus_comp[bus_ok]])
    rhs = p0 / cg.base_mva - np.asarray(cg.incidence.T @ fac.br_pfinj_pu).ravel()
    rhs[~bus_ok] = 0.0
    z = fac.Z
    theta0 = rhs @ z.astype(np.float64, copy=False)
    big = np.flatnonzero(fac.comp_img >= 0)
    img: np.ndarray = np.zeros((big.size, nf, cg.n_bus), dtype=fac.dtype)
    for comp in big.tolist():
        fc = np.where((fac.bus_comp == comp)[:, None], feat, 0.0) / cg.base_mva
        img[fac.comp_img[comp]] = fc.T.astype(fac.dtype) @ z
    out = dataclasses.replace(fac, feat=feat, feat_gen=fg, feat_load=fl, feat_comp=feat_comp, img=img,
                              theta0=np.asarray(theta0, dtype=np.float64), coef0=coef0, comp_out=comp_out,
                              comp_frac=comp_frac, intact_ok=bool(ok))
    per[key] = out
    return out
