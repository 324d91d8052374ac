"""CLs at grid points (M, g) for one dataset: the work unit of observed limits and bands.

For a dataset (the data or a pseudo-experiment) with its ``SeedSequence``:

1. background-only fit (closed form) -> (P0, P1)_B, chi2_B;
2. one shared set of ``n_toys`` background-only toys generated from that fit, each fitted
   background-only once (§5, kind 1);
3. per grid point (M, g): the dataset's S+B fit (from the nominal values) -> Q_obs;
   ``n_toys`` S+B toys generated from that fit; every b-toy and s+b-toy fitted S+B at (M, g)
   starting from the dataset's fit, s+b-toys also background-only; Q = chi2_SB - chi2_B; a toy
   counts only if both of its fits converged; counts with strict inequalities (§6).

Everything is batched: all toys of all g values of one mass go through one call of
:func:`~x17scan.stats.padme_run3.fit.fit_sb`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from x17scan.stats.padme_run3.cls import CLsGraph, ToyCounts, cls_graph, count_toys
from x17scan.stats.padme_run3.fit import fit_sb
from x17scan.stats.padme_run3.limits import (
    adaptive_first,
    adaptive_second,
    upper_limits,
)
from x17scan.stats.padme_run3.model import Dataset, PadmeProblem, fit_b, ratio_and_weights
from x17scan.stats.padme_run3.toys import (
    KIND_BTOYS,
    KIND_SBTOYS,
    generate,
    grid_key,
    keyed_rng,
    rel_model_b,
    rel_model_sb,
)

F64 = NDArray[np.float64]


@dataclass
class PreparedDataset:
    """A dataset with its background-only fit and its shared background-only toys."""

    dataset: Dataset
    r: F64
    w: F64
    p_b: F64
    chi2_b: float
    btoy_r: F64
    btoy_w: F64
    btoy_chi2_b: F64
    btoy_ok: NDArray[np.bool_]


def prepare(problem: PadmeProblem, dataset: Dataset, ss: np.random.SeedSequence,
            n_toys: int) -> PreparedDataset:
    """Background-only fit of the dataset and its shared background-only toys."""
    kprec = problem.k_prec()
    r, w = dataset.ratio_weights(problem)
    p_b, chi2_b = fit_b(r, w, problem.x, dataset.center[:2], kprec)
    rng = keyed_rng(ss, KIND_BTOYS)
    n_obs, pot_o, bkg_o = generate(rng, n_toys, dataset.pot, dataset.bkg,
                                   rel_model_b(problem, p_b), problem.pot_err, problem.bkg_err)
    br, bw = ratio_and_weights(n_obs, pot_o, bkg_o, problem.pot_err, problem.bkg_err)
    _, bchi2 = fit_b(br, bw, problem.x, dataset.center[:2], kprec)
    ok = np.isfinite(bchi2) & np.all(np.isfinite(bw), axis=1)
    return PreparedDataset(dataset=dataset, r=r, w=w, p_b=p_b, chi2_b=float(chi2_b),
                           btoy_r=br, btoy_w=bw, btoy_chi2_b=bchi2, btoy_ok=ok)


@dataclass
class PointResults:
    """CLs ingredients at P grid points of one mass (arrays of length P, sorted by g)."""

    mass: float
    g: F64
    q_obs: F64
    chi2_sb: F64
    theta: F64                  # (P, 7) dataset S+B fits
    data_converged: NDArray[np.bool_]
    counts: ToyCounts
    n_fits: int = 0             # S+B toy fits + background-only fits of s+b toys
    n_failed: int = 0           # toy S+B fits that failed after the retry
    n_retried: int = 0
    n_voigt_rows: int = 0
    extra: dict = field(default_factory=dict)
    # mean and standard deviation of Q over the valid b-toys at each g (score-test view)
    q_b_mean: F64 | None = None
    q_b_std: F64 | None = None

    def merge(self, other: PointResults) -> PointResults:
        """Union of two evaluations at the same mass (sorted by g)."""
        g = np.concatenate([self.g, other.g])
        o = np.argsort(g, kind="stable")
        cat = lambda a, b: np.concatenate([a, b])[o]  # noqa: E731
        c = ToyCounts(cat(self.counts.nb_valid, other.counts.nb_valid),
                      cat(self.counts.nb_pass, other.counts.nb_pass),
                      cat(self.counts.ns_valid, other.counts.ns_valid),
                      cat(self.counts.ns_pass, other.counts.ns_pass))
        return PointResults(mass=self.mass, g=g[o], q_obs=cat(self.q_obs, other.q_obs),
                            chi2_sb=cat(self.chi2_sb, other.chi2_sb),
                            theta=np.concatenate([self.theta, other.theta])[o],
                            data_converged=cat(self.data_converged, other.data_converged),
                            counts=c, n_fits=self.n_fits + other.n_fits,
                            n_failed=self.n_failed + other.n_failed,
                            n_retried=self.n_retried + other.n_retried,
                            n_voigt_rows=self.n_voigt_rows + other.n_voigt_rows,
                            q_b_mean=_cat_opt(self.q_b_mean, other.q_b_mean, o),
                            q_b_std=_cat_opt(self.q_b_std, other.q_b_std, o))

    def graph(self, problem: PadmeProblem) -> CLsGraph:
        cfg = problem.config
        return cls_graph(self.g, self.counts, cfg.wilson_cl, cfg.count_truncation)


def _cat_opt(a, b, order):
    if a is None or b is None:
        return None
    return np.concatenate([a, b])[order]


def evaluate_points(problem: PadmeProblem, prep: PreparedDataset, ss: np.random.SeedSequence,
                    mass: float, gs: F64, n_toys: int) -> PointResults:
    """Q_obs and toy counts at (mass, g) for each g in ``gs`` (one batched fit call)."""
    gs = np.asarray(gs, dtype=np.float64)
    p = gs.size
    n = problem.n
    eres = float(problem.e_res(mass))
    ds = prep.dataset
    # 1. the dataset's S+B fits from the nominal values
    data_fit = fit_sb(problem, np.broadcast_to(prep.r, (p, n)), np.broadcast_to(prep.w, (p, n)),
                      np.full(p, eres), gs**2, ds.center, problem.center)
    q_obs = data_fit.chi2 - prep.chi2_b
    theta = data_fit.theta
    # 2. s+b toys from the dataset's fit at each g (stream keyed by the grid point)
    rel = rel_model_sb(problem, theta, np.full(p, mass), gs)
    s_n = np.empty((p, n_toys, n))
    s_pot = np.empty((p, n_toys, n))
    s_bkg = np.empty((p, n_toys, n))
    for j in range(p):
        rng = keyed_rng(ss, KIND_SBTOYS, *grid_key(mass, gs[j]))
        s_n[j], s_pot[j], s_bkg[j] = generate(rng, n_toys, ds.pot, ds.bkg, rel[j],
                                              problem.pot_err, problem.bkg_err)
    sr, sw = ratio_and_weights(s_n, s_pot, s_bkg, problem.pot_err, problem.bkg_err)
    _, s_chi2_b = fit_b(sr, sw, problem.x, ds.center[:2], problem.k_prec())
    s_ok_b = np.isfinite(s_chi2_b) & np.all(np.isfinite(sw), axis=-1)
    # 3. S+B fits of b-toys and s+b-toys at every g, from the dataset's fit there; rows index
    #    one array holding the shared b-toys then the s+b-toys of each g (no copies per g)
    nt_b = prep.btoy_r.shape[0]
    src_r = np.concatenate([prep.btoy_r, sr.reshape(p * n_toys, n)])
    src_w = np.concatenate([prep.btoy_w, sw.reshape(p * n_toys, n)])
    per = nt_b + n_toys
    idx = np.empty((p, per), dtype=np.int64)
    idx[:, :nt_b] = np.arange(nt_b)
    idx[:, nt_b:] = nt_b + np.arange(p * n_toys).reshape(p, n_toys)
    fit = fit_sb(problem, src_r, src_w, np.full(p * per, eres), np.repeat(gs**2, per),
                 ds.center, np.repeat(theta, per, axis=0), data_index=idx.reshape(-1),
                 groups=np.repeat(np.arange(p), per))
    chi2 = fit.chi2.reshape(p, per)
    conv = fit.converged.reshape(p, per)
    q_b = chi2[:, :nt_b] - prep.btoy_chi2_b[None, :]
    q_s = chi2[:, nt_b:] - s_chi2_b
    valid_b = conv[:, :nt_b] & prep.btoy_ok[None, :]
    valid_s = conv[:, nt_b:] & s_ok_b
    counts = count_toys(q_obs, q_b, valid_b, q_s, valid_s)
    nvb = np.maximum(valid_b.sum(1), 1)
    qb_mean = np.where(valid_b, q_b, 0.0).sum(1) / nvb
    qb_std = np.sqrt(np.where(valid_b, (q_b - qb_mean[:, None]) ** 2, 0.0).sum(1)
                     / np.maximum(nvb - 1, 1))
    return PointResults(mass=float(mass), g=gs.copy(), q_obs=q_obs, chi2_sb=data_fit.chi2,
                        theta=theta, data_converged=data_fit.converged, counts=counts,
                        n_fits=p * per + p * n_toys, n_failed=fit.n_failed,
                        n_retried=int(fit.retried.sum()),
                        n_voigt_rows=fit.n_voigt_rows + data_fit.n_voigt_rows,
                        extra={"data_retried": data_fit.retried}, q_b_mean=qb_mean,
                        q_b_std=qb_std)


def scan_mass(problem: PadmeProblem, prep: PreparedDataset, ss: np.random.SeedSequence,
              mass: float, n_toys: int, g_mode: str | None = None, alpha: float = 0.10
              ) -> PointResults:
    """All CLs points of one mass: the full PADME g lattice or the adaptive subset."""
    cfg = problem.config
    g_mode = cfg.g_mode if g_mode is None else g_mode
    lattice = cfg.g_grid
    if g_mode == "padme":
        return evaluate_points(problem, prep, ss, mass, lattice, n_toys)
    first = adaptive_first(lattice.size, cfg.adaptive_stride)
    res = evaluate_points(problem, prep, ss, mass, lattice[first], n_toys)
    gr = res.graph(problem)
    if not (gr.cls[-1] < cfg.cls_threshold):
        return res          # no limit at this mass anyway (condition of §7)
    prelim = upper_limits(np.array([mass]), [gr], cfg, alpha)
    g_est = float(prelim.limit[0])
    if not np.isfinite(g_est):
        # no usable estimate: refine where CLs crosses alpha on the coarse points, else top
        below = np.flatnonzero(gr.cls < alpha)
        g_est = float(gr.g[below[0]]) if below.size else float(lattice[-1])
    second = adaptive_second(lattice, g_est, first, cfg.adaptive_halfwidth)
    if second.size:
        res = res.merge(evaluate_points(problem, prep, ss, mass, lattice[second], n_toys))
    return res
