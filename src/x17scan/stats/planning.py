"""Run planning: where to put the beam energies and how much PoT per point.

The allocation is optimised with the Gaussian (large-count) Fisher information of the profile
likelihood with a free linear background normalisation K = k0 + k1 x, x = sqrt(s) - 16.92 MeV,
and per-point uncorrelated systematics (relative variance sigma_j^2 from the PoT and B
errors). For PoT t_j at candidate energy j, with background B_j per PoT and signal-to-background
ratio r_j(M) = eps_j Y_j(M) / B_j per unit g^2,

    I(M; t) = min_beta  sum_j w_j (r_j - beta_0 - beta_1 x_j)^2,
    w_j     = t_j B_j / (1 + t_j B_j sigma_j^2)

is the Asimov information on mu = g^2 (the expected discovery significance of a signal mu is
Z = mu sqrt(I), the median expected exclusion limit mu_up = 1.645/sqrt(I) at 90 % CL CLs).
Each w_j is concave and increasing in t_j (saturating at 1/(B_j sigma_j^2): beyond that more
PoT at the same point no longer helps), and I is a minimum of functions linear in w, so I is
concave in t. Hence:

* target ``"discovery"`` (maximise the expected discovery significance at a hypothesised mass,
  or its mean over a few masses around it) is a concave maximisation;
* target ``"exclusion"`` (minimise the mean expected limit on g over a mass window,
  mean_M I(M)^(-1/4)) is a convex minimisation;

both over the simplex sum_j t_j = budget, t_j >= 0, solved by projected gradient with
backtracking (gradient by the envelope theorem: dI/dw_j = (r_j - fitted line)^2). The
candidate energies lie on a grid with the minimum spacing, so every subset respects it; the
maximum number of points and the minimum PoT per point are imposed by pruning the smallest
allocations and re-optimising (a heuristic for the cardinality constraint, exact when it is
not active). The proposal is then compared with an even scan of the same budget using the
full likelihood (:mod:`x17scan.stats.sensitivity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.errors import InputError
from x17scan.physics.constants import M_E, SQRTS_PIVOT_PADME

Array = NDArray[np.float64]

TARGETS: tuple[str, ...] = ("discovery", "exclusion")
Z_LIMIT_90 = 1.6448536269514722
"""sqrt(q_mu,A) of the median expected 90 % CL CLs limit (Phi^-1(1 - 0.1/2))."""


def sqrt_s_of(e_beam: ArrayLike) -> Array:
    """CM energy (MeV) of a positron of total energy ``e_beam`` (MeV) on an electron at rest."""
    return np.sqrt(2.0 * M_E * (np.asarray(e_beam, float) + M_E))


def e_beam_of(sqrt_s: ArrayLike) -> Array:
    """Beam energy (MeV) giving CM energy ``sqrt_s`` (MeV)."""
    s = np.asarray(sqrt_s, float) ** 2
    return (s - 2.0 * M_E ** 2) / (2.0 * M_E)


def project_simplex(v: Array, total: float = 1.0) -> Array:
    """Euclidean projection of ``v`` (last axis) onto {x >= 0, sum x = total} (Duchi et al.,
    ICML 2008, sort-based)."""
    u = np.sort(v, axis=-1)[..., ::-1]
    css = np.cumsum(u, axis=-1) - total
    k = np.arange(1, v.shape[-1] + 1)
    cond = u - css / k > 0
    rho = v.shape[-1] - 1 - np.argmax(cond[..., ::-1], axis=-1)
    theta = np.take_along_axis(css, rho[..., None], -1) / (rho[..., None] + 1.0)
    return np.maximum(v - theta, 0.0)


@dataclass(frozen=True)
class PlanningProblem:
    """Candidate points and targets of an allocation problem (module docstring).

    ``e_beam`` (n,) candidate beam energies (MeV); ``bkg`` (n,) background per PoT;
    ``sigma2`` (n,) relative per-point systematic variance (PoT and B errors in quadrature);
    ``ratio`` (k, n) signal-to-background per unit g^2 at the k target masses ``masses``
    (MeV), eps Y / B; ``weights`` (k,) of the target masses (discovery: mean information).
    """

    e_beam: Array
    bkg: Array
    sigma2: Array
    ratio: Array
    masses: Array
    weights: Array
    target: str = "discovery"
    pivot: float = SQRTS_PIVOT_PADME

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise InputError(f"unknown planning target {self.target!r}", field="--target",
                             fix=f"use one of {', '.join(TARGETS)}")
        if self.e_beam.size < 3:
            raise InputError(f"only {self.e_beam.size} candidate energies", field="--e-range",
                             fix="widen the beam-energy range or reduce --min-spacing")

    @property
    def x(self) -> Array:
        return sqrt_s_of(self.e_beam) - self.pivot

    def information(self, t: ArrayLike) -> Array:
        """I(M_k; t) for allocations ``t`` (..., n) in positrons: (..., k)."""
        return self._info_grad(np.asarray(t, float), grad=False)[0]

    def _info_grad(self, t: Array, grad: bool = True) -> tuple[Array, Array | None]:
        b, s2, x = self.bkg, self.sigma2, self.x
        den = 1.0 + t * b * s2
        w = t * b / den                                             # (..., n)
        sw, swx, swxx = w.sum(-1), (w * x).sum(-1), (w * x * x).sum(-1)
        r = self.ratio                                              # (k, n)
        wr = w[..., None, :] * r                                    # (..., k, n)
        swr, swxr = wr.sum(-1), (wr * x).sum(-1)
        det = sw * swxx - swx * swx
        det = np.where(np.abs(det) > 0, det, np.inf)[..., None]
        b0 = (swxx[..., None] * swr - swx[..., None] * swxr) / det
        b1 = (sw[..., None] * swxr - swx[..., None] * swr) / det
        res = r - b0[..., None] - b1[..., None] * x                 # (..., k, n)
        info = (w[..., None, :] * res * res).sum(-1)
        if not grad:
            return info, None
        dw = b / (den * den)
        return info, res * res * dw[..., None, :]

    def objective(self, t: Array) -> tuple[float, Array]:
        """Value to *minimise* and its gradient wrt t (positrons)."""
        info, g = self._info_grad(t)
        if self.target == "discovery":
            return -float(self.weights @ info), -(self.weights[:, None] * g).sum(0)
        safe = np.maximum(info, 1e-300)
        val = safe ** -0.25
        d = -0.25 * safe ** -1.25
        return float(self.weights @ val), (self.weights[:, None] * d[:, None] * g).sum(0)

    def expected_g(self, t: ArrayLike) -> dict[str, Array]:
        """Gaussian-approximation expected couplings of allocation ``t``: median 90 % CL limit
        and 3 sigma local discovery, per target mass."""
        info = np.maximum(self.information(t), 1e-300)
        return {"limit_median": (Z_LIMIT_90 / np.sqrt(info)) ** 0.5,
                "discovery_3sigma": (3.0 / np.sqrt(info)) ** 0.5}


def optimise(problem: PlanningProblem, budget: float, active: NDArray[np.bool_] | None = None,
             t0: Array | None = None, max_iter: int = 3000, tol: float = 1e-10
             ) -> tuple[Array, dict[str, Any]]:
    """Projected-gradient solution of the continuous allocation on the ``active`` candidates
    (all by default) for a total of ``budget`` positrons. Returns (t, info)."""
    n = problem.e_beam.size
    act = np.ones(n, bool) if active is None else np.asarray(active, bool)
    idx = np.flatnonzero(act)
    scale = budget
    f = np.zeros(n)
    if t0 is None:
        f[idx] = 1.0 / idx.size
    else:
        f[idx] = np.maximum(np.asarray(t0, float)[idx], 0.0)
        f[idx] = project_simplex(f[idx] / scale, 1.0)

    def fg(ff: Array) -> tuple[float, Array]:
        v, g = problem.objective(ff * scale)
        return v, g * scale

    val, grad = fg(f)
    v0 = abs(val) or 1.0
    step = 1.0 / max(np.abs(grad[idx]).max(), 1e-300)
    it = 0
    for it in range(max_iter):  # noqa: B007 - the count is reported
        accepted = False
        for _ in range(60):
            fn = f.copy()
            fn[idx] = project_simplex(f[idx] - step * grad[idx], 1.0)
            vn, gn = fg(fn)
            d = fn[idx] - f[idx]
            # sufficient decrease for a projected step (Armijo along the projection arc)
            if vn <= val + grad[idx] @ d + 0.5 / step * (d @ d) + 1e-15 * v0:
                accepted = True
                break
            step *= 0.5
        if not accepted:
            break
        rel = (val - vn) / v0
        # Barzilai-Borwein step for the next iteration
        sg = gn[idx] - grad[idx]
        dd = d @ d
        sy = d @ sg
        f, val, grad = fn, vn, gn
        step = dd / sy if sy > 0 else step * 2.0
        if 0 <= rel < tol and np.sqrt(dd) < 1e-9:
            break
    return f * scale, {"iterations": it + 1, "objective": val}


@dataclass
class Proposal:
    """A proposed allocation: ``e_beam`` (MeV) and ``pot`` of the chosen points, with the
    continuous optimum it came from and the pruning steps."""

    e_beam: Array
    pot: Array
    objective: float
    continuous_pot: Array
    candidates: Array
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sqrt_s(self) -> Array:
        return sqrt_s_of(self.e_beam)


def propose(problem: PlanningProblem, budget: float, max_points: int, min_pot: float = 0.0
            ) -> Proposal:
    """Optimal allocation with at most ``max_points`` points of at least ``min_pot`` PoT each
    (module docstring). Raises InputError if the constraints cannot be met."""
    n = problem.e_beam.size
    if not (np.isfinite(budget) and budget > 0):
        raise InputError(f"budget = {budget} PoT is not positive", field="--budget",
                         fix="give the total positrons on target, e.g. 3.15e11")
    if max_points < 3:
        raise InputError(f"max_points = {max_points} is below 3", field="--max-points",
                         fix="a scan fit needs at least 3 points (the background line)")
    if min_pot * 3 > budget:
        raise InputError(f"min_pot = {min_pot:.3g} leaves fewer than 3 points for the budget "
                         f"{budget:.3g}", field="--min-pot", fix="lower --min-pot or raise "
                         "the budget")
    t_cont, info = optimise(problem, budget)
    history = [{"step": "continuous", "points": int((t_cont > 1e-9 * budget).sum()),
                "objective": info["objective"], "iterations": info["iterations"]}]
    active = t_cont > 1e-6 * budget
    t = t_cont.copy()
    for _ in range(n):
        k = int(active.sum())
        small = active & (t < min_pot)
        if k > max_points:
            # drop the smallest allocations beyond the cap, then re-optimise
            order = np.argsort(np.where(active, t, np.inf))
            active[order[: k - max_points]] = False
        elif small.any():
            active[np.flatnonzero(small)[np.argmin(t[small])]] = False
        else:
            break
        if active.sum() < 3:
            raise InputError("the constraints leave fewer than 3 points", field="--max-points",
                             fix="raise --max-points or lower --min-pot")
        t, info = optimise(problem, budget, active, t0=np.where(active, t, 0.0))
        active &= t > 1e-6 * budget
        history.append({"step": "pruned", "points": int(active.sum()),
                        "objective": info["objective"], "iterations": info["iterations"]})
    t = np.where(active, t, 0.0)
    t *= budget / t.sum()
    keep = t > 0
    return Proposal(e_beam=problem.e_beam[keep], pot=t[keep], objective=info["objective"],
                    continuous_pot=t_cont, candidates=problem.e_beam, history=history)


def propose_best(problems: Sequence[PlanningProblem], budget: float, max_points: int,
                 min_pot: float = 0.0) -> tuple[int, Proposal]:
    """:func:`propose` on each problem (same target masses, different candidate energies) and
    the proposal with the lowest objective, with its index. A problem whose constraints cannot
    be met is skipped; if none can, the first problem's InputError is raised."""
    best: tuple[int, Proposal] | None = None
    first_err: InputError | None = None
    for k, pb in enumerate(problems):
        try:
            prop = propose(pb, budget, max_points, min_pot)
        except InputError as err:
            first_err = first_err or err
            continue
        if best is None or prop.objective < best[1].objective:
            best = (k, prop)
    if best is None:
        assert first_err is not None
        raise first_err
    return best


def candidate_grid(e_lo: float, e_hi: float, min_spacing: float,
                   anchor: float | None = None) -> Array:
    """Candidate beam energies (MeV) in [e_lo, e_hi] every ``min_spacing`` MeV (aligned so that
    ``anchor`` is on the grid if given, e.g. the resonance energy of the target mass)."""
    if not (min_spacing > 0 and np.isfinite(min_spacing)):
        raise InputError(f"min_spacing = {min_spacing} MeV is not positive",
                         field="--min-spacing", fix="give the minimum distance between points "
                         "in MeV of beam energy, e.g. 0.75")
    if not e_hi > e_lo:
        raise InputError(f"empty beam-energy range {e_lo}-{e_hi} MeV", field="--e-range",
                         fix="give LO:HI with LO < HI")
    a = e_lo if anchor is None else anchor
    k0 = np.ceil((e_lo - a) / min_spacing - 1e-9)
    k1 = np.floor((e_hi - a) / min_spacing + 1e-9)
    return a + min_spacing * np.arange(k0, k1 + 1)


def even_scan(e_lo: float, e_hi: float, n_points: int, budget: float) -> tuple[Array, Array]:
    """An even scan: ``n_points`` equally spaced beam energies (MeV) from ``e_lo`` to ``e_hi``,
    each with budget / n_points positrons."""
    e = np.linspace(e_lo, e_hi, n_points)
    return e, np.full(n_points, budget / n_points)


def planning_problem(e_beam: ArrayLike, bkg: ArrayLike, sigma2: ArrayLike, ratio_fn: Any,
                     masses: Sequence[float], weights: Sequence[float] | None = None,
                     target: str = "discovery") -> PlanningProblem:
    """Build a :class:`PlanningProblem`; ``ratio_fn(e_beam, masses) -> (k, n)`` gives eps Y/B
    per unit g^2 at the candidate energies for the target masses."""
    e = np.asarray(e_beam, float)
    m = np.atleast_1d(np.asarray(masses, float))
    w = np.full(m.size, 1.0 / m.size) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    r = np.asarray(ratio_fn(e, m), float).reshape(m.size, e.size)
    return PlanningProblem(e_beam=e, bkg=np.asarray(bkg, float),
                           sigma2=np.asarray(sigma2, float), ratio=r, masses=m, weights=w,
                           target=target)
