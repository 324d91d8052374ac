"""Upper limit on g from the CL_s(g) graph (method doc §7, PADME's ``ReadOutput``).

Per mass: if CL_s at the largest g is below 0.7, fit f(g) = p0 [1 - tanh((g - p1)/p2)] to the
CL_s points (range 0.5e-4..1e-3, start (0.5, 2e-4, 2e-4), limits p0 in [0, 10], p1 in
[0, 1e-3], p2 in [0.5e-4, 1e-3]) and solve f = alpha:

    g_UL = p2 atanh(1 - alpha/p0) + p1                        (alpha = 0.10 for 90 % CL)

If the fit is not valid, invert the graph (CL_s -> g) and interpolate linearly at alpha like
``TGraph::Eval``. Masses failing the 0.7 condition get no limit (NaN, reported as missing).

The fit reproduces ROOT's chi2 for a TGraphAsymmErrors without x errors (FitUtil
``EvaluateChi2Effective``): each point uses its *upper* error when the curve lies above it and
its *lower* error otherwise, and a point whose relevant error is 0 gets zero weight
(``tanh_errors="mean"`` uses (low + high)/2 instead). Bounded parameters go through Minuit's
sine transformation p = a + (b - a)(sin u + 1)/2; the minimisation is a batched
Levenberg-Marquardt over all masses at once; "valid" means converged with an EDM below
Minuit's default goal 0.002 * 0.01 (ROOT's default tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from x17scan.stats.padme_run3.cls import CLsGraph
from x17scan.stats.padme_run3.config import PadmeRun3Config

F64 = NDArray[np.float64]

MINUIT_EDM_GOAL = 0.002 * 0.01


def tanh_model(g: F64, p: F64) -> F64:
    """f(g) = p0 [1 - tanh((g - p1)/p2)]; ``p`` (..., 3) broadcast against g (..., K)."""
    return p[..., 0:1] * (1.0 - np.tanh((g - p[..., 1:2]) / p[..., 2:3]))


def invert_tanh(p: F64, alpha: float) -> F64:
    """g with f(g) = alpha: p2 atanh(1 - alpha/p0) + p1 (NaN if no solution)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return p[..., 2] * np.arctanh(1.0 - alpha / p[..., 0]) + p[..., 1]


def _to_u(p: F64, lo: F64, hi: F64) -> F64:
    return np.arcsin(np.clip(2.0 * (p - lo) / (hi - lo) - 1.0, -1.0, 1.0))


def _to_p(u: F64, lo: F64, hi: F64) -> F64:
    return lo + (hi - lo) * 0.5 * (np.sin(u) + 1.0)


def _resid_jac(u, g, y, elo, ehi, mask, lo, hi, mode):
    p = _to_p(u, lo, hi)
    a = (g - p[:, 1:2]) / p[:, 2:3]
    t = np.tanh(a)
    sech2 = 1.0 - t * t
    f = p[:, 0:1] * (1.0 - t)
    d = y - f
    if mode == "root":
        e = np.where(d < 0, ehi, elo)
    else:
        e = 0.5 * (elo + ehi)
    with np.errstate(divide="ignore"):
        wt = np.where(mask & (e > 0), 1.0 / np.where(e > 0, e, 1.0), 0.0)
    r = np.where(wt > 0, d * wt, 0.0)
    dpdu = (hi - lo) * 0.5 * np.cos(u)
    J = np.empty((*g.shape, 3))
    J[..., 0] = -(1.0 - t) * wt * dpdu[:, 0:1]
    J[..., 1] = -(p[:, 0:1] * sech2 / p[:, 2:3]) * wt * dpdu[:, 1:2]
    J[..., 2] = -(p[:, 0:1] * sech2 * a / p[:, 2:3]) * wt * dpdu[:, 2:3]
    return r, J


@dataclass
class TanhFit:
    """Batched tanh fits: parameters (M, 3), chi2, EDM, validity."""

    params: F64
    chi2: F64
    edm: F64
    valid: NDArray[np.bool_]


def fit_tanh(g: F64, y: F64, elo: F64, ehi: F64, mask: NDArray[np.bool_],
             cfg: PadmeRun3Config, start: F64 | None = None, max_iter: int = 500,
             tol: float = 1e-12) -> TanhFit:
    """Fit f(g) to M curves at once; arrays (M, K), ``mask`` selects the fitted points."""
    g = np.asarray(g, dtype=np.float64)
    m = g.shape[0]
    lo = np.asarray(cfg.tanh_lower, dtype=np.float64)[None, :]
    hi = np.asarray(cfg.tanh_upper, dtype=np.float64)[None, :]
    rng_lo, rng_hi = cfg.tanh_range
    mask = mask & np.isfinite(y) & (g >= rng_lo) & (g <= rng_hi)
    y = np.where(mask, y, 0.0)
    elo = np.where(mask, elo, 0.0)
    ehi = np.where(mask, ehi, 0.0)
    p_start = np.broadcast_to(np.asarray(cfg.tanh_start if start is None else start,
                                         dtype=np.float64), (m, 3))
    u = _to_u(p_start, lo, hi)
    mode = cfg.tanh_errors
    r, J = _resid_jac(u, g, y, elo, ehi, mask, lo, hi, mode)
    chi2 = (r * r).sum(1)
    lam = np.full(m, 1e-3)
    edm = np.full(m, np.inf)
    conv = np.zeros(m, dtype=bool)
    act = np.flatnonzero(np.isfinite(chi2))
    eye = np.eye(3)
    for _ in range(max_iter):
        if act.size == 0:
            break
        Ja, ra = J[act], r[act]
        H = np.matmul(Ja.transpose(0, 2, 1), Ja)
        G = np.einsum("akp,ak->ap", Ja, ra)
        # undamped EDM with a tiny ridge (a parameter at a bound has a zero Jacobian column)
        ridge = 1e-12 * (np.trace(H, axis1=1, axis2=2)[:, None, None] + 1e-300) * eye
        d0 = np.linalg.solve(H + ridge, -G[..., None])[..., 0]
        e = -(G * d0).sum(1)
        edm[act] = e
        done = np.isfinite(e) & (e < tol * np.maximum(chi2[act], 1.0))
        conv[act[done]] = True
        act, H, G = act[~done], H[~done], G[~done]
        if act.size == 0:
            break
        Hd = H + lam[act, None, None] * (H * eye) + ridge[~done]
        step = np.linalg.solve(Hd, -G[..., None])[..., 0]
        u_new = u[act] + step
        r_new, J_new = _resid_jac(u_new, g[act], y[act], elo[act], ehi[act], mask[act], lo, hi,
                                  mode)
        c_new = (r_new * r_new).sum(1)
        ok = np.isfinite(c_new) & (c_new <= chi2[act])
        a_ok = act[ok]
        u[a_ok], r[a_ok], J[a_ok], chi2[a_ok] = u_new[ok], r_new[ok], J_new[ok], c_new[ok]
        lam[a_ok] = np.maximum(lam[a_ok] * 0.1, 1e-12)
        a_bad = act[~ok]
        lam[a_bad] = lam[a_bad] * 10.0
        act = act[lam[act] < 1e12]
    p = _to_p(u, lo, hi)
    # a row that stalled with a vanishing gradient is at its minimum too
    valid = np.isfinite(chi2) & np.all(np.isfinite(p), axis=1) & (conv | (edm < MINUIT_EDM_GOAL))
    # rows where Levenberg-Marquardt stalled (kinks of the asymmetric-error chi2, parameters at
    # their limits): ROOT's own minimiser decides, from ROOT's start values
    for i in np.flatnonzero(~valid):
        res = _migrad_tanh(g[i], y[i], elo[i], ehi[i], mask[i], cfg, p_start[i])
        if res is not None:
            p[i], chi2[i], edm[i] = res
            valid[i] = True
    return TanhFit(params=p, chi2=chi2, edm=edm, valid=valid)


def _migrad_tanh(g, y, elo, ehi, mask, cfg, start):
    """Minuit (Migrad, bounded parameters) on one curve; (params, chi2, edm) or None."""
    from iminuit import Minuit

    lo = np.asarray(cfg.tanh_lower, dtype=np.float64)
    hi = np.asarray(cfg.tanh_upper, dtype=np.float64)
    mode = cfg.tanh_errors

    def chi2(par):
        u = _to_u(np.asarray(par, dtype=np.float64)[None, :], lo[None, :], hi[None, :])
        r, _ = _resid_jac(u, g[None, :], y[None, :], elo[None, :], ehi[None, :],
                          mask[None, :], lo[None, :], hi[None, :], mode)
        return float((r * r).sum())

    m = Minuit(chi2, np.clip(np.asarray(start, dtype=np.float64), lo, hi))
    m.errordef = 1.0
    m.limits = list(zip(lo, hi, strict=True))
    m.tol = 0.01                     # ROOT's default tolerance (EDM goal 2e-5)
    m.migrad()
    if not m.valid:
        return None
    return np.asarray(m.values, dtype=np.float64), float(m.fval), float(m.fmin.edm)


def tgraph_eval(x: F64, y: F64, xv: float) -> float:
    """ROOT ``TGraph::Eval`` (linear, graph not flagged as sorted): nearest points around xv.

    Replicates the search of the unsorted branch, including its extrapolation rule.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    if n == 0:
        return 0.0
    if n == 1:
        return float(y[0])
    low = up = low2 = up2 = -1
    for i in range(n):
        if x[i] < xv:
            if low == -1 or x[i] > x[low]:
                low2, low = low, i
            elif low2 == -1:
                low2 = i
        elif x[i] > xv:
            if up == -1 or x[i] < x[up]:
                up2, up = up, i
            elif up2 == -1:
                up2 = i
        else:
            return float(y[i])
    if up == -1:
        up, low = low, low2
    if low == -1:
        low, up = up, up2
    if low == -1 or up == -1:
        return float("nan")
    if x[low] == x[up]:
        return float(y[low])
    return float(y[up] + (xv - x[up]) * (y[low] - y[up]) / (x[low] - x[up]))


@dataclass
class LimitResult:
    """Per-mass limits (arrays over masses) and how each was obtained."""

    mass: F64
    limit: F64                  # CL_s limit at the configured alpha (NaN: no limit)
    limit_err: F64              # toy-statistics estimate (see :func:`limit_uncertainty`)
    method: list[str]           # "tanh", "interp" or "none"
    params: F64                 # tanh parameters (M, 3) (NaN if no fit)
    fit_valid: NDArray[np.bool_]
    limit_clsb: F64
    method_clsb: list[str]
    limit_95: F64
    extra: dict = field(default_factory=dict)


def _graph_mask(gr: CLsGraph, which: str) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    if which == "cls":
        y, lo, hi = gr.cls, gr.cls_err_lo, gr.cls_err_hi
    else:
        y, lo, hi = gr.clsb, gr.clsb_err_lo, gr.clsb_err_hi
    # ROOT's FillData skips points whose y error (quadratic mean of low/high) is zero
    mask = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi) & ((lo > 0) | (hi > 0))
    mask &= np.isfinite(gr.g)
    return y, lo, hi, mask


def limit_uncertainty(g: F64, y: F64, lo: F64, hi: F64, mask: NDArray[np.bool_], g_ul: float,
                      p: F64 | None) -> float:
    """Toy-statistics error on g_UL: sigma_CLs(g_UL) / |dCLs/dg| (linear propagation).

    sigma_CLs is the mean Wilson error interpolated at g_UL; the slope is the fitted tanh's
    (or the graph's local slope for interpolated limits). An estimate: neighbouring points
    share their background-only toys.
    """
    if not np.isfinite(g_ul):
        return float("nan")
    gm, ym = g[mask], y[mask]
    if gm.size < 2:
        return float("nan")
    sig = np.interp(g_ul, gm, 0.5 * (lo[mask] + hi[mask]))
    if p is not None and np.all(np.isfinite(p)):
        a = (g_ul - p[1]) / p[2]
        slope = -p[0] * (1.0 - np.tanh(a) ** 2) / p[2]
    else:
        j = int(np.clip(np.searchsorted(gm, g_ul), 1, gm.size - 1))
        slope = (ym[j] - ym[j - 1]) / (gm[j] - gm[j - 1])
    return float(sig / abs(slope)) if slope != 0 else float("nan")


def upper_limits(masses: F64, graphs: list[CLsGraph], cfg: PadmeRun3Config, alpha: float = 0.10
                 ) -> LimitResult:
    """Limits for many masses (one CLs graph each, points sorted by g)."""
    nm = len(graphs)
    kmax = max((gr.g.size for gr in graphs), default=0)
    shape = (nm, kmax)

    def stack(which):
        G = np.full(shape, np.nan)
        Y = np.full(shape, np.nan)
        L = np.zeros(shape)
        H = np.zeros(shape)
        Mk = np.zeros(shape, dtype=bool)
        for i, gr in enumerate(graphs):
            y, lo, hi, mk = _graph_mask(gr, which)
            k = gr.g.size
            G[i, :k], Y[i, :k], L[i, :k], H[i, :k], Mk[i, :k] = gr.g, y, lo, hi, mk
        return G, Y, L, H, Mk

    # condition on CL_s at the largest g (last point of the sorted graph)
    last = np.array([gr.cls[-1] if gr.g.size else np.nan for gr in graphs])
    do = last < cfg.cls_threshold
    out = {}
    start = None
    for which in ("cls", "clsb"):
        G, Y, L, H, Mk = stack(which)
        params = np.full((nm, 3), np.nan)
        valid = np.zeros(nm, dtype=bool)
        lim = np.full(nm, np.nan)
        lim95 = np.full(nm, np.nan)
        err = np.full(nm, np.nan)
        meth = ["none"] * nm
        idx = np.flatnonzero(do)
        if idx.size:
            st = None if start is None else start[idx]
            fit = fit_tanh(np.where(np.isfinite(G[idx]), G[idx], 0.0), Y[idx], L[idx], H[idx],
                           Mk[idx], cfg, start=st)
            params[idx] = fit.params
            valid[idx] = fit.valid
            for j, i in enumerate(idx):
                if fit.valid[j]:
                    lim[i] = invert_tanh(fit.params[j], alpha)
                    lim95[i] = invert_tanh(fit.params[j], alpha / 2.0)
                    meth[i] = "tanh"
                    p_used = fit.params[j]
                else:
                    k = np.isfinite(Y[i]) & np.isfinite(G[i])
                    lim[i] = tgraph_eval(Y[i][k], G[i][k], alpha)
                    lim95[i] = tgraph_eval(Y[i][k], G[i][k], alpha / 2.0)
                    meth[i] = "interp"
                    p_used = None
                err[i] = limit_uncertainty(G[i], Y[i], L[i], H[i], Mk[i] & np.isfinite(G[i]),
                                           lim[i], p_used)
        # the CLsb fit starts where the CLs fit ended (ReadOutput resets the TF1 only once)
        start = params.copy()
        start[~np.all(np.isfinite(start), axis=1)] = np.asarray(cfg.tanh_start)
        out[which] = (lim, err, meth, params, valid, lim95)
    lim, err, meth, params, valid, lim95 = out["cls"]
    return LimitResult(mass=np.asarray(masses, dtype=np.float64), limit=lim, limit_err=err,
                       method=meth, params=params, fit_valid=valid, limit_clsb=out["clsb"][0],
                       method_clsb=out["clsb"][2], limit_95=lim95,
                       extra={"limit_clsb_err": out["clsb"][1],
                              "params_clsb": out["clsb"][3]})


def adaptive_first(n_g: int, stride: int) -> NDArray[np.int64]:
    """Coarse sub-lattice for the adaptive g mode: every ``stride``-th index plus the last."""
    idx = list(range(0, n_g, stride))
    if idx[-1] != n_g - 1:
        idx.append(n_g - 1)
    return np.asarray(idx, dtype=np.int64)


def adaptive_second(g_lattice: F64, g_est: float, done: NDArray[np.int64], halfwidth: int
                    ) -> NDArray[np.int64]:
    """Lattice indices within ``halfwidth`` of the estimated crossing, not yet evaluated."""
    n = g_lattice.size
    if not np.isfinite(g_est):
        return np.zeros(0, dtype=np.int64)
    c = int(np.clip(np.searchsorted(g_lattice, g_est), 0, n - 1))
    lo_i, hi_i = max(0, c - halfwidth), min(n - 1, c + halfwidth - 1)
    cand = np.arange(lo_i, hi_i + 1)
    return cand[~np.isin(cand, done)]
