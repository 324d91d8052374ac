"""Test statistics and their asymptotic distributions (small pure functions, numpy in/out).

Conventions follow Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554 (CCGV): mu = g_ve^2 is
the parameter of interest, ``nll_*`` are minimised -ln L values (any common constant cancels),
``mu_hat`` the unconditional (unbounded) estimate. Bounding mu_hat >= 0 is done here, by using
the mu = 0 fit where mu_hat < 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

Array = NDArray[np.float64]


def q0(nll_bonly: ArrayLike, nll_free: ArrayLike, mu_hat: ArrayLike) -> Array:
    """Discovery statistic q0 = -2 ln lambda(0) for mu_hat > 0, else 0 (CCGV eq. 12)."""
    q = 2.0 * (np.asarray(nll_bonly) - np.asarray(nll_free))
    return np.where(np.asarray(mu_hat) > 0, np.maximum(q, 0.0), 0.0)


def qmu_tilde(nll_mu: ArrayLike, nll_free: ArrayLike, nll_bonly: ArrayLike, mu_hat: ArrayLike,
              mu: ArrayLike) -> Array:
    """Upper-limit statistic q~_mu (CCGV eq. 16): 0 if mu_hat > mu; -2 ln[L(mu)/L(mu_hat)] if
    0 <= mu_hat <= mu; -2 ln[L(mu)/L(0)] if mu_hat < 0."""
    mh, m = np.asarray(mu_hat), np.asarray(mu)
    ref = np.where(mh < 0, np.asarray(nll_bonly), np.asarray(nll_free))
    q = np.maximum(2.0 * (np.asarray(nll_mu) - ref), 0.0)
    return np.where(mh > m, 0.0, q)


def z_from_p(p: ArrayLike) -> Array:
    """One-sided significance Z = Phi^-1(1 - p)."""
    return -ndtri(np.clip(np.asarray(p, dtype=float), 1e-300, 1.0))


def p_from_z(z: ArrayLike) -> Array:
    """One-sided p-value 1 - Phi(Z)."""
    return ndtr(-np.asarray(z, dtype=float))


def p0_asymptotic(q0_value: ArrayLike) -> Array:
    """Local p-value of q0: 1 - Phi(sqrt(q0)) (half chi^2_1; 0.5 at q0 = 0)."""
    return ndtr(-np.sqrt(np.maximum(np.asarray(q0_value, dtype=float), 0.0)))


def qmu_tilde_pvalues(q: ArrayLike, q_asimov: ArrayLike) -> tuple[Array, Array]:
    """Asymptotic (p_{s+b}, CL_b = 1 - p_b) of an observed q~_mu given q_mu,A (the statistic on
    the background-only Asimov data set), CCGV eqs. 65-66 and the CLb of their sect. 3.8."""
    q = np.maximum(np.asarray(q, dtype=float), 0.0)
    qa = np.maximum(np.asarray(q_asimov, dtype=float), 1e-300)
    sq, sqa = np.sqrt(q), np.sqrt(qa)
    low = q <= qa
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sb = np.where(low, sq, (q + qa) / (2.0 * sqa))
        z_b = np.where(low, sq - sqa, (q - qa) / (2.0 * sqa))
    return ndtr(-z_sb), ndtr(-z_b)


def cls_asymptotic(q: ArrayLike, q_asimov: ArrayLike) -> tuple[Array, Array, Array]:
    """(CLs, CL_{s+b}, CL_b) from q~_mu and q_mu,A: CLs = p_{s+b}/(1 - p_b)."""
    psb, clb = qmu_tilde_pvalues(q, q_asimov)
    return psb / clb, psb, clb


def expected_sqrt_qa(n_sigma: ArrayLike, alpha: float) -> Array:
    """sqrt(q_mu,A) at which the expected CLs of band ``n_sigma`` equals ``alpha``:
    N + Phi^-1(1 - alpha Phi(N)) (CCGV eq. 89 written for q_mu,A; +N = higher limits)."""
    n = np.asarray(n_sigma, dtype=float)
    return n + ndtri(1.0 - alpha * ndtr(n))


def expected_cls_asymptotic(q_asimov: ArrayLike, n_sigma: ArrayLike) -> Array:
    """Expected CLs of band ``n_sigma`` (+N: the upper edge of the limit band) given q_mu,A:
    [1 - Phi(sqrt(q_A) - N)] / Phi(N)."""
    sqa = np.sqrt(np.maximum(np.asarray(q_asimov, dtype=float), 0.0))
    n = np.asarray(n_sigma, dtype=float)
    return ndtr(-(sqa - n)) / ndtr(n)


def binomial_err(k: ArrayLike, n: ArrayLike) -> Array:
    """Standard error of a fraction k/n, sqrt(p(1-p)/n), with p = (k + 0.5)/(n + 1) so that it
    never vanishes at p = 0 or 1 (a Wilson-like floor of ~0.5/n)."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = (k + 0.5) / (n + 1.0)
    return np.sqrt(p * (1.0 - p) / np.maximum(n, 1.0))
