"""Scan likelihood: hand-computed values, derivatives, numba kernel, fits against iminuit."""

import math

import numpy as np
import pytest

from x17scan.data import ScanTable
from x17scan.physics.kinematics import e_beam
from x17scan.stats.fit import minimize, newton_step, objective
from x17scan.stats.likelihood import PADME_K_PRIOR, ScanModel
from x17scan.stats.signal import SignalModel, TemplateSet
from x17scan.stats.synthetic import synthetic_table


def three_point_table():
    s = np.array([16.8, 16.9, 17.05])
    return ScanTable.from_columns({
        "sqrt_s": s, "e_beam": e_beam(s), "n_obs": [35010.0, 35520.5, 34890.0],
        "pot": [1.0e10, 1.02e10, 0.98e10], "pot_err": [4.0e7, 3.0e7, 4.5e7],
        "bkg_per_pot": [3.50e-6, 3.48e-6, 3.55e-6], "bkg_per_pot_err": [1.8e-8, 1.9e-8, 1.7e-8],
        "sig_eff": [0.090, 0.092, 0.094], "sig_eff_err": [4e-4, 5e-4, 4.5e-4]})


def hand_nll(table, s_nom, mu, k0, k1, u, v, a, c):
    """-ln L written out term by term from the documented model (module docstring)."""
    tot = 0.0
    for i in range(len(table)):
        x = table.sqrt_s[i] - 16.92
        sig = math.sqrt((table.pot_err[i] / table.pot[i]) ** 2
                        + (table.bkg_per_pot_err[i] / table.bkg_per_pot[i]) ** 2)
        tau = table.sig_eff_err[i] / table.sig_eff[i]
        b = table.pot[i] * table.bkg_per_pot[i]
        lam = (k0 + k1 * x) * (1 + sig * u[i]) * (b + mu * s_nom[i] * (1 + tau * v[i]))
        n = table.n_obs[i]
        tot += lam - n * math.log(lam) + math.lgamma(n + 1)
        tot += 0.5 * (u[i] - a[i]) ** 2 + 0.5 * (v[i] - c[i]) ** 2
    return tot


def test_nll_matches_hand_computation():
    t = three_point_table()
    s_nom = np.array([[120.0, 260.0, 90.0]])
    ts = TemplateSet(np.array([17.0]), s_nom, 0.0, (), np.zeros((1, 0, 3)), np.zeros((1, 0, 3)))
    m = ScanModel.from_table(t, ts, [17.0])
    glob = np.array([[3.1e-1, 1.012, -0.011]])
    u, v = np.array([0.3, -0.7, 1.1]), np.array([-0.2, 0.5, 0.9])
    loc = np.stack([u, v], -1)[None]
    data = m.observed()
    data.aux_l[0, :, 0] = [0.1, 0.0, -0.4]
    data.aux_l[0, :, 1] = [0.0, 0.3, 0.2]
    full = objective(m, glob, loc, data, [0])[0] + m.nll_constant(data)[0]
    ref = hand_nll(t, s_nom[0], 0.31, 1.012, -0.011, u, v, data.aux_l[0, :, 0],
                   data.aux_l[0, :, 1])
    # the term-by-term reference cancels ~3e5-sized numbers: it is good to ~1e-10 absolute
    assert full == pytest.approx(ref, abs=1e-9)
    # the numpy reference of the deviance gives the same value
    dev = m.nll_data(glob, loc, data, [0])[0]
    cons = 0.5 * ((loc - data.aux_l) ** 2).sum()
    assert dev + cons + m.nll_constant(data)[0] == pytest.approx(ref, abs=1e-9)


def test_constrained_k_term():
    t = three_point_table()
    ts = TemplateSet(np.array([17.0]), np.ones((1, 3)), 0.0, (), np.zeros((1, 0, 3)),
                     np.zeros((1, 0, 3)))
    m = ScanModel.from_table(t, ts, [17.0], background="constrained")
    g = np.array([[0.0, 1.0131, -0.0063]])
    loc = np.zeros((1, 3, 2))
    d = m.observed()
    (m0, m1), (e0, e1), rho = PADME_K_PRIOR
    d0, d1 = (g[0, 1] - m0) / e0, (g[0, 2] - m1) / e1
    ref = 0.5 * (d0 * d0 + d1 * d1 - 2 * rho * d0 * d1) / (1 - rho * rho)
    assert objective(m, g, loc, d, [0])[0] - m.nll_data(g, loc, d, [0])[0] == pytest.approx(
        ref, rel=1e-12)


@pytest.fixture(scope="module")
def padme_like():
    sm = SignalModel()
    t = synthetic_table(n_points=14, signal=sm, mass=16.9, g=5e-4, seed=11)
    return t, ScanModel.from_table(t, sm, [16.7, 16.9, 17.1])


def test_gradient_hessian_and_kernel(padme_like):
    _, m = padme_like
    rng = np.random.default_rng(3)
    d = m.observed()
    d.aux_l[:] = 0.3 * rng.standard_normal(d.aux_l.shape)
    d.aux_g[0, 3:] = 0.5 * rng.standard_normal(m.n_theta)
    g = np.array([[2.5e-7, 1.01, -0.01, 0.4, -0.6, 0.8]])
    loc = 0.5 * rng.standard_normal((1, m.n_points, 2))
    midx = np.array([1])
    t = m.data_terms(g, loc, d, midx)
    steps = np.array([1e-10, 1e-6, 1e-6, 1e-3, 1e-3, 1e-3])
    for k in range(m.n_glob):
        e = np.zeros_like(g)
        e[0, k] = steps[k]
        fd = (m.nll_data(g + e, loc, d, midx) - m.nll_data(g - e, loc, d, midx))[0] / (2 * steps[k])
        assert fd == pytest.approx(t.grad_g[0, k], rel=2e-6, abs=1e-7)
        hd = (m.data_terms(g + e, loc, d, midx).grad_g - m.data_terms(g - e, loc, d, midx).grad_g)
        scale = np.sqrt(np.abs(np.diag(t.h_gg[0])) * abs(t.h_gg[0, k, k]))
        assert np.all(np.abs(hd[0] / (2 * steps[k]) - t.h_gg[0, k]) <= 1e-5 * scale)
    e = np.zeros_like(loc)
    e[0, 4, 1] = 1e-5
    hd = (m.data_terms(g, loc + e, d, midx).grad_g - m.data_terms(g, loc - e, d, midx).grad_g)
    assert np.allclose(hd[0] / 2e-5, t.h_gl[0, 4, :, 1], rtol=1e-5, atol=1e-9)
    # the fused numba step equals the numpy reference step
    fixed = np.zeros((1, m.n_glob), bool)
    for exact in (True, False):
        ref = newton_step(m, g, loc, d, midx, fixed, exact)
        got = m.newton_step(g, loc, d, midx, fixed, exact)
        for a, b in zip(ref[:3], got[:3], strict=True):
            assert np.allclose(a, b, rtol=1e-10, atol=1e-14 * np.abs(a).max())


def _iminuit_min(m, data, midx, mu_fixed=None):
    from iminuit import Minuit

    scale = 1e-7
    G, n, L = m.n_glob, m.n_points, m.n_loc

    def f(v):
        g = v[:G][None].copy()
        g[0, 0] *= scale
        return objective(m, g, v[G:].reshape(1, n, L), data, midx)[0] + m.nll_constant(data)[0]

    v0 = np.zeros(G + n * L)
    v0[0] = 1.0 if mu_fixed is None else mu_fixed / scale
    v0[1] = 1.0
    mi = Minuit(f, v0)
    mi.errordef = 0.5
    mi.strategy = 2
    mi.tol = 1e-6
    if mu_fixed is not None:
        mi.fixed[0] = True
    mi.migrad(ncall=100000)
    assert mi.valid
    return mi.fval


@pytest.mark.parametrize("case", ["free", "fixed", "bonly", "constrained"])
def test_fit_matches_iminuit(padme_like, case):
    t, m = padme_like
    if case == "constrained":
        m = ScanModel.from_table(t, SignalModel(), [16.9], background="constrained")
    rng = np.random.default_rng(5)
    d = m.observed()
    d.aux_l[:] = 0.3 * rng.standard_normal(d.aux_l.shape)
    d.aux_g[0, 3:] = 0.5 * rng.standard_normal(m.n_theta)
    midx = np.array([0 if case == "constrained" else 1])
    mu = {"free": None, "fixed": 3.3e-7, "bonly": 0.0, "constrained": None}[case]
    res = minimize(m, d, midx, mu, full_nll=True)
    assert res.converged.all()
    ref = _iminuit_min(m, d, midx, mu)
    mine = res.nll[0]
    # the batched Newton minimum is at least as low as Migrad's and agrees to 1e-6
    assert mine <= ref + 1e-9 * abs(ref)
    assert abs(mine - ref) <= 1e-6 * abs(ref)


def test_g_to_zero_and_far_masses():
    """mu -> 0: the conditional fit is the background-only fit; masses far outside the scan
    give (nearly) vanishing templates: fits still converge, mu_hat is finite."""
    sm = SignalModel()
    t = synthetic_table(n_points=12, seed=2)
    m = ScanModel.from_table(t, sm, [14.0, 16.9, 19.5])
    d = m.observed()
    b = minimize(m, d, 0, 0.0)
    for j in range(3):
        c = minimize(m, d, j, 1e-18)
        assert c.converged.all()
        assert c.deviance[0] == pytest.approx(b.deviance[0], abs=1e-9)
    free = minimize(m, d.repeat(3), np.arange(3))
    assert free.converged.all() and np.isfinite(free.mu).all()
    assert m.s0[0].max() < 1e-2 * m.s0[1].max()  # only the Lorentzian tails reach the scan
    from x17scan.stats.calculators import AsymptoticCalculator

    calc = AsymptoticCalculator(m)
    obs, ok = calc.upper_limits()
    exp, ok_e = calc.expected_limits()
    assert np.isfinite(exp[ok_e]).all()
    # grid edges: weak limits (or none where the root is not bracketed: flagged)
    assert ok[1] and ok_e[:, 1].all() and np.isfinite(obs[ok]).all()
    assert obs[0] > 10 * obs[1] and obs[2] > 10 * obs[1]
    # CLs -> 1 (well, 0.5/CL_b -> 1) as mu -> 0
    cls, _, _ = calc.cls(np.array([1, 1]), np.array([1e-6, 1e-3]) * obs[1])
    assert cls[0] > 0.99 and cls[1] > 0.99
