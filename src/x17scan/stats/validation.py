"""Statistical validation of the ``profile`` method on pseudo-data with a known truth.

Every study draws pseudo-data sets from the likelihood model itself (:mod:`~x17scan.stats.
likelihood`, built on the PADME-like synthetic scan of :mod:`~x17scan.stats.synthetic`: 42
points, ~35 000 background events per point, Voigt line shape with its three signal-shape
nuisances, per-point PoT x B and efficiency nuisances, free background curve K). The truth is
mu = g_ve^2 (0 or an injected value), K = 1 + 0 x, every nuisance at 0; every global observable
is drawn around its true value, as in the method's own toys. The studies:

* ``coverage``: coverage of the 90 % CL upper limits on mu at three masses for injected
  mu_true = (0.5, 1, 2) x the median expected limit, for the asymptotic CLs limit (and the
  CL_{s+b} limit, which should cover exactly). A limit covers iff CLs(mu_true) > alpha (CLs
  decreases in mu), so no root search is needed: five fits per pseudo-data set.
* ``coverage_toys``: the same at 1 x the median expected limit with toy-based CLs (toys
  generated at the conditional estimates of each pseudo-data set, as the method's
  :class:`~x17scan.stats.calculators.ToyCalculator` does).
* ``null`` (background-only ensemble A) and ``null_ref`` (an independent ensemble B, the
  method's "toys"): local p-values at the three masses (the signed root t = sign(mu_hat)
  sqrt(q0_unbounded), p = 1 - Phi(t), which equals the reported one-sided p0 for p < 0.5;
  uniform under H0: KS test), and the global-significance calibration: the fraction of A with
  max_M q0 beyond a threshold vs the global p predicted by Gross-Vitells with the Rice
  up-crossings (asymptotic mode), Gross-Vitells with up-crossings counted in B, and the
  fraction of B (toy mode).
* ``pvalue_toys``: toy-based local p-values (toys at each pseudo-data set's background-only
  fit), randomised rank p = (k + U)/(n + 1): uniform if the toys are calibrated.
* ``pulls``: signal at 3 x the median expected limit (about 5 sigma): bias and pull widths of
  the fitted g_ve^2 (at the best-fit mass, -2 Delta ln L = 1 errors) and of the fitted mass
  (profile in M on a 5 keV grid with parabolic refinement, errors from sqrt(q) = 1).

Work is cut into tasks of fixed size (independent of the number of workers) with their own
``SeedSequence`` and run through :func:`x17scan.parallel.run_tasks` with checkpoints, so a
campaign resumes after an interruption and gives bit-identical numbers for any executor.
Fits that fail after their retry are counted per study and the pseudo-data set is left out of
that study's statistics (reported, never dropped silently).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

from x17scan.errors import InputError
from x17scan.stats import teststat as ts
from x17scan.stats.calculators import (
    AsymptoticCalculator,
    FitCounter,
    _sb_task,
    fit_masses,
)
from x17scan.stats.fit import minimize
from x17scan.stats.lee import gross_vitells, rice_n1, upcrossings
from x17scan.stats.likelihood import ScanData, ScanModel
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table

Array = NDArray[np.float64]

TASKS_VERSION = 2
"""Bumped whenever a task's output changes: checkpoints of older tasks are then refused."""
STUDIES = ("coverage", "coverage_toys", "null", "null_ref", "pvalue_toys", "pulls")
"""All studies, in seed order (each gets child i of the root SeedSequence, whichever run)."""
STUDY_GROUPS = {"coverage": ("coverage", "coverage_toys"), "pvalues": ("null", "pvalue_toys"),
                "global": ("null", "null_ref"), "pulls": ("pulls",)}
"""What ``x17scan validate --studies`` accepts, and the studies each needs."""


@dataclass(frozen=True)
class ValidationSize:
    """Numbers of pseudo-data sets and toys of each study (module docstring)."""

    coverage: int             # pseudo-data sets per (mass, strength), asymptotic CLs
    coverage_toys_data: int   # pseudo-data sets per mass, toy CLs
    coverage_toys: int        # toys per pseudo-data set and hypothesis (s+b and b)
    null: int                 # background-only pseudo-data sets (ensemble A)
    null_ref: int             # background-only toys (ensemble B)
    pvalue_toys_data: int     # pseudo-data sets of the toy local p-values
    pvalue_toys: int          # toys per pseudo-data set
    pulls: int                # pseudo-data sets per injected mass
    chunk: int = 500          # pseudo-data sets per task (asymptotic studies)
    chunk_toys: int = 10      # pseudo-data sets per task (toy studies)


SIZES = {
    "reduced": ValidationSize(coverage=1000, coverage_toys_data=40, coverage_toys=100,
                              null=1000, null_ref=1000, pvalue_toys_data=100, pvalue_toys=100,
                              pulls=200, chunk=500, chunk_toys=20),
    "full": ValidationSize(coverage=10000, coverage_toys_data=400, coverage_toys=400,
                           null=10000, null_ref=10000, pvalue_toys_data=1000,
                           pvalue_toys=400, pulls=2000, chunk=1000, chunk_toys=20),
}


@dataclass(frozen=True)
class ValidationSetup:
    """What is validated: masses (MeV), injected strengths, grids, confidence level."""

    masses: tuple[float, ...] = (16.6, 16.9, 17.2)
    strengths: tuple[float, ...] = (0.5, 1.0, 2.0)   # mu_true / median expected limit
    toy_strength: float = 1.0
    pull_strength: float = 3.0
    lee_grid: tuple[float, float, float] = (16.40, 17.36, 0.02)
    pull_window: float = 0.15     # MeV either side of the true mass
    pull_step: float = 0.005      # MeV
    cl: float = 0.90
    gv_u0: float = 1.0
    z_thresholds: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0, 3.5)   # local Z of the LEE thresholds
    alphas: tuple[float, ...] = (0.5, 0.2, 0.1, 0.05, 0.01)  # global-p calibration levels
    lineshape: str = "voigt"
    table: dict[str, Any] = field(default_factory=dict)      # synthetic_table overrides


# --------------------------------------------------------------------------------------------
# models and truth
# --------------------------------------------------------------------------------------------
def _grid(lo: float, hi: float, step: float) -> Array:
    n = int(np.floor((hi - lo) / step + 1e-6)) + 1
    return np.round(lo + step * np.arange(n), 10)


@dataclass
class Models:
    """The likelihood models of the studies (all on the same Asimov synthetic scan)."""

    cov: ScanModel     # the injection masses
    lee: ScanModel     # the look-elsewhere grid
    pull: ScanModel    # fine windows around each injection mass, concatenated
    pull_n: int        # masses per window
    mu_median: Array   # median expected limit on mu at the injection masses
    rice_n1: float     # Rice up-crossings at level 0 over the LEE grid (truth)
    z_pull: Array      # Asimov significance sqrt(q0) of the pulls' injected signals


def build_models(setup: ValidationSetup) -> Models:
    """Models of the synthetic scan for the studies, the median expected limits (Asimov) and
    the Rice N1 of the LEE grid."""
    table = synthetic_table(seed=None, **setup.table)
    sig = SignalModel(lineshape=setup.lineshape)
    masses = np.asarray(setup.masses, float)
    cov = ScanModel.from_table(table, sig, masses)
    lee = ScanModel.from_table(table, sig, _grid(*setup.lee_grid))
    half = round(setup.pull_window / setup.pull_step)
    offs = setup.pull_step * np.arange(-half, half + 1)
    fine = np.round((masses[:, None] + offs[None, :]).ravel(), 10)
    pull = ScanModel.from_table(table, sig, fine)
    asym = AsymptoticCalculator(cov, cl=setup.cl)
    exp, ok = asym.expected_limits()
    if not ok.all():
        raise InputError("no expected limit at an injection mass", field="masses",
                         fix="choose masses inside the scanned range")
    bonly = minimize(lee, lee.observed(), 0, 0.0)
    t, dirs = lee.whitened(bonly.glob[0])
    n1 = rice_n1(t, np.ones(t.shape[1]), dirs)
    # Asimov data with the pulls' signal: q0 at the true mass
    idx = np.arange(masses.size)
    g, loc = truth(cov, setup.pull_strength * exp[2], masses.size)
    asimov = cov.asimov(g, loc, idx)
    b = minimize(cov, asimov, idx, 0.0)
    f = minimize(cov, asimov, idx, None, init=(b.glob, b.loc))
    z = np.sqrt(np.maximum(2.0 * (b.deviance - f.deviance), 0.0))
    return Models(cov, lee, pull, 2 * half + 1, exp[2].copy(), n1, z)


def truth(model: ScanModel, mu: float | Array, n: int) -> tuple[Array, Array]:
    """True (glob, loc) rows: mu, K = 1 + 0 x, every nuisance at 0 (the synthetic truth)."""
    glob = np.zeros((n, model.n_glob))
    glob[:, 0] = mu
    glob[:, 1] = 1.0
    return glob, np.zeros((n, model.n_points, model.n_loc))


def _draw(model: ScanModel, mu: float, midx: int, n: int, rng: np.random.Generator) -> ScanData:
    g, loc = truth(model, mu, n)
    return model.sample(g, loc, np.full(n, midx, np.intp), rng)


def signed_root(dev_b: Array, dev_free: Array, mu_hat: Array) -> Array:
    """t = sign(mu_hat) sqrt(2 (nll_b - nll_free)): N(0, 1) under H0 asymptotically; t^2 = q0
    where mu_hat > 0."""
    return np.sign(mu_hat) * np.sqrt(np.maximum(2.0 * (dev_b - dev_free), 0.0))


# --------------------------------------------------------------------------------------------
# tasks (module level: picklable for process and Dask executors)
# --------------------------------------------------------------------------------------------
def _asymptotic_cls(model: ScanModel, data: ScanData, j: int, mu: float,
                    counter: FitCounter) -> dict[str, Any]:
    """CCGV asymptotic (CLs, CL_{s+b}, CL_b) at mu for every data set of the batch, with the
    fits of :class:`~x17scan.stats.calculators.AsymptoticCalculator` (batched)."""
    n = len(data)
    bonly = minimize(model, data, j, 0.0)
    init = (bonly.glob, bonly.loc)
    free = minimize(model, data, j, None, init=init)
    cond = minimize(model, data, j, np.full(n, mu), init=init)
    asimov = model.asimov(bonly.glob, bonly.loc, np.full(n, j))
    a_b = minimize(model, asimov, j, 0.0, init=init)
    a_c = minimize(model, asimov, j, np.full(n, mu), init=(a_b.glob, a_b.loc))
    for res, kind in ((bonly, "bonly"), (free, "free"), (cond, "conditional"),
                      (a_b, "asimov_bonly"), (a_c, "asimov_conditional")):
        counter.add(res, kind)
    q = ts.qmu_tilde(cond.deviance, free.deviance, bonly.deviance, free.mu, mu)
    qa = np.maximum(2.0 * (a_c.deviance - a_b.deviance), 0.0)
    cls, clsb, clb = ts.cls_asymptotic(q, qa)
    ok = bonly.converged & free.converged & cond.converged & a_b.converged & a_c.converged
    return {"cls": cls, "clsb": clsb, "clb": clb, "q": q, "ok": ok, "bonly": bonly,
            "cond": cond, "free": free}


def _coverage_task(task: tuple[Any, ...]) -> dict[str, Any]:
    model, j, mu, n, seed = task
    rng = np.random.default_rng(seed)
    counter = FitCounter()
    r = _asymptotic_cls(model, _draw(model, mu, j, n, rng), j, mu, counter)
    return {"cls": r["cls"], "clsb": r["clsb"], "ok": r["ok"], "counter": counter}


def _coverage_toys_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Toy CLs at mu_true for each pseudo-data set: s+b toys at its conditional estimates
    theta_hat(mu), b-only toys at theta_hat(0), q~_mu of both (the method's _sb_task)."""
    model, j, mu, n, n_toys, seed = task
    ss_data, ss_sb, ss_b = seed.spawn(3)
    counter = FitCounter()
    r = _asymptotic_cls(model, _draw(model, mu, j, n, np.random.default_rng(ss_data)), j, mu,
                        counter)
    mus = np.full(n, mu)
    sb = _sb_task((model, r["cond"].glob, r["cond"].loc, j, mus, n_toys, ss_sb))
    b = _sb_task((model, r["bonly"].glob, r["bonly"].loc, j, mus, n_toys, ss_b))
    counter.merge(sb["counter"])
    counter.merge(b["counter"])
    q_obs = r["q"][:, None]
    v_sb, v_b = ~sb["bad"], ~b["bad"]
    n_sb, n_b = v_sb.sum(1), v_b.sum(1)
    clsb = ((sb["qtilde"] >= q_obs) & v_sb).sum(1) / np.maximum(n_sb, 1)
    clb = ((b["qtilde"] >= q_obs) & v_b).sum(1) / np.maximum(n_b, 1)
    cls = np.divide(clsb, clb, out=np.zeros(n), where=clb > 0)
    return {"cls": cls, "clsb": clsb, "clb": clb, "cls_asymptotic": r["cls"],
            "ok": r["ok"] & (n_sb > 0) & (n_b > 0), "bad_toys": int((~v_sb).sum() + (~v_b).sum()),
            "counter": counter}


def _null_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Background-only pseudo-data: signed roots t and q0 at every mass of the model."""
    model, n, seed = task
    rng = np.random.default_rng(seed)
    counter = FitCounter()
    data = _draw(model, 0.0, 0, n, rng)
    bonly = minimize(model, data, 0, 0.0)
    counter.add(bonly, "bonly")
    nm = len(model.masses)
    free = fit_masses(model, data, bonly, counter)
    dev = free.deviance.reshape(n, nm)
    mu_hat = free.mu.reshape(n, nm)
    t = signed_root(bonly.deviance[:, None], dev, mu_hat)
    ok = bonly.converged & free.converged.reshape(n, nm).all(1)
    return {"t": t, "ok": ok, "counter": counter}


def _pvalue_toys_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Toy local p-values: toys at each pseudo-data set's background-only fit, randomised rank
    p = (#(t_toy >= t_obs) + U)/(n_valid + 1) at every mass of the model."""
    model, n, n_toys, seed = task
    ss_data, ss_toys, ss_u = seed.spawn(3)
    counter = FitCounter()
    nm = len(model.masses)
    data = _draw(model, 0.0, 0, n, np.random.default_rng(ss_data))
    bonly = minimize(model, data, 0, 0.0)
    free = fit_masses(model, data, bonly, counter)
    counter.add(bonly, "bonly")
    t_obs = signed_root(bonly.deviance[:, None], free.deviance.reshape(n, nm),
                        free.mu.reshape(n, nm))
    ok = bonly.converged & free.converged.reshape(n, nm).all(1)
    g0, l0 = np.repeat(bonly.glob, n_toys, 0), np.repeat(bonly.loc, n_toys, 0)
    toys = model.sample(g0, l0, np.zeros(n * n_toys, np.intp), np.random.default_rng(ss_toys))
    tb = minimize(model, toys, 0, 0.0, init=(g0, l0))
    counter.add(tb, "toy_bonly")
    tf = fit_masses(model, toys, tb, counter, kind="toy_free")
    t_toy = signed_root(tb.deviance[:, None], tf.deviance.reshape(-1, nm),
                        tf.mu.reshape(-1, nm)).reshape(n, n_toys, nm)
    valid = (tb.converged & tf.converged.reshape(-1, nm).all(1)).reshape(n, n_toys)
    k = ((t_toy >= t_obs[:, None, :]) & valid[..., None]).sum(1)
    nv = valid.sum(1)
    u = np.random.default_rng(ss_u).uniform(size=(n, nm))
    p = (k + u) / (nv[:, None] + 1.0)
    return {"p": p, "ok": ok & (nv > 0), "bad_toys": int((~valid).sum()), "counter": counter}


def _crossing_side(x: Array, r: Array, k: NDArray[np.intp], step: int) -> Array:
    """Where r (n, m), increasing away from column k, first reaches 1 walking from k in
    direction ``step``: linear interpolation of r (NaN if it never does inside the grid)."""
    n, m = r.shape
    out = np.full(n, np.nan)
    cols = np.arange(m)
    beyond = (cols[None, :] - k[:, None]) * step > 0
    hit = beyond & (r >= 1.0)
    idx = np.where(hit, (cols[None, :] - k[:, None]) * step, m + 1).argmin(1)
    has = hit[np.arange(n), idx]
    prev = idx - step
    rows = np.arange(n)[has]
    i1, i0 = idx[has], prev[has]
    r1, r0 = r[rows, i1], r[rows, i0]
    f = (1.0 - r0) / np.where(r1 > r0, r1 - r0, 1.0)
    out[has] = x[i0] + f * (x[i1] - x[i0])
    return out


def _bisect_level(fn: Any, lo: Array, hi: Array, increasing: bool, n_iter: int = 22) -> Array:
    """Vectorised bisection of fn(x) = 1 on [lo, hi] (fn monotone in the given direction)."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        above = fn(mid) >= 1.0
        if increasing:
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        else:
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _mu_interval(model: ScanModel, data: ScanData, midx: NDArray[np.intp], fit: Any,
                 mu_true: float, counter: FitCounter) -> tuple[Array, Array, NDArray[np.bool_]]:
    """-2 Delta ln L = 1 interval of mu at mass indices ``midx`` around the free fits ``fit``
    (bisection in mu; flags: converged and bracketed)."""
    n = len(data)
    conv = np.ones(n, bool)
    mu_hat = fit.mu

    def q_of(m: Array) -> Array:
        res = minimize(model, data, midx, m, init=(fit.glob, fit.loc))
        counter.add(res, "profile_mu")
        conv[:] &= res.converged
        return 2.0 * (res.deviance - fit.deviance)

    h = 0.2 * np.abs(mu_hat) + 0.2 * mu_true
    sig0 = h / np.sqrt(np.maximum(q_of(mu_hat + h), 1e-6))
    hi, lo = mu_hat + 3.0 * sig0, mu_hat - 3.0 * sig0
    # the crossings must be bracketed (q is +inf where the model goes negative)
    ok = (q_of(hi) >= 1.0) & (q_of(lo) >= 1.0)
    up = _bisect_level(q_of, mu_hat, hi, increasing=True)
    dn = _bisect_level(q_of, lo, mu_hat, increasing=False)
    return dn, up, ok & conv & fit.converged


def _pulls_task(task: tuple[Any, ...]) -> dict[str, Any]:
    """Signal at (mass, mu): best-fit mass from the profile in M (window of the fine grid,
    parabolic refinement, errors from sqrt(q) = 1); mu at the best grid mass and at the true
    mass with their -2 Delta ln L = 1 errors (bisection)."""
    model, i_mass, n_win, mass, mu, n, seed = task
    rng = np.random.default_rng(seed)
    counter = FitCounter()
    cols = i_mass * n_win + np.arange(n_win)
    x = np.asarray(model.masses)[cols]
    j_true = int(np.argmin(np.abs(x - mass)))
    data = _draw(model, mu, int(cols[j_true]), n, rng)
    bonly = minimize(model, data, 0, 0.0)
    counter.add(bonly, "bonly")
    free = fit_masses(model, data, bonly, counter, mass_idx=cols)
    # as the method's best fit: a mass hypothesis only counts with a positive signal
    dev = np.where(free.mu.reshape(n, n_win) > 0, free.deviance.reshape(n, n_win),
                   bonly.deviance[:, None])
    conv = free.converged.reshape(n, n_win).all(1) & bonly.converged
    kmin = np.argmin(dev, 1)
    # best mass at the window edge (> 10 sigma_M from the truth): mass error undefined here
    inside = (kmin > 0) & (kmin < n_win - 1)
    k = np.clip(kmin, 1, n_win - 2)
    rows = np.arange(n)
    ym, y0, yp = dev[rows, k - 1], dev[rows, k], dev[rows, k + 1]
    curv = ym - 2.0 * y0 + yp
    h = x[1] - x[0]
    shift = np.where(curv > 0, 0.5 * (ym - yp) / np.where(curv > 0, curv, 1.0), 0.0)
    shift = np.clip(shift, -1.0, 1.0)
    m_hat = x[k] + shift * h
    dmin = y0 - 0.125 * (yp - ym) * (yp - ym) / np.where(curv > 0, curv, np.inf)
    r = np.sqrt(np.maximum(2.0 * (dev - dmin[:, None]), 0.0))
    m_lo = _crossing_side(x, r, k, -1)
    m_hi = _crossing_side(x, r, k, +1)
    # mu at the best grid mass (what the method reports) and at the true mass
    kbest = kmin
    fb = free.take(rows * n_win + kbest)
    ft = free.take(rows * n_win + j_true)
    lo_b, hi_b, ok_b = _mu_interval(model, data, cols[kbest], fb, mu, counter)
    lo_t, hi_t, ok_t = _mu_interval(model, data, np.full(n, cols[j_true]), ft, mu, counter)
    return {"mass_hat": m_hat, "mass_lo": m_lo, "mass_hi": m_hi, "mu_hat": fb.mu,
            "mu_lo": lo_b, "mu_hi": hi_b, "mu_hat_true_mass": ft.mu, "mu_lo_true_mass": lo_t,
            "mu_hi_true_mass": hi_t,
            "ok": conv & ok_b & ok_t & inside & np.isfinite(m_lo + m_hi),
            "mass_at_window_edge": int((~inside).sum()),
            "counter": counter}


# --------------------------------------------------------------------------------------------
# campaign
# --------------------------------------------------------------------------------------------
def _binom(k: float, n: float) -> float:
    return float(np.sqrt(max(k / max(n, 1) * (1 - k / max(n, 1)), 0.0) / max(n, 1)))


@dataclass
class ValidationRun:
    """Numbers (``summary``: the contents of validation.json) and per-data-set samples (the
    figures' inputs, written to samples.npz)."""

    summary: dict[str, Any]
    samples: dict[str, Array]


def _model_digest(models: Models) -> str:
    from x17scan.stats.calculators import _array_digest

    return "-".join(_array_digest(m.s0) + _array_digest(m.b)
                    for m in (models.cov, models.lee, models.pull))


def run_validation(size: str | ValidationSize = "reduced", seed: int = 1, *,
                   studies: tuple[str, ...] = STUDIES, setup: ValidationSetup | None = None,
                   workers: int = 1, scheduler: str | None = None,
                   checkpoint_dir: str | None = None, fresh: bool = False,
                   progress: bool = False) -> ValidationRun:
    """Run the validation studies (module docstring) and summarise them.

    ``size``: ``"reduced"`` (CI), ``"full"`` or a :class:`ValidationSize`; ``seed``: root seed
    (study i uses child i of ``SeedSequence(seed)`` whichever studies run); ``checkpoint_dir``:
    finished tasks are kept there (one folder per study) and a re-run resumes.
    """
    from x17scan import __version__
    from x17scan.parallel import (
        Checkpoint,
        job_fingerprint,
        make_executor,
        root_seed_sequence,
        run_tasks,
    )

    sz = SIZES[size] if isinstance(size, str) else size
    st = setup or ValidationSetup()
    unknown = set(studies) - set(STUDIES)
    if unknown:
        raise InputError(f"unknown validation studies {sorted(unknown)}", field="studies",
                         fix=f"use {', '.join(STUDIES)}")
    root = root_seed_sequence(seed)
    children = dict(zip(STUDIES, root.spawn(len(STUDIES)), strict=True))
    models = build_models(st)
    digest = _model_digest(models)
    base_fp = {"size": asdict(sz), "setup": asdict(st), "seed": str(root.entropy),
               "models": digest, "version": __version__, "tasks": TASKS_VERSION}
    mu_med = models.mu_median
    nmass = len(st.masses)
    raw: dict[str, list[Any]] = {}

    def chunks(total: int, chunk: int) -> list[int]:
        from x17scan.parallel import chunk_sizes

        return chunk_sizes(total, chunk)

    with make_executor(workers, scheduler) as ex:
        def run(study: str, fn: Any, tasks: list[Any]) -> list[Any]:
            ck = None
            if checkpoint_dir:
                ck = Checkpoint(os.path.join(checkpoint_dir, study),
                                job_fingerprint({**base_fp, "study": study}), fresh=fresh)
            return run_tasks(fn, tasks, executor=ex, checkpoint=ck,
                             desc=f"validation: {study}", progress=progress)

        if "coverage" in studies:
            sizes = chunks(sz.coverage, sz.chunk)
            grid = [(i, s) for i in range(nmass) for s in range(len(st.strengths))]
            seeds = children["coverage"].spawn(len(grid) * len(sizes))
            tasks = [(models.cov, i, float(st.strengths[s] * mu_med[i]), n,
                      seeds[g * len(sizes) + c])
                     for g, (i, s) in enumerate(grid) for c, n in enumerate(sizes)]
            raw["coverage"] = [grid, len(sizes), run("coverage", _coverage_task, tasks)]
        if "coverage_toys" in studies:
            sizes = chunks(sz.coverage_toys_data, sz.chunk_toys)
            seeds = children["coverage_toys"].spawn(nmass * len(sizes))
            tasks = [(models.cov, i, float(st.toy_strength * mu_med[i]), n, sz.coverage_toys,
                      seeds[i * len(sizes) + c]) for i in range(nmass)
                     for c, n in enumerate(sizes)]
            raw["coverage_toys"] = [len(sizes), run("coverage_toys", _coverage_toys_task, tasks)]
        for study, total in (("null", sz.null), ("null_ref", sz.null_ref)):
            if study in studies:
                sizes = chunks(total, sz.chunk)
                seeds = children[study].spawn(len(sizes))
                tasks = [(models.lee, n, s) for n, s in zip(sizes, seeds, strict=True)]
                raw[study] = run(study, _null_task, tasks)
        if "pvalue_toys" in studies:
            sizes = chunks(sz.pvalue_toys_data, sz.chunk_toys)
            seeds = children["pvalue_toys"].spawn(len(sizes))
            tasks = [(models.cov, n, sz.pvalue_toys, s) for n, s in zip(sizes, seeds,
                                                                      strict=True)]
            raw["pvalue_toys"] = run("pvalue_toys", _pvalue_toys_task, tasks)
        if "pulls" in studies:
            sizes = chunks(sz.pulls, sz.chunk)
            seeds = children["pulls"].spawn(nmass * len(sizes))
            tasks = [(models.pull, i, models.pull_n, float(st.masses[i]),
                      float(st.pull_strength * mu_med[i]), n, seeds[i * len(sizes) + c])
                     for i in range(nmass) for c, n in enumerate(sizes)]
            raw["pulls"] = [len(sizes), run("pulls", _pulls_task, tasks)]
    return summarise(raw, models, st, sz, seed)


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------
def _coverage_entry(covered: NDArray[np.bool_], nominal: float) -> dict[str, Any]:
    n = int(covered.size)
    k = int(covered.sum())
    c = k / max(n, 1)
    sig_nom = float(np.sqrt(nominal * (1 - nominal) / max(n, 1)))
    return {"n": n, "covered": k, "coverage": c, "err": _binom(k, n), "err_nominal": sig_nom,
            "pull": (c - nominal) / sig_nom}


def _counts(counter: FitCounter, n_sets: int, n_excluded: int, **more: Any) -> dict[str, Any]:
    return {"fits": counter.fits, "retried_fits": counter.retried,
            "failed_fits": counter.failed, "pseudo_data_sets": n_sets,
            "excluded_pseudo_data_sets": n_excluded, **more}


def _ks(p: Array) -> dict[str, Any]:
    res = sps.kstest(p, "uniform")
    return {"n": int(p.size), "ks_statistic": float(res.statistic), "ks_pvalue": float(res.pvalue),
            "fraction_below_0.05": float((p < 0.05).mean()),
            "fraction_below_0.05_err": _binom(float((p < 0.05).sum()), p.size)}


def summarise(raw: dict[str, Any], models: Models, st: ValidationSetup, sz: ValidationSize,
              seed: int) -> ValidationRun:
    """validation.json contents and the samples of the figures from the tasks' outputs."""
    from x17scan import provenance

    alpha = 1.0 - st.cl
    out: dict[str, Any] = {
        "setup": asdict(st), "size": asdict(sz), "seed": seed,
        "truth": {"table": "x17scan.stats.synthetic.synthetic_table (Asimov), "
                           f"overrides {st.table}",
                  "K": [1.0, 0.0], "nuisances": 0.0,
                  "median_expected_limit_mu": dict(zip(map(str, st.masses),
                                                       models.mu_median.tolist(), strict=True)),
                  "median_expected_limit_g": dict(zip(map(str, st.masses),
                                                      np.sqrt(models.mu_median).tolist(),
                                                      strict=True))},
        "versions": provenance.versions(),
    }
    samples: dict[str, Array] = {}
    checks: list[dict[str, Any]] = []
    diag: dict[str, Any] = {}

    if "coverage" in raw:
        grid, nchunk, res = raw["coverage"]
        rows = []
        counter = FitCounter()
        n_ex = 0
        for g, (i, s) in enumerate(grid):
            parts = res[g * nchunk:(g + 1) * nchunk]
            ok = np.concatenate([p["ok"] for p in parts])
            cls = np.concatenate([p["cls"] for p in parts])[ok]
            clsb = np.concatenate([p["clsb"] for p in parts])[ok]
            for p in parts:
                counter.merge(p["counter"])
            n_ex += int((~ok).sum())
            e_cls = _coverage_entry(cls > alpha, st.cl)
            e_clsb = _coverage_entry(clsb > alpha, st.cl)
            rows.append({"mass_MeV": st.masses[i], "strength": st.strengths[s],
                         "mu_true": float(st.strengths[s] * models.mu_median[i]),
                         "g_true": float(np.sqrt(st.strengths[s] * models.mu_median[i])),
                         "cls": e_cls, "clsb": e_clsb})
            samples[f"coverage_cls_m{i}_s{s}"] = cls
            checks.append({"check": f"CLs coverage (asymptotic) at {st.masses[i]} MeV, "
                                    f"mu = {st.strengths[s]} x median limit",
                           "value": e_cls["coverage"], "err": e_cls["err"],
                           "criterion": ">= 0.90 - 2 sigma_binomial",
                           "passed": bool(e_cls["pull"] >= -2.0)})
            # CL_{s+b} limits cover exactly (asymptotically): a control of the calculator
            checks.append({"check": f"CL_s+b coverage (asymptotic) at {st.masses[i]} MeV, "
                                    f"mu = {st.strengths[s]} x median limit",
                           "value": e_clsb["coverage"], "err": e_clsb["err"],
                           "criterion": "|coverage - 0.90| <= 2 sigma_binomial",
                           "passed": bool(abs(e_clsb["pull"]) <= 2.0)})
        out["coverage"] = {"rows": rows, "calculator": "asymptotic CLs (CCGV, q~_mu)",
                           "diagnostics": _counts(counter, sum(r["cls"]["n"] for r in rows)
                                                  + n_ex, n_ex)}
        diag["coverage"] = out["coverage"]["diagnostics"]
    if "coverage_toys" in raw:
        nchunk, res = raw["coverage_toys"]
        rows = []
        counter = FitCounter()
        n_ex = bad = 0
        for i in range(len(st.masses)):
            parts = res[i * nchunk:(i + 1) * nchunk]
            ok = np.concatenate([p["ok"] for p in parts])
            cls = np.concatenate([p["cls"] for p in parts])[ok]
            cls_a = np.concatenate([p["cls_asymptotic"] for p in parts])[ok]
            for p in parts:
                counter.merge(p["counter"])
                bad += p["bad_toys"]
            n_ex += int((~ok).sum())
            e = _coverage_entry(cls > alpha, st.cl)
            rows.append({"mass_MeV": st.masses[i], "strength": st.toy_strength,
                         "mu_true": float(st.toy_strength * models.mu_median[i]),
                         "cls": e, "cls_asymptotic_same_sets": _coverage_entry(cls_a > alpha,
                                                                               st.cl),
                         "toys_per_hypothesis": sz.coverage_toys})
            samples[f"coverage_toys_cls_m{i}"] = cls
            checks.append({"check": f"CLs coverage (toys) at {st.masses[i]} MeV, "
                                    f"mu = {st.toy_strength} x median limit",
                           "value": e["coverage"], "err": e["err"],
                           "criterion": ">= 0.90 - 2 sigma_binomial",
                           "passed": bool(e["pull"] >= -2.0)})
        out["coverage_toys"] = {"rows": rows, "calculator": "toy CLs (ToyCalculator's s+b and "
                                "b-only toys at the conditional estimates of each data set)",
                                "diagnostics": _counts(counter, sum(r["cls"]["n"] for r in rows)
                                                       + n_ex, n_ex, failed_toys=bad)}
        diag["coverage_toys"] = out["coverage_toys"]["diagnostics"]
    lee_masses = np.asarray(models.lee.masses)
    if "null" in raw:
        res = raw["null"]
        ok = np.concatenate([p["ok"] for p in res])
        t = np.concatenate([p["t"] for p in res])[ok]
        counter = FitCounter()
        for p in res:
            counter.merge(p["counter"])
        loc = []
        for m in st.masses:
            j = int(np.argmin(np.abs(lee_masses - m)))
            p = ts.p_from_z(t[:, j])
            samples[f"local_p_asymptotic_{len(loc)}"] = p
            e = {"mass_MeV": float(lee_masses[j]), **_ks(p)}
            loc.append(e)
            checks.append({"check": f"local p uniform under H0 (asymptotic) at {m} MeV",
                           "value": e["ks_pvalue"], "criterion": "KS p-value > 0.01",
                           "passed": bool(e["ks_pvalue"] > 0.01)})
        out["local_pvalues"] = {"asymptotic": loc, "statistic": "p = 1 - Phi(t), t = sign("
                                "mu_hat) sqrt(q0 unbounded); equals the reported p0 for p < 0.5"}
        diag["null"] = _counts(counter, int(ok.size), int((~ok).sum()))
        samples["null_t"] = t
    if "pvalue_toys" in raw:
        res = raw["pvalue_toys"]
        ok = np.concatenate([p["ok"] for p in res])
        p_all = np.concatenate([p["p"] for p in res])[ok]
        counter = FitCounter()
        bad = 0
        for p in res:
            counter.merge(p["counter"])
            bad += p["bad_toys"]
        rows = []
        for i, m in enumerate(st.masses):
            e = {"mass_MeV": m, **_ks(p_all[:, i]), "toys_per_data_set": sz.pvalue_toys}
            samples[f"local_p_toys_{i}"] = p_all[:, i]
            rows.append(e)
            checks.append({"check": f"local p uniform under H0 (toys) at {m} MeV",
                           "value": e["ks_pvalue"], "criterion": "KS p-value > 0.01",
                           "passed": bool(e["ks_pvalue"] > 0.01)})
        out.setdefault("local_pvalues", {})["toys"] = rows
        out["local_pvalues"]["toys_p"] = "randomised rank p = (#(t_toy >= t_obs) + U)/(n + 1)"
        diag["pvalue_toys"] = _counts(counter, int(ok.size), int((~ok).sum()), failed_toys=bad)
    if "null" in raw and "null_ref" in raw:
        ref = raw["null_ref"]
        ok_b = np.concatenate([p["ok"] for p in ref])
        t_b = np.concatenate([p["t"] for p in ref])[ok_b]
        counter = FitCounter()
        for p in ref:
            counter.merge(p["counter"])
        diag["null_ref"] = _counts(counter, int(ok_b.size), int((~ok_b).sum()))
        out["global"] = global_calibration(samples["null_t"], t_b, models.rice_n1, st, seed)
        samples["null_ref_t"] = t_b
        for row in out["global"]["thresholds"]:
            for name, pr in row["predicted"].items():
                checks.append(_calibration_check(
                    f"global p at Z_local = {row['z_local']} ({name})", row["fraction"],
                    pr["p"], pr["sigma"], exact=name == "toys"))
        for row in out["global"]["alphas"]:
            for name in ("toys", "gross_vitells_rice"):
                checks.append(_calibration_check(
                    f"P(p_global <= {row['alpha']}) ({name})", row[f"fraction_{name}"],
                    row["alpha"], row[f"sigma_{name}"], exact=name == "toys"))
        ks = out["global"]["toy_p_uniformity"]
        checks.append({"check": "global p from toys uniform under H0", "value": ks["ks_pvalue"],
                       "criterion": "KS p-value > 0.01", "passed": bool(ks["ks_pvalue"] > 0.01)})
    if "pulls" in raw:
        nchunk, res = raw["pulls"]
        rows = []
        counter = FitCounter()
        n_ex = edge = 0
        for i, m in enumerate(st.masses):
            parts = res[i * nchunk:(i + 1) * nchunk]
            keys = [k for k in parts[0] if isinstance(parts[0][k], np.ndarray)]
            cat = {k: np.concatenate([p[k] for p in parts]) for k in keys}
            for p in parts:
                counter.merge(p["counter"])
                edge += p["mass_at_window_edge"]
            ok = cat.pop("ok")
            n_ex += int((~ok).sum())
            mu_true = float(st.pull_strength * models.mu_median[i])
            e = pull_summary({k: v[ok] for k, v in cat.items()}, m, mu_true)
            # maximising Z(M) = Z0 rho(M - M0) + n(M) over M (n: the Gaussian process whose
            # correlation is the signal shape) shifts it up by n'^2/(2 Z0 lambda2), mean 1/(2 Z0)
            e["z_asimov"] = float(models.z_pull[i])
            e["mu"]["expected_pull_mean"] = float(0.5 / models.z_pull[i])
            rows.append(e)
            for q in ("mu", "mu_at_true_mass", "mass"):
                samples[f"pull_{q}_m{i}"] = e.pop("_pull_" + q)
            s_ = e["mu"]
            checks.append({"check": f"mu pull at the fitted mass at {m} MeV: mean 1/(2 Z0) = "
                                    f"{s_['expected_pull_mean']:.3f}, width 1",
                           "value": [s_["pull_mean"], s_["pull_width"]],
                           "err": [s_["pull_mean_err"], s_["pull_width_err"]],
                           "criterion": "mean and width within 3 standard errors of "
                                        "1/(2 Z0), 1",
                           "passed": bool(abs(s_["pull_mean"] - s_["expected_pull_mean"])
                                          <= 3 * s_["pull_mean_err"]
                                          and abs(s_["pull_width"] - 1)
                                          <= 3 * s_["pull_width_err"])})
            for q in ("mu_at_true_mass", "mass"):
                s_ = e[q]
                checks.append({"check": f"{q} pull at {m} MeV: mean 0, width 1",
                               "value": [s_["pull_mean"], s_["pull_width"]],
                               "err": [s_["pull_mean_err"], s_["pull_width_err"]],
                               "criterion": "mean and width within 3 standard errors of 0, 1",
                               "passed": bool(abs(s_["pull_mean"]) <= 3 * s_["pull_mean_err"]
                                              and abs(s_["pull_width"] - 1)
                                              <= 3 * s_["pull_width_err"])})
        out["pulls"] = {"rows": rows, "strength": st.pull_strength,
                        "note": "mu: at the best-fit grid mass (what the method reports; "
                                "maximising over M favours upward fluctuations: expected mean "
                                "pull 1/(2 Z0) to leading order, Z0 the Asimov significance); "
                                "mu_at_true_mass: the mass fixed at the truth (tests the "
                                "likelihood and the fitter)",
                        "mass_profile": f"grid step {st.pull_step} MeV, window +-"
                                        f"{st.pull_window} MeV, parabolic refinement",
                        "diagnostics": _counts(counter, sum(r["n"] for r in rows) + n_ex, n_ex,
                                               best_mass_at_window_edge=edge)}
        diag["pulls"] = out["pulls"]["diagnostics"]
    out["diagnostics"] = diag
    out["diagnostics_total"] = {
        "fits": int(sum(d["fits"] for d in diag.values())),
        "retried_fits": int(sum(d["retried_fits"] for d in diag.values())),
        "failed_fits": int(sum(d["failed_fits"] for d in diag.values())),
        "excluded_pseudo_data_sets": int(sum(d["excluded_pseudo_data_sets"]
                                             for d in diag.values()))}
    out["checks"] = checks
    out["passed"] = {"n_checks": len(checks), "n_passed": int(sum(c["passed"] for c in checks))}
    return ValidationRun(out, samples)


def _calibration_check(name: str, fraction: float, predicted: float, sigma: float,
                       exact: bool) -> dict[str, Any]:
    """Observed fraction vs predicted probability: within 2 sigma for the toys (exact by
    construction). First-order Gross-Vitells is an upper bound (the expected number of
    up-crossings bounds the probability of at least one; the neglected multiple excursions
    are an O(p) relative correction): no more than 2 sigma below the observed fraction
    everywhere, and within 2 sigma where it predicts <= 0.05."""
    pull = (fraction - predicted) / sigma if sigma > 0 else 0.0
    if exact:
        crit, ok = "|fraction - predicted| <= 2 sigma_binomial", abs(pull) <= 2.0
    elif predicted <= 0.05:
        crit, ok = "|fraction - predicted| <= 2 sigma_binomial (tail)", abs(pull) <= 2.0
    else:
        crit, ok = "fraction <= predicted + 2 sigma_binomial (conservative)", pull <= 2.0
    return {"check": name, "value": fraction, "predicted": predicted, "err": sigma,
            "pull": pull, "criterion": crit, "passed": bool(ok)}


def global_calibration(t_a: Array, t_b: Array, n1: float, st: ValidationSetup,
                       seed: int = 1) -> dict[str, Any]:
    """Fraction of the background-only ensemble A with max_M q0 beyond thresholds vs the global
    p predicted by Gross-Vitells (Rice N1; up-crossings of the toys B) and by the toys B."""
    q_a = np.where(t_a > 0, t_a * t_a, 0.0)
    q_b = np.where(t_b > 0, t_b * t_b, 0.0)
    max_a, max_b = q_a.max(1), q_b.max(1)
    na, nb = max_a.size, max_b.size
    u0 = st.gv_u0
    n_up = float(upcrossings(q_b, u0).mean())
    n_rice = n1 * np.exp(-u0 / 2.0)
    rows = []
    for z in st.z_thresholds:
        u = z * z
        k = int((max_a >= u).sum())
        f = k / na
        kb = int((max_b >= u).sum())
        pred = {"gross_vitells_rice": float(gross_vitells(u, n_rice, u0)),
                "gross_vitells_toys": float(gross_vitells(u, n_up, u0)),
                "toys": kb / nb}
        entry = {}
        for name, p in pred.items():
            var = p * (1 - p) / na + (p * (1 - p) / nb if name == "toys" else 0.0)
            sig = float(np.sqrt(max(var, 1e-300)))
            entry[name] = {"p": p, "sigma": sig, "pull": (f - p) / sig}
        rows.append({"z_local": z, "q0_threshold": u, "p_local": float(ts.p0_asymptotic(u)),
                     "n": na, "n_beyond": k, "fraction": f, "fraction_err": _binom(k, na),
                     "predicted": entry})
    # the toy-based global p of every data set of A (from B), as the method reports it
    srt = np.sort(max_b)
    k_ge = nb - np.searchsorted(srt, max_a, side="left")
    k_gt = nb - np.searchsorted(srt, max_a, side="right")
    p_toy = k_ge / nb
    # randomised rank p (ties: max q0 = 0 has a point mass): exactly uniform if calibrated
    u = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(STUDIES) + 1)[-1])
    p_rank = (k_gt + u.uniform(size=na) * (k_ge - k_gt + 1)) / (nb + 1)
    p_rice = gross_vitells(max_a, n_rice, u0)
    alphas = []
    for a in st.alphas:
        fr = float((p_toy <= a).mean())
        frr = float((p_rice <= a).mean())
        sig = float(np.sqrt(a * (1 - a) / na))
        # the toy p carries the statistics of B too: its alpha-quantile fluctuates
        sig_t = float(np.sqrt(a * (1 - a) * (1.0 / na + 1.0 / nb)))
        alphas.append({"alpha": a, "fraction_toys": fr, "fraction_gross_vitells_rice": frr,
                       "sigma_toys": sig_t, "sigma_gross_vitells_rice": sig,
                       "pull_toys": (fr - a) / sig_t, "pull_gross_vitells_rice": (frr - a) / sig})
    ks = sps.kstest(p_rank, "uniform")
    return {"mass_grid_MeV": list(st.lee_grid), "u0": u0, "rice_n1": n1,
            "upcrossings_u0_toys": n_up, "upcrossings_u0_rice": float(n_rice),
            "thresholds": rows, "alphas": alphas,
            "toy_p_uniformity": {"ks_statistic": float(ks.statistic),
                                 "ks_pvalue": float(ks.pvalue), "n": na,
                                 "note": "randomised rank p = (#(B > a) + U (#(B = a) + 1))"
                                         "/(N_B + 1) of max q0"}}


def _pull_stats(p: Array) -> dict[str, float]:
    n = p.size
    sd = float(p.std(ddof=1)) if n > 1 else float("nan")
    return {"pull_mean": float(p.mean()), "pull_mean_err": sd / np.sqrt(n), "pull_width": sd,
            "pull_width_err": sd / np.sqrt(2.0 * (n - 1))}


def _side_err(hat: Array, lo: Array, hi: Array, true: float) -> Array:
    """The error towards the truth (asymmetric intervals)."""
    return np.where(hat < true, hi - hat, hat - lo)


def pull_summary(s: dict[str, Array], mass: float, mu_true: float) -> dict[str, Any]:
    """Bias and pull widths of mu (at the best-fit mass and at the true mass) and of the mass."""
    n = int(s["mu_hat"].size)
    out: dict[str, Any] = {"mass_MeV": mass, "mu_true": mu_true, "g_true": float(np.sqrt(mu_true)),
                           "n": n}
    for key, sfx in (("mu", ""), ("mu_at_true_mass", "_true_mass")):
        hat = s["mu_hat" + sfx]
        err = _side_err(hat, s["mu_lo" + sfx], s["mu_hi" + sfx], mu_true)
        pull = (hat - mu_true) / err
        rel = (hat - mu_true) / mu_true
        out[key] = {**_pull_stats(pull), "relative_bias": float(rel.mean()),
                    "relative_bias_err": float(rel.std(ddof=1) / np.sqrt(n)),
                    "mean_error": float(err.mean())}
        out["_pull_" + key] = pull
    err = _side_err(s["mass_hat"], s["mass_lo"], s["mass_hi"], mass)
    pull = (s["mass_hat"] - mass) / err
    d = s["mass_hat"] - mass
    out["mass"] = {**_pull_stats(pull), "bias_MeV": float(d.mean()),
                   "bias_MeV_err": float(d.std(ddof=1) / np.sqrt(n)),
                   "mean_error_MeV": float(err.mean())}
    out["_pull_mass"] = pull
    return out


def as_samples_arrays(run: ValidationRun) -> dict[str, Array]:
    """The samples as float arrays (for ``numpy.savez``)."""
    return {k: np.asarray(v, dtype=float) for k, v in sorted(run.samples.items())}

