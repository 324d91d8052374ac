"""Look-elsewhere effect: up-crossings, the Gross-Vitells formula, and its Rice-formula input.

Gross & Vitells, EPJC 70 (2010) 525: for a test statistic that is chi^2 with one degree of
freedom (here the one-sided q0, half chi^2_1) at each mass,

    p_global(u) ~= p_local(u) + <N(u0)> exp(-(u - u0)/2),

with <N(u0)> the mean number of up-crossings of the level u0 over the mass range (from a few
background-only toys, or from the Rice formula for the Gaussian process of the signed
significance).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.stats.teststat import p0_asymptotic

Array = NDArray[np.float64]


def upcrossings(q: ArrayLike, u0: float) -> Array:
    """Number of up-crossings of level ``u0`` along the last axis (mass) of ``q``."""
    q = np.asarray(q, dtype=float)
    return ((q[..., :-1] < u0) & (q[..., 1:] >= u0)).sum(-1)


def gross_vitells(u: ArrayLike, n_u0: ArrayLike, u0: float) -> Array:
    """Global p-value of the largest q0 = ``u`` given <N(u0)> up-crossings of ``u0``, capped at
    1: p_local(u) + <N(u0)> exp(-(u - u0)/2) (one-sided q0, one degree of freedom)."""
    u = np.asarray(u, dtype=float)
    return np.minimum(1.0, p0_asymptotic(u) + np.asarray(n_u0) * np.exp(-(u - u0) / 2.0))


def rice_n1(templates: ArrayLike, weights: ArrayLike, nuisance_dirs: ArrayLike | None = None
            ) -> float:
    """Expected up-crossings at level 0 of the signed local significance, <N(0)> = N1.

    In the Gaussian (large-count) limit the signed significance at mass M is
    Z(M) = <t(M), y>/|t(M)| with y standard-normal residuals and t(M) the whitened signal
    template (``templates`` (n_masses, n_points) times ``weights`` = 1/sqrt(variance)) with
    the free background directions ``nuisance_dirs`` (n_dirs, n_points, already whitened)
    projected out. The Rice formula gives <N(c)> = exp(-c^2/2)/(2 pi) * integral sqrt(lambda2)
    dM; on a grid the integral is the sum of the angles between consecutive unit templates.
    Then <N(u0)> = N1 exp(-u0/2) for q0 = Z^2.
    """
    t = np.asarray(templates, dtype=float) * np.asarray(weights, dtype=float)[None, :]
    if nuisance_dirs is not None:
        z = np.atleast_2d(np.asarray(nuisance_dirs, dtype=float))
        q, _ = np.linalg.qr(z.T)
        t = t - (t @ q) @ q.T
    norm = np.linalg.norm(t, axis=1)
    ok = norm > 0
    th = t[ok] / norm[ok, None]
    cosang = np.clip((th[:-1] * th[1:]).sum(1), -1.0, 1.0)
    return float(np.arccos(cosang).sum() / (2.0 * np.pi))
