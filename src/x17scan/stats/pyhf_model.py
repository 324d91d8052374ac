"""pyhf (HistFactory JSON) version of the scan likelihood at one mass, for interchange.

One channel, one bin per used point. Samples and modifiers:

* ``bkg_lo``, ``bkg_hi``: nominal b_i (1 - t_i) and b_i t_i, t_i = (sqrt s_i - sqrt s_min) /
  (sqrt s_max - sqrt s_min), with free normfactors ``c_lo``, ``c_hi``: their sum is exactly the
  linear K curve b_i K(sqrt s_i), k0 + k1 x = c_lo + (c_hi - c_lo) t; both carry ``nu_i``;
* ``signal_lo``, ``signal_hi``: nominal ``mu_ref * s_i`` (s_i = PoT eps Y per g^2) split the
  same way and scaled by the same ``c_lo``, ``c_hi``, so that K multiplies the signal exactly as
  in x17scan, with the normfactor ``mu`` (the POI: g_ve^2 = mu * mu_ref), ``histosys`` for each
  signal-shape nuisance (the -1/+1 sigma templates; the normalisation as a symmetric histosys),
  and per point the histosys ``nu_i`` (PoT x B normalisation, +-sigma_i in bin i) and ``eff_i``
  (efficiency, +-tau_i in bin i).

All histosys have unit-Gaussian constraints, as in x17scan. Where the mapping is approximate
(use pyhf as a cross-check, not as the reference):

* pyhf adds histosys variations and multiplies normfactors: the signal is
  mu K (s + d_shape + d_norm + s sigma_i u_i + s tau_i v_i) instead of x17scan's
  mu K (1 + sigma_i u_i)(1 + tau_i v_i)(1 + r theta)(s + d_shape): equal to first order in
  the nuisances;
* shape interpolation: pyhf's default piecewise-linear ``histosys`` ``code0`` (exact for the
  per-point and normalisation nuisances, which are linear); x17scan interpolates the line-shape
  nuisances quadratically (a second-order difference). pyhf 0.7.6's quadratic ``code2`` is not
  usable here: it is discontinuous at |alpha| = 1 (scikit-hep/pyhf#2729) and its fast path is
  wrong for alpha < -1 (scikit-hep/pyhf#2610, fixed after 0.7.6), and per-point nuisances
  routinely exceed 1 sigma;
* only the free K curve is expressible (pyhf normfactors have no constraint term): a
  constrained K curve is refused;
* n_obs may be non-integer (pyhf's Poisson is the same continuous extension).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from x17scan.errors import InputError
from x17scan.stats.signal import SignalModel


def workspace(table: Any, signal_model: SignalModel, mass: float, *,
              mu_ref: float | None = None, efficiency: str = "per-point",
              background: str = "free", name: str = "x17scan", with_info: bool = False) -> Any:
    """HistFactory workspace (a JSON-able dict, pyhf schema 1.0.0) of the used points of
    ``table`` for the boson ``mass`` (MeV) (module docstring). ``mu_ref``: g^2 scale of the
    signal sample (default: about the expected sensitivity); the POI ``mu`` is g^2 / mu_ref.
    ``with_info``: return ``(workspace, info)`` with ``info`` holding mu_ref and the mapping
    (the workspace schema has no place for it)."""
    if background != "free":
        raise InputError("only the free K curve can be written as a pyhf model",
                         field="background",
                         fix="use background='free' (pyhf normfactors cannot be constrained)")
    t = table.fit_points()
    ts = signal_model.variations(t, [float(mass)])
    s0 = ts.nominal[0]
    pot, bpp = np.asarray(t.pot, float), np.asarray(t.bkg_per_pot, float)
    b = pot * bpp
    sig = np.hypot(t.pot_err / pot, t.bkg_per_pot_err / bpp)
    eff = np.asarray(t.sig_eff, float)
    tau = np.divide(t.sig_eff_err, eff, out=np.zeros(len(t)), where=eff > 0)
    if mu_ref is None:
        v = b * (1 + b * sig ** 2)
        mu_ref = float(1.0 / np.sqrt(max((s0 ** 2 / v).sum(), 1e-300)))
    s = mu_ref * s0
    x = np.asarray(t.sqrt_s, float)
    tt = (x - x.min()) / (x.max() - x.min())
    n = len(t)

    def per_point(nominal: np.ndarray, rel: np.ndarray, prefix: str) -> list[dict[str, Any]]:
        mods = []
        for i in range(n):
            if rel[i] <= 0 or nominal[i] == 0:
                continue
            hi, lo = nominal.copy(), nominal.copy()
            hi[i] *= 1 + rel[i]
            lo[i] *= 1 - rel[i]
            mods.append({"name": f"{prefix}_{i}", "type": "histosys",
                         "data": {"hi_data": hi.tolist(), "lo_data": lo.tolist()}})
        return mods

    def signal_sample(name: str, w: np.ndarray, k_name: str) -> dict[str, Any]:
        # the signal is split like the background so that K multiplies it exactly
        sw = s * w
        mods: list[dict[str, Any]] = [{"name": "mu", "type": "normfactor", "data": None},
                                      {"name": k_name, "type": "normfactor", "data": None}]
        if ts.norm_rel > 0:
            mods.append({"name": ts.norm_name, "type": "histosys",
                         "data": {"hi_data": (sw * (1 + ts.norm_rel)).tolist(),
                                  "lo_data": (sw * (1 - ts.norm_rel)).tolist()}})
        for j, nm in enumerate(ts.shape_names):
            mods.append({"name": nm, "type": "histosys",
                         "data": {"hi_data": (mu_ref * ts.up[0, j] * w).tolist(),
                                  "lo_data": (mu_ref * ts.down[0, j] * w).tolist()}})
        mods += per_point(sw, sig, "nu")
        if efficiency == "per-point":
            mods += per_point(sw, tau, "eff")
        return {"name": name, "data": sw.tolist(), "modifiers": mods}

    b_lo, b_hi = b * (1 - tt), b * tt
    samples = [
        signal_sample("signal_lo", 1 - tt, "c_lo"),
        signal_sample("signal_hi", tt, "c_hi"),
        {"name": "bkg_lo", "data": b_lo.tolist(),
         "modifiers": [{"name": "c_lo", "type": "normfactor", "data": None},
                       *per_point(b_lo, sig, "nu")]},
        {"name": "bkg_hi", "data": b_hi.tolist(),
         "modifiers": [{"name": "c_hi", "type": "normfactor", "data": None},
                       *per_point(b_hi, sig, "nu")]},
    ]
    spec = {
        "version": "1.0.0",
        "channels": [{"name": "scan", "samples": samples}],
        "observations": [{"name": "scan", "data": np.asarray(t.n_obs, float).tolist()}],
        "measurements": [{"name": name, "config": {"poi": "mu", "parameters": [
            {"name": "mu", "bounds": [[0.0, 100.0]], "inits": [1.0]},
            {"name": "c_lo", "bounds": [[0.5, 1.5]], "inits": [1.0]},
            {"name": "c_hi", "bounds": [[0.5, 1.5]], "inits": [1.0]}]}}],
    }
    if not with_info:
        return spec
    info = {"mass_MeV": float(mass), "mu_ref": mu_ref, "poi": "mu = g_ve^2 / mu_ref",
            "sqrt_s_MeV": x.tolist(),
            "k_curve": "K = c_lo (1 - t) + c_hi t, t = (sqrt s - "
                       f"{x.min():.6f}) / {x.max() - x.min():.6f} MeV",
            "signal_model": signal_model.describe(), "dataset": table.name}
    return spec, info


def pyhf_model(ws: dict[str, Any]) -> tuple[Any, Any]:
    """(pyhf model, data) of a :func:`workspace` (piecewise-linear ``code0`` histosys, see the
    module docstring)."""
    import pyhf

    w = pyhf.Workspace(ws)
    model = w.model(modifier_settings={"normsys": {"interpcode": "code4"},
                                       "histosys": {"interpcode": "code0"}})
    return model, w.data(model)
