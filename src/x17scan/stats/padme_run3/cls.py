"""CLs from toys (method doc §6) and the graph PADME fits to get a limit (§7, step 1).

    P_b = #(Q_b,toy < Q_obs) / #valid b-toys,   P_s = #(Q_s,toy > Q_obs) / #valid s+b-toys
    CL_s+b = P_s,  CL_b = 1 - P_b,  CL_s = P_s / (1 - P_b)  (-1 if P_b = 1, as sT.C stores it)

(strict inequalities). For the limit, ``ReadOutput`` rebuilds the counts as int(P N_valid)
(C truncation, e.g. 29/200*200 -> 28) and attaches 68 % Wilson intervals (TEfficiency
statistic option 2) to p_s and p_b, propagated to CL_s separately for the upper and lower
errors: sigma^2 = (sigma_ps/(1 - p_b))^2 + (p_s sigma_pb/(1 - p_b)^2)^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass
class ToyCounts:
    """Toy counts per grid point (arrays of equal shape)."""

    nb_valid: I64
    nb_pass: I64     # #(Q_b < Q_obs)
    ns_valid: I64
    ns_pass: I64     # #(Q_s > Q_obs)


def count_toys(q_obs: F64, q_b: F64, valid_b: NDArray[np.bool_], q_s: F64,
               valid_s: NDArray[np.bool_]) -> ToyCounts:
    """Counts with strict inequalities; toy axis is the *last* axis of ``q_b``/``q_s``.

    ``q_obs`` (...,); ``q_b`` (..., n_b), ``q_s`` (..., n_s); invalid toys are not counted.
    """
    qo = np.asarray(q_obs)[..., None]
    nb_pass = ((q_b < qo) & valid_b).sum(-1)
    ns_pass = ((q_s > qo) & valid_s).sum(-1)
    return ToyCounts(nb_valid=valid_b.sum(-1), nb_pass=nb_pass, ns_valid=valid_s.sum(-1),
                     ns_pass=ns_pass)


def cls_values(c: ToyCounts) -> tuple[F64, F64, F64]:
    """(P_s, P_b, CL_s) as stored by PADME (P = 0 if no valid toy; CL_s = -1 if P_b = 1)."""
    ps = np.where(c.ns_valid > 0, c.ns_pass / np.maximum(c.ns_valid, 1), 0.0)
    pb = np.where(c.nb_valid > 0, c.nb_pass / np.maximum(c.nb_valid, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cls = np.where(pb < 1, ps / (1.0 - pb), -1.0)
    return ps, pb, cls


def wilson(total: ArrayLike, passed: ArrayLike, level: float = 0.68) -> tuple[F64, F64]:
    """Wilson score interval (TEfficiency::Wilson): (lower, upper), clipped to [0, 1].

    kappa = Phi^-1(1 - (1 - level)/2); centre (k + kappa^2/2)/(n + kappa^2);
    half width kappa/(n + kappa^2) sqrt(n p (1 - p) + kappa^2/4). total = 0 gives (0, 1).
    """
    n = np.asarray(total, dtype=np.float64)
    k = np.asarray(passed, dtype=np.float64)
    kappa = ndtri(1.0 - (1.0 - level) / 2.0)
    k2 = kappa * kappa
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        mode = (k + 0.5 * k2) / (n + k2)
        delta = kappa / (n + k2) * np.sqrt(n * p * (1.0 - p) + 0.25 * k2)
    lo = np.where(n > 0, np.maximum(mode - delta, 0.0), 0.0)
    hi = np.where(n > 0, np.minimum(mode + delta, 1.0), 1.0)
    return lo, hi


def root_counts(passed: I64, valid: I64, truncate: bool = True) -> I64:
    """Counts as ReadOutput rebuilds them: int(double(passed)/valid * valid)."""
    passed = np.asarray(passed, dtype=np.int64)
    valid = np.asarray(valid, dtype=np.int64)
    if not truncate:
        return passed
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(valid > 0, passed / np.maximum(valid, 1), 0.0)
    return np.trunc(p * valid).astype(np.int64)


@dataclass
class CLsGraph:
    """The CL_s and CL_s+b points with asymmetric errors at each g (ReadOutput)."""

    g: F64
    ps: F64
    pb: F64
    cls: F64
    cls_err_lo: F64
    cls_err_hi: F64
    clsb: F64
    clsb_err_lo: F64
    clsb_err_hi: F64


def cls_graph(g: F64, counts: ToyCounts, level: float = 0.68, truncate: bool = True
              ) -> CLsGraph:
    """Build the CL_s(g) / CL_s+b(g) graphs with Wilson errors (sorted by g, last axis).

    Where P_b = 1 the CL_s value is NaN (the graph point is dropped by the limit code).
    """
    order = np.argsort(g, axis=-1, kind="stable")
    take = lambda a: np.take_along_axis(np.asarray(a), order, axis=-1)  # noqa: E731
    g = take(g)
    ns, nsv = take(root_counts(counts.ns_pass, counts.ns_valid, truncate)), take(counts.ns_valid)
    nb, nbv = take(root_counts(counts.nb_pass, counts.nb_valid, truncate)), take(counts.nb_valid)
    with np.errstate(divide="ignore", invalid="ignore"):
        ps = np.where(nsv > 0, ns / np.maximum(nsv, 1), 0.0)
        pb = np.where(nbv > 0, nb / np.maximum(nbv, 1), 0.0)
        s_lo, s_hi = wilson(nsv, ns, level)
        b_lo, b_hi = wilson(nbv, nb, level)
        eps_hi, eps_lo = s_hi - ps, ps - s_lo
        epb_hi, epb_lo = b_hi - pb, pb - b_lo
        one_b = 1.0 - pb
        cls = np.where(one_b > 0, ps / one_b, np.nan)
        e_hi = np.sqrt((eps_hi / one_b) ** 2 + (ps / one_b**2 * epb_hi) ** 2)
        e_lo = np.sqrt((eps_lo / one_b) ** 2 + (ps / one_b**2 * epb_lo) ** 2)
    bad = ~(one_b > 0)
    e_hi = np.where(bad, np.nan, e_hi)
    e_lo = np.where(bad, np.nan, e_lo)
    return CLsGraph(g=g, ps=ps, pb=pb, cls=cls, cls_err_lo=e_lo, cls_err_hi=e_hi, clsb=ps,
                    clsb_err_lo=eps_lo, clsb_err_hi=eps_hi)
