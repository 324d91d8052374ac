"""Local and global p-values from upper-limit distributions (method doc §9, ``rL.C``).

Local: at an observed mass M on the band grid, p_loc = #{pseudo-experiments with
g_UL(M) >= g_UL,obs(M)} / #{pseudo-experiments}, read from the band histogram with one-bin
granularity (from bin int((g_obs - x_min)/w + 0.5) to the last bin; total = underflow + all
bins, the overflow is excluded) with a 68 % Clopper-Pearson interval. Observed masses
0.02 MeV off the band grid get ``TGraph::Eval`` interpolation of the coincident points (only
where the observed limit is below 1.02e-3).

Global: 48 thresholds in band units d (16 per zone: median -> +1 sigma, +1 -> +2 sigma, then
m + (1 + k/8)(u2 - m)); trueProb(d) = fraction of pseudo-experiments exceeding the threshold at
least once in the look-elsewhere window (Clopper-Pearson errors at the TEfficiency default
level). The observed limit's deviation dev(M) in the same units gives
p_glob = trueProb(dev) (``TGraph::Eval``, extrapolating below 0, capped at 1) and
Z = Phi^-1(1 - p). The quoted global significance is the one at the largest deviation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaincinv, ndtri

from x17scan.stats.padme_run3.bands import Band
from x17scan.stats.padme_run3.config import PadmeRun3Config
from x17scan.stats.padme_run3.limits import tgraph_eval

F64 = NDArray[np.float64]


def clopper_pearson(total: float, passed: float, level: float) -> tuple[float, float]:
    """TEfficiency::ClopperPearson interval (lower, upper) for ``passed`` out of ``total``."""
    if total <= 0:
        return 0.0, 1.0
    a = (1.0 - level) / 2.0
    lo = 0.0 if passed <= 0 else float(betaincinv(passed, total - passed + 1, a))
    hi = 1.0 if passed >= total else float(betaincinv(passed + 1, total - passed, 1.0 - a))
    return lo, hi


def z_from_p(p: float) -> float:
    """One-sided Z = Phi^-1(1 - p); -5 for p >= 1 (as rL.C), +inf for p <= 0."""
    if not np.isfinite(p):
        return float("nan")
    if p >= 1.0:
        return -5.0
    if p <= 0.0:
        return float("inf")
    return float(-ndtri(p))


@dataclass
class LocalP:
    """Local p-values at observed masses (sorted by mass)."""

    mass: F64
    p: F64
    p_lo: F64        # lower end of the 68 % interval
    p_hi: F64
    interpolated: NDArray[np.bool_]

    @property
    def z(self) -> F64:
        return np.array([z_from_p(p) for p in self.p])


def local_pvalues(obs_mass: F64, obs_limit: F64, band: Band, cfg: PadmeRun3Config,
                  pe_limits: F64 | None = None, mode: str = "root") -> LocalP:
    """Local p at the observed masses with a limit, within ``cfg.pvalue_mass_range``.

    ``mode="root"``: rL.C's histogram count (one-bin granularity: with the histogram range set
    by the extreme limits of all masses, a bin can be ~10 % of a typical limit wide);
    ``mode="exact"``: the fraction of pseudo-experiments (``pe_limits`` (n_pe, n_band)) with a
    finite limit >= the observed one.
    """
    if mode not in ("root", "exact"):
        raise ValueError(f"unknown local p mode {mode!r}")
    if mode == "exact" and pe_limits is None:
        raise ValueError("mode='exact' needs the pseudo-experiment limits")
    lo_m, hi_m = cfg.pvalue_mass_range
    have = np.isfinite(obs_limit)
    om, ol = np.asarray(obs_mass)[have], np.asarray(obs_limit)[have]
    xs, ps, pl, ph, interp = [], [], [], [], []
    for m, lim in zip(om, ol, strict=True):
        if m < lo_m or m > hi_m:
            continue
        d = np.abs(m - band.mass)
        k = int(np.argmin(d))
        if d[k] < 1e-6:
            if mode == "root":
                h = band.histograms[k]
                ixmin = int((lim - h.xmin) / h.width + 0.5)
                total = h.integral(0, h.nbins)
                passed = h.integral(ixmin, h.nbins)
            else:
                col = np.asarray(pe_limits)[:, k]
                col = col[np.isfinite(col)]
                total, passed = float(col.size), float((col >= lim).sum())
            p = passed / total if total > 0 else float("nan")
            c_lo, c_hi = clopper_pearson(total, passed, cfg.local_p_cl)
            xs.append(m)
            ps.append(p)
            pl.append(c_lo)
            ph.append(c_hi)
            interp.append(False)
    # error graphs hold the coincident points only; the central graph grows as rL.C appends
    xc, lc, hc = list(xs), list(pl), list(ph)
    for m, lim in zip(om, ol, strict=True):
        if m < lo_m or m > hi_m:
            continue
        dmin = float(np.min(np.abs(m - band.mass)))
        if 1e-3 < dmin < 40e-3 and lim < cfg.interp_max_limit:
            p = tgraph_eval(np.array(xs), np.array(ps), m)
            xs.append(m)
            ps.append(p)
            pl.append(tgraph_eval(np.array(xc), np.array(lc), m))
            ph.append(tgraph_eval(np.array(xc), np.array(hc), m))
            interp.append(True)
    o = np.argsort(xs, kind="stable")
    arr = lambda a: np.asarray(a, dtype=np.float64)[o]  # noqa: E731
    return LocalP(mass=arr(xs), p=arr(ps), p_lo=arr(pl), p_hi=arr(ph),
                  interpolated=np.asarray(interp, dtype=bool)[o])


def lee_units() -> F64:
    """The 48 band-unit abscissae d: k/16, 1 + k/16, 2 + k/4 (k = 0..15)."""
    k = np.arange(16)
    return np.concatenate([k / 16.0, 1.0 + k / 16.0, 2.0 + k * 0.25])


def lee_thresholds(median: F64, plus1: F64, plus2: F64) -> F64:
    """Thresholds (48, n_mass) in band units (rL.C zones 0, 1, 2)."""
    k = np.arange(16)[:, None]
    z0 = median + (plus1 - median) * (k / 16.0)
    z1 = median + (plus1 - median) + ((plus2 - median) - (plus1 - median)) * (k / 16.0)
    z2 = median + (plus2 - median) * (1.0 + k / 8.0)
    return np.concatenate([z0, z1, z2], axis=0)


@dataclass
class TrueProb:
    """trueProb(d) with Clopper-Pearson errors, from the pseudo-experiments."""

    d: F64
    p: F64
    p_up: F64       # p + upper error (rL.C TrueProb-1)
    p_down: F64     # p - lower error (rL.C TrueProb1)
    n_exceed: F64
    n_pseudo: int


def true_prob(band: Band, pe_limits: F64, cfg: PadmeRun3Config) -> TrueProb:
    """Fraction of pseudo-experiments exceeding each threshold somewhere in the LEE window."""
    w_lo, w_hi = cfg.lee_window
    sel = (band.mass >= w_lo) & (band.mass <= w_hi)
    q = band.quantiles
    thr = lee_thresholds(q["median"][sel], q["plus1"][sel], q["plus2"][sel])   # (48, k)
    lim = np.asarray(pe_limits)[:, sel]                                         # (npe, k)
    with np.errstate(invalid="ignore"):
        outside = (lim[:, None, :] > thr[None, :, :]).any(axis=2)               # (npe, 48)
    n_exc = outside.sum(0).astype(np.float64)
    npe = lim.shape[0]
    p = n_exc / npe
    up = np.empty_like(p)
    dn = np.empty_like(p)
    for j in range(p.size):
        lo, hi = clopper_pearson(npe, n_exc[j], cfg.global_p_cl)
        up[j], dn[j] = hi, lo
    return TrueProb(d=lee_units(), p=p, p_up=up, p_down=dn, n_exceed=n_exc, n_pseudo=npe)


def deviation(delta: float, s1: float, s2: float) -> float:
    """Observed limit's deviation in band units (s1 = u1 - m, s2 = u2 - m)."""
    if 0 < delta < s1:
        return delta / s1
    if delta > 0 and delta < s2:
        return 1.0 + (delta - s1) / (s2 - s1)
    if delta > 0:
        return delta / s2 * 2.0
    return delta / s1


@dataclass
class GlobalP:
    """Global p-values at the observed masses (within the p-value range) and the maximum."""

    mass: F64
    dev: F64
    p: F64
    p_lo: F64
    p_hi: F64
    z: F64
    z_lo: F64
    z_hi: F64
    i_max: int
    trueprob: TrueProb
    extra: dict = field(default_factory=dict)


def global_pvalues(obs_mass: F64, obs_limit: F64, band: Band, pe_limits: F64,
                   cfg: PadmeRun3Config) -> GlobalP:
    """Deviation, global p and Z at each observed mass with a limit; index of the largest."""
    tp = true_prob(band, pe_limits, cfg)
    lo_m, hi_m = cfg.pvalue_mass_range
    bm = band.mass
    q = band.quantiles
    out = {k: [] for k in ("m", "dev", "p", "plo", "phi", "z", "zlo", "zhi")}
    i_max, dev_max = -1, -np.inf
    for m, lim in zip(obs_mass, obs_limit, strict=True):
        if not np.isfinite(lim):
            continue
        med = tgraph_eval(bm, q["median"], m)
        u1 = tgraph_eval(bm, q["plus1"], m)
        u2 = tgraph_eval(bm, q["plus2"], m)
        dev = deviation(lim - med, u1 - med, u2 - med)
        if m < lo_m or m > hi_m:
            continue
        p_raw = tgraph_eval(tp.d, tp.p, dev)
        p = min(p_raw, 1.0)
        p_hi = tgraph_eval(tp.d, tp.p_up, dev)
        p_lo = tgraph_eval(tp.d, tp.p_down, dev)
        out["m"].append(m)
        out["dev"].append(dev)
        out["p"].append(p)
        out["plo"].append(p_lo)
        out["phi"].append(p_hi)
        out["z"].append(z_from_p(p))
        # a larger p means a smaller Z
        out["zlo"].append(z_from_p(min(p_hi, 1.0)))
        out["zhi"].append(z_from_p(min(max(p_lo, 0.0), 1.0)))
        if dev > dev_max:
            dev_max = dev
            i_max = len(out["m"]) - 1
    a = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    return GlobalP(mass=a["m"], dev=a["dev"], p=a["p"], p_lo=a["plo"], p_hi=a["phi"], z=a["z"],
                   z_lo=a["zlo"], z_hi=a["zhi"], i_max=i_max, trueprob=tp)
