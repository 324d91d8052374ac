"""Batched S+B fits at fixed (M, g): Gauss-Newton / Levenberg-Marquardt over many rows at once.

Each row is one fit of the 7 parameters theta = (P0, P1, Y0, Gamma_L, BES, e0, e1) to one
dataset (R, w) at one grid point (M, g), with its own auxiliary centres. The chi-square is
sum_i w_i (R_i - mu_i)^2 + |v|^2 in whitened coordinates theta = c + T v (model.py), so the
normal matrix is H = (J T)^T W (J T) + 1, always positive definite.

Algorithm (per row, vectorised over rows): at the current point compute the undamped
Gauss-Newton step d = -H^-1 G and the expected decrease EDM = -G.d (the chi2 analogue of
Minuit's EDM); stop if EDM < tol. Otherwise try theta + T d (damped by Marquardt's lambda after
a rejected step), accept if chi2 does not increase, adapt lambda. A row that hits the iteration
limit, stalls (lambda > 1e8) or produces a non-finite chi2 has failed; failed rows are retried
once from the nominal parameters (as PADME's ``MaximizeL``) and, if they fail again, are
reported with ``converged = False`` (the caller counts them; the toy is then invalid).

Speed: the first evaluation of each row is shared by all rows with the same (E_res, Gamma_L,
BES) start (all toys of a grid point start from the dataset's fit there), so the Voigt profile
is computed once per grid point for it; the Voigt is otherwise the dominant cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from x17scan.stats.padme_run3.model import IBES, IGAM, N_PAR, PadmeProblem, model_sb
from x17scan.stats.padme_run3.voigt import voigt_derivs

F64 = NDArray[np.float64]

_LAMBDA0 = 1e-4
_LAMBDA_MAX = 1e8


@dataclass
class SBFit:
    """Results of a batch of S+B fits (all arrays have the batch length first)."""

    theta: F64            # (B, 7) fitted parameters
    chi2: F64             # (B,) chi2 at theta (points + constraints)
    converged: NDArray[np.bool_]
    retried: NDArray[np.bool_]
    n_iter: NDArray[np.int64]
    edm: F64
    n_voigt_rows: int = 0  # rows x evaluations of the Voigt profile (cost diagnostics)

    @property
    def n_failed(self) -> int:
        return int((~self.converged).sum())


def _broadcast_rows(a: F64, b: int, width: int | None = None) -> F64:
    a = np.asarray(a, dtype=np.float64)
    shape = (b,) if width is None else (b, width)
    return np.ascontiguousarray(np.broadcast_to(a, shape))


def _model_shared(problem: PadmeProblem, theta: F64, eres: F64, g2: F64
                  ) -> tuple[F64, F64, int]:
    """mu and J for rows; the Voigt is evaluated once per distinct (E_res, Gamma_L, BES)."""
    key = np.stack([eres, theta[:, IGAM], theta[:, IBES]], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    if uniq.shape[0] == theta.shape[0]:
        u = problem.e_beam[None, :] - eres[:, None]
        mu, J = model_sb(theta, problem.x, u, eres, g2)
        return mu, J, theta.shape[0]
    ue = problem.e_beam[None, :] - uniq[:, 0:1]
    v_u, dvs_u, dvg_u = voigt_derivs(ue, uniq[:, 2:3] * uniq[:, 0:1], uniq[:, 1:2])
    mu, J = model_sb(theta, problem.x, None, eres, g2, vdv=(v_u[inv], dvs_u[inv], dvg_u[inv]))
    return mu, J, uniq.shape[0]


def _lm_chunk(problem: PadmeProblem, r: F64, w: F64, eres: F64, g2: F64, center: F64,
              start: F64, tol: float, max_iter: int):
    """LM on one chunk of rows. Returns theta, chi2, converged, n_iter, edm, voigt rows."""
    m = r.shape[0]
    T = problem.T
    eye = np.eye(N_PAR)
    theta = start.copy()
    v = problem.to_v(theta, center)
    mu, J, nv = _model_shared(problem, theta, eres, g2)
    res = r - mu
    chi2 = (w * res * res).sum(1) + (v * v).sum(1)
    lam = np.zeros(m)
    conv = np.zeros(m, dtype=bool)
    failed = ~np.isfinite(chi2)
    n_iter = np.zeros(m, dtype=np.int64)
    edm = np.full(m, np.inf)
    act = np.flatnonzero(~failed)
    sw = np.sqrt(w)
    for _ in range(max_iter):
        if act.size == 0:
            break
        n_iter[act] += 1
        swa = sw[act]
        A = (J[act] @ T) * swa[..., None]                      # (a, n, 7)
        H = np.matmul(A.transpose(0, 2, 1), A) + eye           # (a, 7, 7)
        G = v[act] - np.einsum("anp,an->ap", A, swa * res[act])
        step = -np.linalg.solve(H, G[..., None])[..., 0]
        e = -(G * step).sum(1)
        edm[act] = e
        done = np.isfinite(e) & (e < tol)
        conv[act[done]] = True
        keep = ~done
        act, H, G, step = act[keep], H[keep], G[keep], step[keep]
        if act.size == 0:
            break
        damped = lam[act] > 0
        if damped.any():
            Hd = H[damped] + lam[act[damped], None, None] * (H[damped] * eye)
            step[damped] = -np.linalg.solve(Hd, G[damped][..., None])[..., 0]
        th_new = theta[act] + step @ T.T
        v_new = v[act] + step
        u = problem.e_beam[None, :] - eres[act, None]
        mu_new, J_new = model_sb(th_new, problem.x, u, eres[act], g2[act])
        nv += act.size
        res_new = r[act] - mu_new
        chi2_new = (w[act] * res_new * res_new).sum(1) + (v_new * v_new).sum(1)
        ok = np.isfinite(chi2_new) & (chi2_new <= chi2[act] * (1.0 + 1e-15))
        a_ok = act[ok]
        theta[a_ok] = th_new[ok]
        v[a_ok] = v_new[ok]
        mu[a_ok] = mu_new[ok]
        J[a_ok] = J_new[ok]
        res[a_ok] = res_new[ok]
        chi2[a_ok] = chi2_new[ok]
        lam[a_ok] = np.where(lam[a_ok] * 0.1 < _LAMBDA0, 0.0, lam[a_ok] * 0.1)
        a_bad = act[~ok]
        lam[a_bad] = np.maximum(lam[a_bad] * 10.0, _LAMBDA0)
        stuck = lam[act] > _LAMBDA_MAX
        act = act[~stuck]
    return theta, chi2, conv, n_iter, edm, nv


def _numba_rows(problem: PadmeProblem, r: F64, w: F64, data_idx: NDArray[np.int64], eres: F64,
                g2: F64, center: F64, start: F64, groups: NDArray[np.int64] | None, tol: float,
                max_iter: int, newton: bool):
    """The compiled kernel on rows; Voigt values at the starts are shared between rows.

    ``groups``: rows with equal group id share (E_res, start); if None they are found with
    ``np.unique`` on (E_res, Gamma_L, BES) of the starts.
    """
    from x17scan.stats.padme_run3 import _kernel

    b = data_idx.shape[0]
    if groups is None:
        key = np.stack([eres, start[:, IGAM], start[:, IBES]], axis=1)
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(groups, return_index=True, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    if first.size < b:
        er_a = eres[first]
        u = problem.e_beam[None, :] - er_a[:, None]
        anchor_vd = np.empty((first.size, 6, problem.n))
        _kernel.voigt_rows(np.require(u, np.float64, ["C", "W"]), start[first, IBES] * er_a,
                           np.array(start[first, IGAM], dtype=np.float64), anchor_vd)
        n_anchor = first.size
    else:
        inv = np.full(b, -1, dtype=np.int64)
        anchor_vd = np.zeros((1, 6, problem.n))
        n_anchor = 0
    theta = np.empty((b, N_PAR))
    chi2 = np.empty(b)
    conv = np.empty(b, dtype=np.bool_)
    n_iter = np.empty(b, dtype=np.int64)
    edm = np.empty(b)
    # one compiled signature: C-contiguous, writable float64/int64 arrays, plain scalars
    f8 = lambda a: np.require(a, np.float64, ["C", "W"])  # noqa: E731
    i8 = lambda a: np.require(a, np.int64, ["C", "W"])  # noqa: E731
    nzi, nzv = _kernel.t_sparsity(problem.T)
    nv = _kernel.lm_rows(f8(r), f8(w), i8(data_idx), f8(problem.x), f8(problem.e_beam),
                         f8(eres), f8(g2), f8(center), f8(start), f8(problem.T),
                         f8(problem.T_inv), i8(nzi), f8(nzv), i8(inv), f8(anchor_vd),
                         float(tol), int(max_iter), bool(newton), theta, chi2, conv, n_iter,
                         edm)
    return theta, chi2, conv, n_iter, edm, int(nv) + n_anchor


def fit_sb(problem: PadmeProblem, r: F64, w: F64, eres: F64, g2: F64, center: F64,
           start: F64, nominal: F64 | None = None, tol: float | None = None,
           max_iter: int | None = None, chunk: int | None = None,
           backend: str | None = None, data_index: NDArray[np.int64] | None = None,
           groups: NDArray[np.int64] | None = None) -> SBFit:
    """Batch of S+B fits at fixed (M, g) per row.

    ``r``, ``w`` (B, n) datasets, or (D, n) with ``data_index`` (B,) choosing the dataset of
    each row (no copies); ``eres`` (B,) = E_res(M); ``g2`` (B,) = g^2; ``center`` (B, 7) or
    (7,) auxiliary centres; ``start`` (B, 7) or (7,) start parameters; ``nominal`` (7,) or
    (B, 7) the retry start (default: ``problem.center``); ``groups`` (B,) optional ids of rows
    sharing E_res and start (saves finding them). ``backend``: "numba" (compiled Newton/LM
    kernel, default when numba works) or "numpy" (vectorised Gauss-Newton/LM with
    ``scipy.special.wofz``, the reference).
    """
    cfg = problem.config
    tol = cfg.fit_edm_tol if tol is None else tol
    max_iter = cfg.fit_max_iter if max_iter is None else max_iter
    chunk = cfg.fit_chunk if chunk is None else chunk
    r = np.ascontiguousarray(r, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    if data_index is None:
        data_index = np.arange(r.shape[0], dtype=np.int64)
    data_index = np.asarray(data_index, dtype=np.int64)
    b = data_index.shape[0]
    eres = _broadcast_rows(eres, b)
    g2 = _broadcast_rows(g2, b)
    center = _broadcast_rows(center, b, N_PAR)
    start = _broadcast_rows(start, b, N_PAR)
    nominal = _broadcast_rows(problem.center if nominal is None else nominal, b, N_PAR)
    theta = np.empty((b, N_PAR))
    chi2 = np.empty(b)
    conv = np.empty(b, dtype=bool)
    n_iter = np.empty(b, dtype=np.int64)
    edm = np.empty(b)
    retried = np.zeros(b, dtype=bool)
    nv_total = 0
    backend = backend or cfg.fit_backend
    if backend == "auto":
        from x17scan.stats.padme_run3._kernel import HAVE_NUMBA

        backend = "numba" if HAVE_NUMBA else "numpy"

    def run(rows, st, grp):
        di = data_index[rows]
        if backend == "numba":
            return _numba_rows(problem, r, w, di, eres[rows], g2[rows], center[rows], st, grp,
                               tol, max_iter, cfg.fit_newton)
        return _lm_chunk(problem, r[di], w[di], eres[rows], g2[rows], center[rows], st, tol,
                         max_iter)

    step = b if backend == "numba" else chunk
    for lo in range(0, b, step):
        sl = slice(lo, min(b, lo + step))
        out = run(sl, start[sl], None if groups is None else groups[sl])
        theta[sl], chi2[sl], conv[sl], n_iter[sl], edm[sl], nv = out
        nv_total += nv
    bad = np.flatnonzero(~conv)
    if bad.size:
        retried[bad] = True
        out = run(bad, nominal[bad], None)
        th2, c2, cv2, it2, e2, nv = out
        nv_total += nv
        theta[bad], chi2[bad], conv[bad], edm[bad] = th2, c2, cv2, e2
        n_iter[bad] += it2
    return SBFit(theta=theta, chi2=chi2, converged=conv, retried=retried, n_iter=n_iter,
                 edm=edm, n_voigt_rows=nv_total)
