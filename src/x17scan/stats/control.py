"""Control regions: stability of R = N/(PoT B) away from the signal region.

Descriptive checks of the normalisation (the seeds' off-resonance studies: "RMS ~0.7 %, good
chi^2 of the constant fit"): weighted constant and straight-line fits of R versus sqrt(s), with
chi^2/ndf, p-value, pulls and the RMS of the relative residuals. The point errors here are the
usual observed ones, sigma_R/R = sqrt(1/N + (dPoT/PoT)^2 + (dB/B)^2) (fixed weights: these fits
are linear least squares, cross-checked against ``numpy.polyfit``); the likelihood of the
signal search uses model-expectation variances instead.

Regions of a :class:`~x17scan.data.ScanTable` (:func:`control_regions`):

* ``below``: points not used in the fit, below the scanned range (PADME: 5 points at
  sqrt(s) ~ 14.5-14.8 MeV);
* ``above``: points not used in the fit, above the scanned range (PADME: the 5 excluded
  high-intensity/new-optics points);
* ``sidebands``: used points outside a signal window (default 16.6-17.2 MeV, the ATOMKI-
  favoured region that PADME also used as its look-elsewhere window).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import chi2 as chi2_dist

from x17scan.physics.constants import SQRTS_PIVOT_PADME

DEFAULT_SIGNAL_WINDOW = (16.6, 17.2)
"""sqrt(s) window (MeV) excluded from the side bands."""


def _wls(x: np.ndarray, y: np.ndarray, err: np.ndarray, degree: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares polynomial (coefficients lowest order first) and covariance."""
    a = np.vander(x, degree + 1, increasing=True) / err[:, None]
    cov = np.linalg.inv(a.T @ a)
    coef = cov @ (a.T @ (y / err))
    return coef, cov


def stability_fits(sqrt_s: ArrayLike, ratio: ArrayLike, ratio_err: ArrayLike,
                   pivot: float = SQRTS_PIVOT_PADME) -> dict[str, Any]:
    """Constant and straight-line fits of ``ratio`` (R) versus ``sqrt_s`` (MeV).

    Returns ``{"constant": {...}, "linear": {...}}``; each fit has its parameters and errors,
    ``chi2``, ``ndf``, ``p`` (chi^2 probability), ``pulls`` ((R - fit)/sigma), ``rms_rel``
    (RMS of (R - fit)/fit), ``curve`` (fit at the points). The line is p0 + p1 (sqrt_s - pivot),
    p1 in 1/MeV. A fit without degrees of freedom is left out (``None``).
    """
    s = np.asarray(sqrt_s, dtype=float)
    r = np.asarray(ratio, dtype=float)
    e = np.asarray(ratio_err, dtype=float)
    out: dict[str, Any] = {"n_points": int(s.size), "pivot_MeV": pivot,
                           "expected_rms_rel": float(np.sqrt(np.mean((e / r) ** 2)))
                           if s.size else None}
    for kind, deg in (("constant", 0), ("linear", 1)):
        if s.size < deg + 2:
            out[kind] = None
            continue
        coef, cov = _wls(s - pivot, r, e, deg)
        curve = np.polynomial.polynomial.polyval(s - pivot, coef)
        pulls = (r - curve) / e
        chi2 = float((pulls ** 2).sum())
        ndf = int(s.size - deg - 1)
        fit: dict[str, Any] = {
            "chi2": chi2, "ndf": ndf, "p": float(chi2_dist.sf(chi2, ndf)),
            "pulls": pulls, "rms_rel": float(np.sqrt(np.mean(((r - curve) / curve) ** 2))),
            "curve": curve, "p0": float(coef[0]), "p0_err": float(np.sqrt(cov[0, 0]))}
        if deg == 1:
            fit.update(p1=float(coef[1]), p1_err=float(np.sqrt(cov[1, 1])),
                       rho01=float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])))
        out[kind] = fit
    return out


def ratio_and_error(table: Any) -> tuple[np.ndarray, np.ndarray]:
    """R = N/(PoT B) and its observed error R sqrt(1/N + (dPoT/PoT)^2 + (dB/B)^2)."""
    r = table.n_obs / (table.pot * table.bkg_per_pot)
    rel2 = (1.0 / np.maximum(table.n_obs, 1.0) + (table.pot_err / table.pot) ** 2
            + (table.bkg_per_pot_err / table.bkg_per_pot) ** 2)
    return r, r * np.sqrt(rel2)


def control_regions(table: Any, signal_window: tuple[float, float] = DEFAULT_SIGNAL_WINDOW,
                    pivot: float = SQRTS_PIVOT_PADME) -> dict[str, Any]:
    """Stability fits in the control regions of ``table`` (module docstring), as the
    ``control`` block of a :class:`~x17scan.stats.result.Result`:
    ``{"regions": {name: {"label", "sqrt_s", "ratio", "ratio_err", "period", "constant",
    "linear", ...}}, "signal_window_MeV": [lo, hi]}``. Empty regions are omitted."""
    r, dr = ratio_and_error(table)
    out = control_regions_arrays(table.sqrt_s, table.used, r, dr, table.period, signal_window,
                                 pivot)
    out["error_model"] = "observed: R sqrt(1/N + (dPoT/PoT)^2 + (dB/B)^2)"
    return out


def control_regions_arrays(sqrt_s: ArrayLike, used: ArrayLike, ratio: ArrayLike,
                           ratio_err: ArrayLike, period: ArrayLike | None = None,
                           signal_window: tuple[float, float] = DEFAULT_SIGNAL_WINDOW,
                           pivot: float = SQRTS_PIVOT_PADME) -> dict[str, Any]:
    """:func:`control_regions` for any per-point ratio (e.g. the PoT-free N_ee/N_gg)."""
    s = np.asarray(sqrt_s, dtype=float)
    used = np.asarray(used, dtype=bool)
    r, dr = np.asarray(ratio, dtype=float), np.asarray(ratio_err, dtype=float)
    per = np.arange(s.size) if period is None else np.asarray(period)
    su = s[used]
    lo, hi = signal_window
    masks = {
        "below": (~used & (s < su.min()), "below the scan (not in the fit)"),
        "above": (~used & (s > su.max()), "above the scan (not in the fit)"),
        "sidebands": (used & ((s < lo) | (s > hi)),
                      f"side bands (fit points outside {lo:g}-{hi:g} MeV)"),
    }
    regions: dict[str, Any] = {}
    for name, (mask, label) in masks.items():
        if not mask.any():
            continue
        reg: dict[str, Any] = {"label": label, "sqrt_s": s[mask], "ratio": r[mask],
                               "ratio_err": dr[mask], "period": per[mask]}
        reg.update(stability_fits(s[mask], r[mask], dr[mask], pivot))
        regions[name] = reg
    return {"regions": regions, "signal_window_MeV": [lo, hi]}
