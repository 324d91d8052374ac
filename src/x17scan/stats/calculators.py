"""Calculators: from a likelihood model and a data set to p-values, CLs and upper limits.

Two calculators share one interface over the mass grid of the model:

* :class:`AsymptoticCalculator` -- CCGV asymptotic formulae (EPJC 71 (2011) 1554) with the
  background-only Asimov data set built at the conditional (mu = 0) estimates of the observed
  data; expected bands from the Asimov q_mu,A.
* :class:`ToyCalculator` -- LHC-style frequentist toys (ATL-PHYS-PUB-2011-011): counts drawn
  from the model at the conditional estimates theta_hat_hat(mu) of the observed data, and every
  global observable drawn around its conditional estimate. One shared set of background-only
  toys gives the q0 distributions at every mass (local p-values, and the look-elsewhere effect
  from max_M q0), the background-only distribution of q~_mu on a per-mass mu grid (CL_b and the
  expected bands: quantiles of that distribution, RooStats-style), while signal-plus-background
  toys are generated per (mass, mu) grid point. Work is cut into tasks with their own seeds
  (:func:`x17scan.parallel.task_seeds`), so results are bit-identical for any number of
  workers, and every task can be checkpointed.

Every fit that fails after its retry is counted (``diagnostics``); toys with a failed fit are
left out of the distributions and reported, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.stats import teststat as ts
from x17scan.stats.fit import FitResult, minimize

Array = NDArray[np.float64]
BANDS = (-2.0, -1.0, 0.0, 1.0, 2.0)
"""Expected-band order: minus2, minus1, median, plus1, plus2 (+N = higher limits)."""
BAND_KEYS = ("minus2", "minus1", "median", "plus1", "plus2")


@dataclass
class FitCounter:
    """Counts fits, retries and failures (never silently dropped)."""

    fits: int = 0
    retried: int = 0
    failed: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)

    def add(self, res: FitResult, kind: str) -> None:
        n, r, f = len(res.deviance), res.n_retried, res.n_failed
        self.fits += n
        self.retried += r
        self.failed += f
        c = self.by_kind.setdefault(kind, [0, 0, 0])
        c[0] += n
        c[1] += r
        c[2] += f

    def merge(self, other: FitCounter) -> None:
        self.fits += other.fits
        self.retried += other.retried
        self.failed += other.failed
        for k, v in other.by_kind.items():
            c = self.by_kind.setdefault(k, [0, 0, 0])
            for i in range(3):
                c[i] += v[i]

    def as_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "retried_fits": self.retried, "failed_fits": self.failed,
                "by_kind": {k: {"fits": v[0], "retried": v[1], "failed": v[2]}
                            for k, v in sorted(self.by_kind.items())}}


def _rep(res: FitResult, k: int) -> tuple[Array, Array]:
    return np.repeat(res.glob, k, 0), np.repeat(res.loc, k, 0)


def fit_masses(model: Any, data: Any, bonly: FitResult, counter: FitCounter | None = None,
               mass_idx: ArrayLike | None = None, kind: str = "free") -> FitResult:
    """Unconditional fits of each data set at each mass (rows: data set major, mass minor),
    started from the background-only fits."""
    midx = np.arange(len(model.masses)) if mass_idx is None else np.asarray(mass_idx)
    nb, nm = len(data), midx.size
    init = _rep(bonly, nm)
    res = minimize(model, data.repeat(nm), np.tile(midx, nb), None, init=init)
    if counter is not None:
        counter.add(res, kind)
    return res


def fit_hypotheses(model: Any, data: Any, bonly: FitResult, midx: int, mus: ArrayLike,
                   counter: FitCounter | None = None, kind: str = "conditional"
                   ) -> tuple[FitResult, FitResult]:
    """For one mass: the unconditional fit and the conditional fits at every mu of ``mus`` for
    every data set. Returns (free (B,), conditional (B*K,), data set major)."""
    mus = np.asarray(mus, float)
    k = mus.size
    nb = len(data)
    mu_all = np.concatenate([np.full((nb, 1), np.nan), np.tile(mus, (nb, 1))], 1).ravel()
    g0, l0 = _rep(bonly, k + 1)
    res = minimize(model, data.repeat(k + 1), midx, mu_all, init=(g0, l0))
    sel = np.arange(nb * (k + 1)).reshape(nb, k + 1)
    free, cond = res.take(sel[:, 0]), res.take(sel[:, 1:].ravel())
    if counter is not None:
        counter.add(free, "free")
        counter.add(cond, kind)
    return free, cond


def bisect_log(fn: Callable[[Array], Array], lo: Array, hi: Array, n_iter: int = 40,
               rtol: float = 1e-7) -> tuple[Array, Array]:
    """Vectorised bisection in log(x) for decreasing ``fn`` (root where fn = 0).

    ``lo``/``hi`` must bracket the root (fn(lo) > 0 > fn(hi)); the bracket is widened by
    factors of 10 (up to 8 times) where it does not. Returns (root, bracketed flag).
    """
    lo, hi = np.array(lo, float), np.array(hi, float)
    f_hi = fn(hi)
    for _ in range(8):
        bad = f_hi > 0
        if not bad.any():
            break
        lo = np.where(bad, hi, lo)
        hi = np.where(bad, hi * 10.0, hi)
        f_hi = np.where(bad, fn(hi), f_hi)
    f_lo = fn(lo)
    for _ in range(8):
        bad = f_lo < 0
        if not bad.any():
            break
        hi = np.where(bad, lo, hi)
        lo = np.where(bad, lo / 10.0, lo)
        f_lo = np.where(bad, fn(lo), f_lo)
    ok = (f_lo >= 0) & (f_hi <= 0)
    for _ in range(n_iter):
        if np.all(hi / lo - 1.0 < rtol):
            break
        mid = np.sqrt(lo * hi)
        f = fn(mid)
        up = f > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return np.sqrt(lo * hi), ok


def mu_scale(model: Any) -> Array:
    """A rough 1-sigma scale of mu per mass (the model's ``mu_scale``): where root searches
    start."""
    return np.asarray(model.mu_scale(), dtype=float)


class AsymptoticCalculator:
    """Asymptotic CLs, limits, bands and local p-values on the model's mass grid.

    ``data``: the data set (batch of one; default the model's observed data). The
    background-only Asimov data set is built at the observed conditional estimates for mu = 0.
    """

    def __init__(self, model: Any, data: Any = None, cl: float = 0.90) -> None:
        self.model = model
        self.data = model.observed() if data is None else data
        self.cl = cl
        self.alpha = 1.0 - cl
        self.counter = FitCounter()
        self.nm = len(model.masses)
        self.bonly = minimize(model, self.data, 0, 0.0)
        self.counter.add(self.bonly, "observed_bonly")
        self.free = fit_masses(model, self.data, self.bonly, self.counter, kind="observed_free")
        self.asimov = model.asimov(self.bonly.glob, self.bonly.loc, [0])
        self.asimov_bonly = minimize(model, self.asimov, 0, 0.0,
                                     init=(self.bonly.glob, self.bonly.loc))
        self.counter.add(self.asimov_bonly, "asimov_bonly")

    # -- observed statistics ----------------------------------------------------------------
    @property
    def mu_hat(self) -> Array:
        """Unbounded best-fit mu per mass."""
        return self.free.mu

    @property
    def q0(self) -> Array:
        """q0 per mass (observed)."""
        return ts.q0(self.bonly.deviance[0], self.free.deviance, self.free.mu)

    def local_pvalues(self) -> tuple[Array, Array]:
        """Asymptotic local (p, Z) per mass."""
        p = ts.p0_asymptotic(self.q0)
        return p, ts.z_from_p(p)

    def _cond(self, data: Any, start: FitResult, midx: Array, mu: Array, kind: str) -> Array:
        g0, l0 = np.repeat(start.glob, midx.size, 0), np.repeat(start.loc, midx.size, 0)
        res = minimize(self.model, data.repeat(midx.size), midx, mu, init=(g0, l0))
        self.counter.add(res, kind)
        return res.deviance

    def qtilde(self, midx: ArrayLike, mu: ArrayLike) -> Array:
        """Observed q~_mu at (mass index, mu) pairs (broadcast 1-D)."""
        midx, mu = np.broadcast_arrays(np.asarray(midx), np.asarray(mu, float))
        midx, mu = midx.ravel(), mu.ravel()
        nll = self._cond(self.data, self.bonly, midx, mu, "observed_conditional")
        return ts.qmu_tilde(nll, self.free.deviance[midx], self.bonly.deviance[0],
                            self.free.mu[midx], mu)

    def q_asimov(self, midx: ArrayLike, mu: ArrayLike) -> Array:
        """q_mu,A on the background-only Asimov data set at (mass index, mu) pairs."""
        midx, mu = np.broadcast_arrays(np.asarray(midx), np.asarray(mu, float))
        midx, mu = midx.ravel(), mu.ravel()
        nll = self._cond(self.asimov, self.asimov_bonly, midx, mu, "asimov_conditional")
        return np.maximum(2.0 * (nll - self.asimov_bonly.deviance[0]), 0.0)

    def cls(self, midx: ArrayLike, mu: ArrayLike) -> tuple[Array, Array, Array]:
        """(CLs, CL_{s+b}, CL_b) at (mass index, mu) pairs."""
        return ts.cls_asymptotic(self.qtilde(midx, mu), self.q_asimov(midx, mu))

    def expected_cls(self, midx: ArrayLike, mu: ArrayLike) -> Array:
        """Expected CLs for the five bands (5, n) at (mass index, mu) pairs."""
        qa = self.q_asimov(midx, mu)
        return np.stack([ts.expected_cls_asymptotic(qa, n) for n in BANDS])

    # -- limits -----------------------------------------------------------------------------
    def upper_limits(self) -> tuple[Array, Array]:
        """Observed upper limits on mu per mass at ``cl`` (and a bracketing flag)."""
        idx = np.arange(self.nm)
        scale = mu_scale(self.model)
        lo = np.maximum(0.05 * scale, np.maximum(self.mu_hat, 0.0))
        hi = np.maximum(20.0 * scale, 4.0 * lo)

        def f(mu: Array) -> Array:
            cls, _, _ = self.cls(idx, mu)
            return np.log(np.maximum(cls, 1e-300)) - np.log(self.alpha)

        return bisect_log(f, lo, hi)

    def expected_limits(self) -> tuple[Array, Array]:
        """Expected limits on mu (5, n_masses) in :data:`BANDS` order (and bracketing flags)."""
        targets = ts.expected_sqrt_qa(np.array(BANDS), self.alpha)
        idx = np.tile(np.arange(self.nm), len(BANDS))
        tgt = np.repeat(targets, self.nm)
        scale = np.tile(mu_scale(self.model), len(BANDS))

        def f(mu: Array) -> Array:
            return tgt - np.sqrt(self.q_asimov(idx, mu))

        mu, ok = bisect_log(f, 0.05 * scale, 20.0 * scale)
        return mu.reshape(len(BANDS), self.nm), ok.reshape(len(BANDS), self.nm)


# --------------------------------------------------------------------------------------------
# toys
# --------------------------------------------------------------------------------------------
def _bonly_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Background-only toys: q0 and mu_hat at every mass, q~_mu on every mass's mu grid."""
    model, glob0, loc0, mu_grid, n, seed = task
    rng = np.random.default_rng(seed)
    g0, l0 = np.repeat(glob0, n, 0), np.repeat(loc0, n, 0)
    data = model.sample(g0, l0, np.zeros(n, np.intp), rng)
    counter = FitCounter()
    bonly = minimize(model, data, 0, 0.0, init=(g0, l0))
    counter.add(bonly, "toy_b_bonly")
    nm, k = mu_grid.shape
    q0 = np.empty((n, nm))
    mu_hat = np.empty((n, nm))
    qt = np.empty((n, nm, k))
    bad0 = np.empty((n, nm), bool)
    badt = np.empty((n, nm, k), bool)
    for j in range(nm):
        free, cond = fit_hypotheses(model, data, bonly, j, mu_grid[j], counter,
                                    kind="toy_b_conditional")
        dev = cond.deviance.reshape(n, k)
        q0[:, j] = ts.q0(bonly.deviance, free.deviance, free.mu)
        mu_hat[:, j] = free.mu
        qt[:, j] = ts.qmu_tilde(dev, free.deviance[:, None], bonly.deviance[:, None],
                                free.mu[:, None], mu_grid[j][None, :])
        bad0[:, j] = ~(bonly.converged & free.converged)
        badt[:, j] = bad0[:, j, None] | ~cond.converged.reshape(n, k)
    return {"q0": q0, "mu_hat": mu_hat, "qtilde": qt, "bad_q0": bad0, "bad_qtilde": badt,
            "counter": counter}


def _sb_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Signal-plus-background toys at one mass for every mu of its grid: q~_mu."""
    model, glob, loc, midx, mus, n, seed = task
    rng = np.random.default_rng(seed)
    k = mus.size
    g0, l0 = np.repeat(glob, n, 0), np.repeat(loc, n, 0)          # hypothesis-major
    data = model.sample(g0, l0, np.full(k * n, midx, np.intp), rng)
    mu_rep = np.repeat(mus, n)
    counter = FitCounter()
    mu_all = np.stack([mu_rep, np.full(k * n, np.nan)], 1).ravel()  # (cond, free) pairs
    res = minimize(model, data.repeat(2), midx, mu_all,
                   init=(np.repeat(g0, 2, 0), np.repeat(l0, 2, 0)))
    cond, free = res.take(np.arange(0, 2 * k * n, 2)), res.take(np.arange(1, 2 * k * n, 2))
    counter.add(cond, "toy_sb_conditional")
    counter.add(free, "toy_sb_free")
    nll_b = np.full(k * n, np.nan)
    bad = ~(cond.converged & free.converged)
    neg = np.nonzero(free.mu < 0)[0]
    if neg.size:
        g_b = g0[neg].copy()
        g_b[:, 0] = 0.0
        rb = minimize(model, data.take(neg), midx, 0.0, init=(g_b, l0[neg]))
        counter.add(rb, "toy_sb_bonly")
        nll_b[neg] = rb.deviance
        bad[neg] |= ~rb.converged
    qt = ts.qmu_tilde(cond.deviance, free.deviance, nll_b, free.mu, mu_rep)
    return {"qtilde": qt.reshape(k, n), "mu_hat": free.mu.reshape(k, n),
            "bad": bad.reshape(k, n), "counter": counter}


def _frac_ge(samples: Array, valid: NDArray[np.bool_], value: Array) -> tuple[Array, Array]:
    """Fraction of valid samples >= value along the last axis, and the valid count."""
    nv = valid.sum(-1)
    k = ((samples >= value[..., None]) & valid).sum(-1)
    return k / np.maximum(nv, 1), nv


def crossing(mu: Array, cls: Array, cls_err: Array, alpha: float
             ) -> tuple[Array, Array, NDArray[np.int64]]:
    """mu where CLs(mu) crosses ``alpha`` on each row of a (n_masses, K) grid.

    The crossing is placed between the grid points that best split the row into CLs > alpha
    (below) and CLs <= alpha (above), which is robust against isolated toy fluctuations (e.g.
    CLs = 0 from too few signal-plus-background toys in a far tail); then log CLs is fitted
    with a weighted straight line in mu over the (up to) four grid points around it (weights
    from the toy-statistics errors, CLs = 0 points left out), linear interpolation where the
    line is not decreasing. Error from the fit.
    Returns (mu_cross, err, flag) with flag 0 = ok, -1 = below the grid, +1 = above it.
    """
    nm, k = cls.shape
    out = np.full(nm, np.nan)
    err = np.full(nm, np.nan)
    flag = np.zeros(nm, np.int64)
    tiny = 1e-12
    y = np.log(np.maximum(cls, tiny))
    sy = np.where(cls > 0, cls_err / np.maximum(cls, tiny), 10.0)
    la = np.log(alpha)
    for j in range(nm):  # a few dozen masses: a loop is clearer than masked arrays
        above = y[j] > la
        # misclassified points if the crossing is just before index kk (kk = 0..k)
        cost = np.array([(~above[:kk]).sum() + above[kk:].sum() for kk in range(k + 1)])
        kc = int(np.flatnonzero(cost == cost.min())[-1])
        if kc == k:
            flag[j] = 1
            continue
        if kc == 0:
            flag[j] = -1
            continue
        sel = np.arange(max(0, kc - 2), min(k, kc + 2))
        sel = sel[cls[j, sel] > 0]
        xs, ys, ws = mu[j, sel], y[j, sel], 1.0 / np.maximum(sy[j, sel], 1e-6) ** 2
        slope = np.nan
        if sel.size >= 2:
            xm = (ws * xs).sum() / ws.sum()
            ym = (ws * ys).sum() / ws.sum()
            sxx = (ws * (xs - xm) ** 2).sum()
            slope = (ws * (xs - xm) * (ys - ym)).sum() / sxx
        if np.isfinite(slope) and slope < 0:
            out[j] = xm + (la - ym) / slope
            var_int = 1.0 / ws.sum() + (out[j] - xm) ** 2 / sxx
            err[j] = np.sqrt(var_int) / abs(slope)
            if not mu[j, 0] <= out[j] <= mu[j, -1]:
                out[j] = np.nan
        if not np.isfinite(out[j]):
            x0, x1 = mu[j, kc - 1], mu[j, kc]
            y0, y1 = max(y[j, kc - 1], la), min(y[j, kc], la)
            t = (y0 - la) / (y0 - y1) if y0 != y1 else 0.5
            out[j] = x0 + t * (x1 - x0)
            s = max(sy[j, kc - 1], sy[j, kc])
            err[j] = s / max(abs(y1 - y0) / (x1 - x0), 1e-300)
    return out, err, flag


@dataclass
class ToySettings:
    """Toy counts and grids of :class:`ToyCalculator` (defaults: see ``ProfileMethod``)."""

    n_b: int = 2000
    n_sb: int = 1000
    n_mu: int = 8
    chunk_b: int = 100
    chunk_sb: int = 1000
    mu_lo: float = 0.55
    mu_hi: float = 1.7
    gv_u0: float = 1.0


class ToyCalculator:
    """Toy-based CLs, limits, bands, local and global p-values (module docstring).

    ``asym``: the :class:`AsymptoticCalculator` of the same model and data (its fits are reused
    and its limits centre the per-mass mu grids). ``window``: boolean mask of the masses that
    enter the look-elsewhere effect (default all).
    """

    def __init__(self, asym: AsymptoticCalculator, settings: ToySettings | None = None,
                 seed: Any = None, executor: Any = None, checkpoint_dir: str | None = None,
                 fresh: bool = False, progress: bool = False,
                 window: NDArray[np.bool_] | None = None,
                 asym_limits: tuple[Array, Array] | None = None) -> None:
        self.asym = asym
        self.model = asym.model
        self.s = settings or ToySettings()
        self.seed = seed
        self.executor = executor
        self.checkpoint_dir = checkpoint_dir
        self.fresh = fresh
        self.progress = progress
        nm = asym.nm
        self.window = np.ones(nm, bool) if window is None else np.asarray(window, bool)
        obs, exp = asym_limits if asym_limits is not None else (asym.upper_limits()[0],
                                                                 asym.expected_limits()[0])
        lo = np.fmin(obs, np.fmin.reduce(exp, axis=0))
        hi = np.fmax(obs, np.fmax.reduce(exp, axis=0))
        scale = mu_scale(self.model)
        # masses without any asymptotic limit (no sensitivity): a wide grid, results flagged
        lo = self.s.mu_lo * np.where(np.isfinite(lo), lo, 10.0 * scale)
        hi = self.s.mu_hi * np.where(np.isfinite(hi), hi, 1e4 * scale)
        t = np.linspace(0.0, 1.0, self.s.n_mu)
        self.mu_grid = lo[:, None] * (hi / lo)[:, None] ** t[None, :]
        self.counter = FitCounter()

    # -- running ----------------------------------------------------------------------------
    def _run(self, fn: Callable[..., Any], tasks: list[Any], name: str, config: dict[str, Any]
             ) -> list[Any]:
        from x17scan.parallel import Checkpoint, job_fingerprint, run_tasks

        ck = None
        if self.checkpoint_dir:
            import os

            ck = Checkpoint(os.path.join(self.checkpoint_dir, name), job_fingerprint(config),
                            fresh=self.fresh)
        return run_tasks(fn, tasks, executor=self.executor, checkpoint=ck,
                         desc=f"{name} toys", progress=self.progress)

    def run(self) -> dict[str, Any]:
        """Generate and fit all toys; returns the raw distributions (see :meth:`summarise`)."""
        from x17scan.parallel import chunk_sizes, root_seed_sequence

        m, a = self.model, self.asym
        nm, k = self.mu_grid.shape
        root = root_seed_sequence(self.seed)
        ss_b, ss_sb = root.spawn(2)
        # observed q~ on the grid and the generating points of the s+b toys
        mus = self.mu_grid.ravel()
        midx = np.repeat(np.arange(nm), k)
        cond = minimize(m, a.data.repeat(mus.size), midx, mus,
                        init=(np.repeat(a.bonly.glob, mus.size, 0),
                              np.repeat(a.bonly.loc, mus.size, 0)))
        self.counter.add(cond, "observed_conditional")
        self.q_obs = ts.qmu_tilde(cond.deviance.reshape(nm, k), a.free.deviance[:, None],
                                  a.bonly.deviance[0], a.free.mu[:, None], self.mu_grid)
        fingerprint = {"model": _model_fingerprint(m), "data": _array_digest(a.data.n),
                       "mu_grid": _array_digest(self.mu_grid), "seed": str(root.entropy),
                       "spawn_key": list(root.spawn_key), "settings": vars(self.s)}
        sizes_b = chunk_sizes(self.s.n_b, self.s.chunk_b)
        seeds_b = ss_b.spawn(len(sizes_b))
        tasks_b = [(m, a.bonly.glob, a.bonly.loc, self.mu_grid, n, sd)
                   for n, sd in zip(sizes_b, seeds_b, strict=True)]
        out_b = self._run(_bonly_task, tasks_b, "background-only", {**fingerprint, "kind": "b"})
        sizes_sb = chunk_sizes(self.s.n_sb, self.s.chunk_sb)
        seeds_sb = ss_sb.spawn(nm * len(sizes_sb))
        g_c = cond.glob.reshape(nm, k, -1)
        l_c = cond.loc.reshape(nm, k, *cond.loc.shape[1:])
        tasks_sb = [(m, g_c[j], l_c[j], j, self.mu_grid[j], n, seeds_sb[j * len(sizes_sb) + c])
                    for j in range(nm) for c, n in enumerate(sizes_sb)]
        out_sb = self._run(_sb_task, tasks_sb, "signal+background", {**fingerprint, "kind": "sb"})
        for r in out_b + out_sb:
            self.counter.merge(r["counter"])
        raw = {
            "q0": np.concatenate([r["q0"] for r in out_b]),
            "mu_hat": np.concatenate([r["mu_hat"] for r in out_b]),
            "qtilde_b": np.concatenate([r["qtilde"] for r in out_b]),
            "bad_q0": np.concatenate([r["bad_q0"] for r in out_b]),
            "bad_b": np.concatenate([r["bad_qtilde"] for r in out_b]),
        }
        nchunk = len(sizes_sb)
        raw["qtilde_sb"] = np.stack([np.concatenate([out_sb[j * nchunk + c]["qtilde"]
                                                     for c in range(nchunk)], 1)
                                     for j in range(nm)])          # (nm, k, n_sb)
        raw["bad_sb"] = np.stack([np.concatenate([out_sb[j * nchunk + c]["bad"]
                                                  for c in range(nchunk)], 1) for j in range(nm)])
        self.raw = raw
        return raw

    # -- results ----------------------------------------------------------------------------
    def cls_grid(self) -> dict[str, Array]:
        """Observed CLs, CL_{s+b}, CL_b on the (mass, mu) grid with toy-statistics errors."""
        r = self.raw
        qb = np.moveaxis(r["qtilde_b"], 0, -1)                   # (nm, k, n_b)
        vb = ~np.moveaxis(r["bad_b"], 0, -1)
        vsb = ~r["bad_sb"]
        clsb, n_sb = _frac_ge(r["qtilde_sb"], vsb, self.q_obs)
        clb, n_b = _frac_ge(qb, vb, self.q_obs)
        e_sb = ts.binomial_err(clsb * n_sb, n_sb)
        e_b = ts.binomial_err(clb * n_b, n_b)
        cls = clsb / np.maximum(clb, 1e-300)
        cls_err = np.sqrt((e_sb / np.maximum(clb, 1e-300)) ** 2
                          + (cls * e_b / np.maximum(clb, 1e-300)) ** 2)
        return {"cls": np.minimum(cls, 1.0), "cls_err": cls_err, "clsb": clsb, "clb": clb,
                "clsb_err": e_sb, "clb_err": e_b}

    def expected_cls_grid(self) -> tuple[Array, Array]:
        """Expected CLs (5, nm, k) for the bands: the background-only quantiles of q~_mu at
        levels Phi(-N) taken as 'observed' values (+N: higher limits), and their errors."""
        from scipy.special import ndtr

        r = self.raw
        qb = np.moveaxis(r["qtilde_b"], 0, -1)
        vb = ~np.moveaxis(r["bad_b"], 0, -1)
        vsb = ~r["bad_sb"]
        qb_nan = np.where(vb, qb, np.nan)
        out, err = [], []
        for n in BANDS:
            q_n = np.nanquantile(qb_nan, ndtr(-n), axis=-1, method="linear")
            clsb, n_sb = _frac_ge(r["qtilde_sb"], vsb, q_n)
            clb, n_b = _frac_ge(qb, vb, q_n)
            c = clsb / np.maximum(clb, 1e-300)
            e = np.sqrt((ts.binomial_err(clsb * n_sb, n_sb) / np.maximum(clb, 1e-300)) ** 2
                        + (c * ts.binomial_err(clb * n_b, n_b) / np.maximum(clb, 1e-300)) ** 2)
            out.append(np.minimum(c, 1.0))
            err.append(e)
        return np.stack(out), np.stack(err)

    def upper_limits(self) -> dict[str, Array]:
        """Observed and expected limits on mu per mass with toy-statistics errors and flags
        (-1/+1: the crossing lies below/above the mu grid; NaN there)."""
        alpha = self.asym.alpha
        g = self.cls_grid()
        obs, obs_err, flag = crossing(self.mu_grid, g["cls"], g["cls_err"], alpha)
        ec, ee = self.expected_cls_grid()
        exp = np.empty((len(BANDS), len(obs)))
        exp_err = np.empty_like(exp)
        exp_flag = np.empty(exp.shape, np.int64)
        for i in range(len(BANDS)):
            exp[i], exp_err[i], exp_flag[i] = crossing(self.mu_grid, ec[i], ee[i], alpha)
        return {"observed": obs, "observed_err": obs_err, "observed_flag": flag,
                "expected": exp, "expected_err": exp_err, "expected_flag": exp_flag}

    def local_pvalues(self) -> tuple[Array, Array, Array]:
        """Toy local p-values per mass: P(q0 >= q0_obs | b), error, valid toy count."""
        r = self.raw
        valid = ~r["bad_q0"].T
        p, n = _frac_ge(r["q0"].T, valid, self.asym.q0)
        return p, ts.binomial_err(p * n, n), n

    def global_pvalue(self) -> dict[str, Any]:
        """Global p-value of the largest observed q0 in the window, from max_M q0 of the
        background-only toys, with the Gross-Vitells estimate from the same toys."""
        from x17scan.stats.lee import gross_vitells, upcrossings

        r = self.raw
        w = self.window
        q0_obs = self.asym.q0[w]
        u = float(q0_obs.max())
        valid = ~r["bad_q0"][:, w].any(1)
        qmax = r["q0"][valid][:, w].max(1)
        nv = int(valid.sum())
        k = int((qmax >= u).sum())
        p = k / max(nv, 1)
        n_up = upcrossings(r["q0"][valid][:, w], self.s.gv_u0).mean()
        return {"q0_max": u, "p_global": p, "p_global_err": float(ts.binomial_err(k, nv)),
                "n_toys": nv, "n_exceeding": k, "gv_u0": self.s.gv_u0,
                "gv_upcrossings": float(n_up),
                "p_global_gv": float(gross_vitells(u, n_up, self.s.gv_u0)),
                "q0_max_toys_quantiles": {str(qq): float(np.quantile(qmax, qq))
                                          for qq in (0.5, 0.9, 0.99)} if nv else {}}


def _array_digest(a: Any) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a, dtype=float).tobytes()).hexdigest()[:16]


def _model_fingerprint(model: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {k: _array_digest(v) for k, v in sorted(vars(model).items())
                             if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    parts["kind"] = type(model).__name__
    parts["background"] = getattr(model, "background", None)
    parts["efficiency"] = getattr(model, "efficiency", None)
    return parts
