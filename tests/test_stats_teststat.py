"""Test statistics and the asymptotic formulae (CCGV, EPJC 71 (2011) 1554)."""

import numpy as np
import pytest
from scipy.stats import norm

from x17scan.stats import teststat as ts
from x17scan.stats.calculators import AsymptoticCalculator
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.signal import TemplateSet
from x17scan.stats.synthetic import synthetic_table


def test_test_statistics_piecewise():
    # q0: zero for a negative fitted signal
    assert ts.q0(10.0, 7.5, 1.0) == 5.0
    assert ts.q0(10.0, 7.5, -1.0) == 0.0
    # q~_mu: 0 above mu, against L(mu_hat) in [0, mu], against L(0) below 0
    assert ts.qmu_tilde(12.0, 10.0, 11.0, 2.0, 1.0) == 0.0
    assert ts.qmu_tilde(12.0, 10.0, 11.0, 0.5, 1.0) == 4.0
    assert ts.qmu_tilde(12.0, 10.0, 11.0, -0.5, 1.0) == 2.0


def test_asymptotic_pvalues_closed_form():
    qa = 4.0
    for q in (0.5, 2.0, 4.0):
        psb, clb = ts.qmu_tilde_pvalues(q, qa)
        assert psb == pytest.approx(norm.sf(np.sqrt(q)))
        assert clb == pytest.approx(norm.sf(np.sqrt(q) - np.sqrt(qa)))
    q = 9.0  # beyond q_A: CCGV eq. 66 branch
    psb, clb = ts.qmu_tilde_pvalues(q, qa)
    assert psb == pytest.approx(norm.sf((q + qa) / (2 * np.sqrt(qa))))
    assert clb == pytest.approx(norm.sf((q - qa) / (2 * np.sqrt(qa))))
    assert ts.expected_sqrt_qa(0.0, 0.05) == pytest.approx(norm.ppf(0.975))
    # expected CLs of band N at sqrt(q_A) = N + Phi^-1(1 - alpha Phi(N)) is alpha
    for n in (-2, -1, 0, 1, 2):
        assert ts.expected_cls_asymptotic(ts.expected_sqrt_qa(n, 0.1) ** 2, n) == \
            pytest.approx(0.1)
    assert ts.z_from_p(ts.p_from_z(2.5)) == pytest.approx(2.5)


def test_median_limit_matches_gaussian_closed_form():
    """Large counts, signal in one point, K free: the Asimov median limit equals
    sigma_mu Phi^-1(1 - alpha/2) with sigma_mu from the Fisher matrix (CCGV eq. 89, N = 0),
    and the bands sigma_mu (Phi^-1(1 - alpha Phi(N)) + N)."""
    # tiny relative errors and huge counts: the signal at the limit is ~3e-4 of the background,
    # so the O(mu s / b) departures from the linear-Gaussian limit are negligible
    t = synthetic_table(n_points=20, pot=1e13, eff_rel_err=0.0, pot_rel_err=1e-4,
                        bkg_rel_err=1e-4)
    n = len(t)
    s = np.zeros((1, n))
    s[0, 9] = 1.0e12
    empty = np.zeros((1, 0, n))
    m = ScanModel.from_table(t, TemplateSet(np.array([17.0]), s, 0.0, (), empty, empty), [17.0],
                             efficiency="none")
    b = m.b
    var = b * (1 + b * m.sigma ** 2)
    jac = np.stack([s[0], b, m.x * b], 1)            # d lambda / d(mu, k0, k1) at K = 1
    fisher = jac.T @ (jac / var[:, None])
    sigma_mu = np.sqrt(np.linalg.inv(fisher)[0, 0])
    calc = AsymptoticCalculator(m, cl=0.90)
    exp, ok = calc.expected_limits()
    assert ok.all()
    for i, nsig in enumerate((-2, -1, 0, 1, 2)):
        ref = sigma_mu * (norm.ppf(1 - 0.1 * norm.cdf(nsig)) + nsig)
        assert exp[i, 0] == pytest.approx(ref, rel=1e-3)
    # the observed data are the Asimov background: observed limit = median
    obs, _ = calc.upper_limits()
    assert obs[0] == pytest.approx(exp[2, 0], rel=1e-3)
