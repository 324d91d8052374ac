"""Batched Newton minimiser for scan likelihoods (many toys x masses x hypotheses at once).

Every data set of a batch has a few *global* parameters (mu, the K curve, signal-shape
nuisances) and one small block of *local* nuisances per point. The Hessian is then
block-arrow shaped; each Newton step eliminates the per-point blocks analytically (Schur
complement) and solves a G x G system, so the cost per iteration is O(B n G^2) for B data sets
of n points. Steps use the exact Hessian where it is positive definite and Fisher scoring
(expected information) elsewhere, with a backtracking line search on -ln L. A fit that does not
converge is restarted once from the default starting point with Fisher steps; fits that still
fail are flagged (``converged=False``) and counted by the callers, never silently dropped.

The model interface (see :class:`~x17scan.stats.likelihood.ScanModel`): ``n_glob``, ``n_loc``,
``prec_g`` (G x G precision of the global constraints), ``data_terms``, ``nll_data``,
``nll_constant``, ``start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@dataclass
class FitResult:
    """Result of a batch of fits (one row per data set).

    ``deviance``: -ln L at the minimum without the data-only constant (differences of it are
    the test statistics, computed without cancellation); ``nll`` (property): the full -ln L
    (Poisson with its lgamma constant; Gaussian constraints without their normalisation).
    """

    glob: Array
    loc: Array
    deviance: Array
    converged: NDArray[np.bool_]
    n_iter: NDArray[np.int64]
    retried: NDArray[np.bool_]
    const: Array | None = None

    @property
    def nll(self) -> Array:
        """Full -ln L at the minimum (needs the constant: ``minimize(..., full_nll=True)``)."""
        if self.const is None:
            raise ValueError("fit run without full_nll=True: only the deviance is known")
        return self.deviance + self.const

    @property
    def mu(self) -> Array:
        """Fitted (or fixed) parameter of interest, g_ve^2."""
        return self.glob[:, 0]

    @property
    def n_failed(self) -> int:
        return int((~self.converged).sum())

    @property
    def n_retried(self) -> int:
        return int(self.retried.sum())

    def take(self, idx: ArrayLike) -> FitResult:
        return FitResult(self.glob[idx], self.loc[idx], self.deviance[idx], self.converged[idx],
                         self.n_iter[idx], self.retried[idx],
                         None if self.const is None else self.const[idx])


def _constraint(model: Any, glob: Array, loc: Array, data: Any) -> Array:
    dg = glob - data.aux_g
    cg = 0.5 * np.einsum("bg,gh,bh->b", dg, model.prec_g, dg)
    dl = loc - data.aux_l
    return cg + 0.5 * (dl * dl).sum(axis=(1, 2))


def objective(model: Any, glob: Array, loc: Array, data: Any, midx: ArrayLike) -> Array:
    """Deviance part of -ln L plus the constraint terms (inf where the model is invalid)."""
    if hasattr(model, "objective"):
        return model.objective(glob, loc, data, midx)
    return model.nll_data(glob, loc, data, midx) + _constraint(model, glob, loc, data)


def _inv_local(h: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Inverse of the per-point L x L blocks (L = 1 or 2) and a positive-definiteness flag."""
    if h.shape[-1] == 1:
        ok = (h[..., 0, 0] > 0).all(-1)
        return 1.0 / h, ok
    a, b, c, d = h[..., 0, 0], h[..., 0, 1], h[..., 1, 0], h[..., 1, 1]
    det = a * d - b * c
    ok = ((a > 0) & (det > 0)).all(-1)
    inv = np.empty_like(h)
    inv[..., 0, 0] = d / det
    inv[..., 0, 1] = -b / det
    inv[..., 1, 0] = -c / det
    inv[..., 1, 1] = a / det
    return inv, ok


def _step(model: Any, glob: Array, loc: Array, data: Any, midx: Array,
          fixed: NDArray[np.bool_], exact: bool) -> tuple[Array, ...]:
    """The model's fused step if it has one, else the generic numpy step (with a Fisher
    fallback where the exact Hessian is not positive definite): (step_g, step_l, decrement,
    ok, fisher-used)."""
    if hasattr(model, "newton_step"):
        return model.newton_step(glob, loc, data, midx, fixed, exact)
    sg, sl, dec, ok = newton_step(model, glob, loc, data, midx, fixed, exact)
    fisher = np.full(len(glob), not exact)
    if exact and not ok.all():
        bad = np.nonzero(~ok)[0]
        sg2, sl2, dec2, ok2 = newton_step(model, glob[bad], loc[bad], data.take(bad),
                                          midx[bad], fixed[bad], exact=False)
        sg[bad], sl[bad], dec[bad], ok[bad] = sg2, sl2, dec2, ok2
        fisher[bad] = True
    return sg, sl, dec, ok, fisher


def newton_step(model: Any, glob: Array, loc: Array, data: Any, midx: Array,
                fixed: NDArray[np.bool_], exact: bool
                ) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Newton (or Fisher) step and decrement g^T H^-1 g from ``model.data_terms`` (numpy
    reference implementation); ``ok`` False where H is not positive definite."""
    t = model.data_terms(glob, loc, data, midx, exact=exact)
    prec = model.prec_g
    grad_g = t.grad_g + (glob - data.aux_g) @ prec
    h_gg = t.h_gg + prec[None]
    grad_l = t.grad_l + (loc - data.aux_l)
    h_ll = t.h_ll + np.eye(loc.shape[-1])[None, None]
    dinv, ok = _inv_local(h_ll)
    bsz, npt, G, L = t.h_gl.shape
    m = t.h_gl @ dinv                                            # (B, n, G, L)
    mf = m.transpose(0, 2, 1, 3).reshape(bsz, G, npt * L)
    schur = h_gg - mf @ t.h_gl.reshape(bsz, npt, G, L).transpose(0, 1, 3, 2).reshape(
        bsz, npt * L, G)
    rhs = grad_g - (mf @ grad_l.reshape(bsz, npt * L, 1))[..., 0]
    if fixed.any():
        fm = fixed[:, :, None] | fixed[:, None, :]
        schur = np.where(fm, 0.0, schur)
        idx = np.nonzero(fixed)
        schur[idx[0], idx[1], idx[1]] = 1.0
        rhs = np.where(fixed, 0.0, rhs)
    diag = np.einsum("bgg->bg", schur)
    ok &= (diag > 0).all(-1)
    scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    sm = schur * scale[:, :, None] * scale[:, None, :]
    try:
        np.linalg.cholesky(sm)
    except np.linalg.LinAlgError:
        ok &= np.linalg.eigvalsh(sm).min(-1) > 1e-14
        sm = np.where(ok[:, None, None], sm, np.eye(sm.shape[-1])[None])
    dg = np.linalg.solve(sm, (rhs * scale)[..., None])[..., 0] * scale
    resid = grad_l - (dg[:, None, None, :] @ t.h_gl)[:, :, 0, :]
    dl = (dinv @ resid[..., None])[..., 0]
    dec = (grad_g * dg).sum(-1) + (grad_l * dl).sum(axis=(1, 2))
    ok &= np.isfinite(dec) & (dec >= 0)
    return -dg, -dl, dec, ok


def _newton(model: Any, data: Any, midx: Array, glob: Array, loc: Array,
            fixed: NDArray[np.bool_], tol: float, max_iter: int, fisher_iters: int
            ) -> tuple[Array, Array, Array, NDArray[np.bool_], NDArray[np.int64]]:
    bsz = len(glob)
    glob, loc = glob.copy(), loc.copy()
    obj = objective(model, glob, loc, data, midx)
    conv = np.zeros(bsz, bool)
    dead = ~np.isfinite(obj)
    iters = np.zeros(bsz, np.int64)
    tol_quad = np.sqrt(tol)
    for it in range(max_iter):
        live = ~conv & ~dead
        if not live.any():
            break
        if live.all():  # no copies while every fit is still running
            act = np.arange(bsz)
            d_a, g_a, l_a, f_a, m_a, fx_a = data, glob, loc, obj, midx, fixed
        else:
            act = np.nonzero(live)[0]
            d_a = data.take(act)
            g_a, l_a, f_a, m_a, fx_a = glob[act], loc[act], obj[act], midx[act], fixed[act]
        exact = it >= fisher_iters
        sg, sl, dec, ok, fisher = _step(model, g_a, l_a, d_a, m_a, fx_a, exact)
        iters[act] += 1
        # backtracking line search (Armijo), vectorised over the active fits
        step = np.where(ok, 1.0, 0.0)
        new = np.full(act.size, np.inf)
        pending = ok.copy()
        for _ in range(40):
            if not pending.any():
                break
            p = np.nonzero(pending)[0]
            if p.size == act.size:  # the first trial: no copies of the data
                ft = objective(model, g_a + step[:, None] * sg, l_a + step[:, None, None] * sl,
                               d_a, m_a)
            else:
                gt = g_a[p] + step[p, None] * sg[p]
                lt = l_a[p] + step[p, None, None] * sl[p]
                ft = objective(model, gt, lt, d_a.take(p), m_a[p])
            good = np.isfinite(ft) & (ft <= f_a[p] - 1e-4 * step[p] * dec[p]
                                      + 1e-12 * np.abs(f_a[p]))
            new[p[good]] = ft[good]
            step[p[~good]] *= 0.5
            pending[p[good]] = False
        accepted = np.isfinite(new)
        a_idx = act[accepted]
        glob[a_idx] = g_a[accepted] + step[accepted, None] * sg[accepted]
        loc[a_idx] = l_a[accepted] + step[accepted, None, None] * sl[accepted]
        obj[a_idx] = new[accepted]
        done = ok & accepted & ((dec < tol) | ((dec < tol_quad) & ~fisher & (step == 1.0)))
        conv[act[done]] = True
        # no acceptable step: converged if already at the noise floor, else give up
        stuck = ~accepted
        floor = ok & (dec < 1e3 * tol)
        conv[act[stuck & floor]] = True
        dead[act[stuck & ~floor]] = True
    return glob, loc, obj, conv, iters


def minimize(model: Any, data: Any, midx: ArrayLike, mu: ArrayLike | None = None,
             init: tuple[Array, Array] | None = None, *, tol: float = 1e-10,
             max_iter: int = 50, retry: bool = True, full_nll: bool = False) -> FitResult:
    """Minimise -ln L for every data set of the batch ``data`` at mass index ``midx``.

    ``mu``: None (free), a scalar or an array (B,) with NaN where mu is free and a value where it
    is fixed. ``init``: starting (glob, loc); default ``model.start``. ``tol``: convergence when
    the Newton decrement g^T H^-1 g (about twice the distance to the minimum in -ln L) is below
    it. Returns a :class:`FitResult`.
    """
    bsz = len(data)
    midx = np.broadcast_to(np.asarray(midx, dtype=np.intp), (bsz,)).copy()
    mu_arr = (np.full(bsz, np.nan) if mu is None
              else np.broadcast_to(np.asarray(mu, dtype=float), (bsz,)).copy())
    fixed = np.zeros((bsz, model.n_glob), bool)
    fixed[:, 0] = np.isfinite(mu_arr)
    if init is None:
        glob, loc = model.start(data, mu_arr)
    else:
        glob, loc = init[0].copy(), init[1].copy()
        glob[:, 0] = np.where(fixed[:, 0], mu_arr, glob[:, 0])
    glob, loc, obj, conv, iters = _newton(model, data, midx, glob, loc, fixed, tol, max_iter, 0)
    retried = np.zeros(bsz, bool)
    if retry and not conv.all():
        bad = np.nonzero(~conv)[0]
        retried[bad] = True
        d_b = data.take(bad)
        g0, l0 = model.start(d_b, mu_arr[bad])
        g2, l2, o2, c2, it2 = _newton(model, d_b, midx[bad], g0, l0, fixed[bad], tol,
                                      2 * max_iter, 5)
        better = c2 | (o2 < obj[bad])
        sel = bad[better]
        glob[sel], loc[sel], obj[sel], conv[sel] = g2[better], l2[better], o2[better], c2[better]
        iters[bad] += it2
    const = model.nll_constant(data) if full_nll else None
    return FitResult(glob, loc, obj, conv, iters, retried, const)
