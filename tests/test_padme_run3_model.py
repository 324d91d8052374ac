"""padme-run3: observable, signal model, constraints - the method doc's intermediate values.

References: docs/padme-run3-method.md §3a (Y and s_i unit-test values), §3b (d) (eps/B line
e0 = 24828.66 +- 26.49, e1 = 2710.52 +- 92.35 /MeV, rho = -0.0305, chi2 = 34.67), §3c
(chi2_pts = 41.136 at nominal; background-only fit P0' = 1.012156, P1' = -1.0799e-2 /MeV,
chi2_B,min = 40.810); data/padme-run3/README.md (reference rows). The Voigt profile is checked
against scipy.special.voigt_profile, finite differences, and the compiled Weideman kernel
against scipy.special.wofz.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import voigt_profile

import x17scan.data as xdata
from x17scan.errors import InputError
from x17scan.stats.padme_run3 import PadmeProblem, PadmeRun3Config
from x17scan.stats.padme_run3.model import (
    chi2_b,
    e_beam,
    e_res,
    fit_b,
    signal_yield,
)
from x17scan.stats.padme_run3.voigt import voigt, voigt_derivs


@pytest.fixture(scope="module")
def problem() -> PadmeProblem:
    return PadmeProblem.from_table(xdata.load("padme-run3"))


def _point(problem: PadmeProblem, period: int) -> int:
    return int(np.flatnonzero(problem.period == period)[0])


def test_selection_and_rows(problem):
    assert problem.n == 42
    # README reference row of period 1: R = 1.008153, sigma_rel = 0.00978
    r, w = problem.data().ratio_weights(problem)
    i = _point(problem, 1)
    assert r[i] == pytest.approx(1.008153, abs=5e-7)
    assert 1.0 / (r[i] * np.sqrt(w[i])) == pytest.approx(0.00978, abs=5e-6)
    rel = 1.0 / (r * np.sqrt(w))
    assert rel.min() == pytest.approx(0.0078, abs=1e-4)
    assert rel.max() == pytest.approx(0.0098, abs=1e-4)


def test_effb_line(problem):
    e = problem.effb
    assert e["e0"] == pytest.approx(24828.66, abs=0.01)
    assert e["e1"] == pytest.approx(2710.52, abs=0.01)
    assert e["e0_err"] == pytest.approx(26.49, abs=0.005)
    assert e["e1_err"] == pytest.approx(92.35, abs=0.005)
    assert e["rho"] == pytest.approx(-0.0305, abs=5e-5)
    assert e["chi2"] == pytest.approx(34.67, abs=0.005)
    assert e["ndf"] == 40


def test_signal_yield_unit_values(problem):
    y = signal_yield(problem, 17.0)
    i9, i0 = _point(problem, 9), _point(problem, 0)
    assert problem.sqrt_s[i9] == pytest.approx(16.998561, abs=1e-6)
    assert y[i9] == pytest.approx(2.2103, abs=5e-5)
    assert y[i0] == pytest.approx(0.36911, abs=5e-6)
    eff = problem.effb["e0"] + problem.effb["e1"] * problem.x
    s = 5e-4**2 * y * eff
    assert s[i9] == pytest.approx(0.013837, abs=5e-7)
    assert s[i0] == pytest.approx(0.0023433, abs=5e-8)
    er = e_res(17.0, 0.511, -7e-6)
    assert 13.56 * voigt(0.0, 0.0025 * er, 1.72) == pytest.approx(2.212, abs=1e-3)


def test_chi2_nominal_and_background_fit(problem):
    r, w = problem.data().ratio_weights(problem)
    assert chi2_b([1.01163, -1.03e-2], r, w, problem) - (
        (np.array([1.01163, -1.03e-2]) - problem.center[:2]) @ problem.k_prec()
        @ (np.array([1.01163, -1.03e-2]) - problem.center[:2])) == pytest.approx(41.136,
                                                                                 abs=5e-4)
    p, c = fit_b(r, w, problem.x, problem.center[:2], problem.k_prec())
    assert p[0] == pytest.approx(1.012156, abs=5e-7)
    assert p[1] == pytest.approx(-1.0799e-2, abs=5e-7)
    assert c == pytest.approx(40.810, abs=5e-4)
    assert c == pytest.approx(chi2_b(p, r, w, problem), rel=1e-12)
    # the closed form is the minimum: a small step either way raises chi2
    for d in ([1e-5, 0], [0, 1e-5], [-1e-5, 0], [0, -1e-5]):
        assert chi2_b(p + np.array(d), r, w, problem) > c


def test_kinematics_conventions():
    # E_beam = (s - 2 m^2)/(2 m) with m = 0.511 returns the README beam energies
    assert e_beam(17.128531, 0.511) == pytest.approx(286.56, abs=0.005)
    assert e_beam(16.3863, 0.511) == pytest.approx(262.22, abs=0.005)
    # E_res(M) = (M^2 - 2 m^2)/(2 (m + W_b)): W_b enters E_res only
    assert e_res(17.0, 0.511, -7e-6) == pytest.approx((17.0**2 - 2 * 0.511**2) /
                                                       (2 * (0.511 - 7e-6)), rel=1e-15)


def test_cross_check_physics_lineshape(problem):
    from x17scan.physics.lineshape import kernel

    k = kernel(problem.e_beam, 17.0, 0.0025, model="voigt", padme_convention=True)
    assert np.allclose(signal_yield(problem, 17.0) / 13.56, k, rtol=1e-12, atol=0)


def test_voigt_against_scipy_and_derivatives():
    rng = np.random.default_rng(3)
    x = rng.uniform(-40, 40, 500)
    s = rng.uniform(0.2, 1.6, 500)
    g = rng.uniform(0.0, 2.5, 500)
    v, ds, dg = voigt_derivs(x, s, g)
    assert np.allclose(v, voigt_profile(x, s, g), rtol=1e-12, atol=0)
    h = 1e-6
    fs = (voigt(x, s + h, g) - voigt(x, s - h, g)) / (2 * h)
    fg = (voigt(x, s, g + h) - voigt(x, s, g - h)) / (2 * h)
    scale = np.abs(v) / s
    assert np.all(np.abs(ds - fs) < 1e-6 * scale + 1e-12)
    assert np.all(np.abs(dg - fg) < 1e-6 * scale + 1e-12)
    # TMath::Voigt convention: zero for negative widths
    assert np.all(np.array(voigt_derivs([0.0, 1.0], [-0.1, 0.5], [1.0, -0.1])) == 0.0)


def test_compiled_faddeeva_matches_wofz():
    from x17scan.stats.padme_run3 import _kernel

    rng = np.random.default_rng(4)
    b, n = 300, 42
    u = rng.uniform(-40, 40, (b, n))
    s = rng.uniform(0.3, 1.6, b)       # BES 0.1 % - 0.6 % at E_res ~ 280 MeV
    g = rng.uniform(1.5, 1.95, b)
    out = np.empty((b, 6, n))
    _kernel.voigt_rows(u, s, g, out)
    v, ds, dg = voigt_derivs(u, s[:, None], g[:, None])
    assert np.max(np.abs(out[:, 0] / v - 1)) < 1e-13
    scale = np.max(np.abs(v), axis=1, keepdims=True) / s[:, None]
    assert np.max(np.abs(out[:, 1] - ds) / scale) < 1e-9
    assert np.max(np.abs(out[:, 2] - dg) / scale) < 1e-9
    # second derivatives against central differences of the exact first derivatives
    h = 1e-4
    d_ss = (voigt_derivs(u, s[:, None] + h, g[:, None])[1]
            - voigt_derivs(u, s[:, None] - h, g[:, None])[1]) / (2 * h)
    d_sg = (voigt_derivs(u, s[:, None], g[:, None] + h)[1]
            - voigt_derivs(u, s[:, None], g[:, None] - h)[1]) / (2 * h)
    d_gg = (voigt_derivs(u, s[:, None], g[:, None] + h)[2]
            - voigt_derivs(u, s[:, None], g[:, None] - h)[2]) / (2 * h)
    scale2 = scale / s[:, None]
    for k, ref in ((3, d_ss), (4, d_sg), (5, d_gg)):
        assert np.max(np.abs(out[:, k] - ref) / scale2) < 1e-5


def test_config_validation_and_overrides():
    with pytest.raises(InputError):
        PadmeRun3Config(y0_err=0.0)
    with pytest.raises(InputError):
        PadmeRun3Config(k_rho=1.5)
    with pytest.raises(InputError):
        PadmeRun3Config(g_mode="bisection")
    cfg = PadmeRun3Config(effb_line=(25000.0, 2700.0, 30.0, 90.0, 0.0), y0=14.0)
    p = PadmeProblem.from_table(xdata.load("padme-run3"), cfg)
    assert p.effb["source"] == "config"
    assert p.center[2] == 14.0 and p.center[5] == 25000.0
    # grids: PADME's float arithmetic (76 masses ending at 17.72; 40 couplings)
    c = PadmeRun3Config()
    assert c.observed_masses.size == 76 and c.observed_masses[-1] == pytest.approx(17.72)
    assert c.band_masses.size == 33 and c.band_masses[-1] == pytest.approx(17.60)
    assert c.g_grid.size == 40 and c.g_grid[-1] == pytest.approx(9.775e-4, rel=1e-12)


def test_too_few_points_is_input_error():
    t = xdata.load("padme-run3")
    used = np.zeros(len(t), dtype=bool)
    used[np.flatnonzero(t.used)[:3]] = True
    with pytest.raises(InputError):
        PadmeProblem.from_table(t.replace(used=used))


def test_bkg_stat_only_side_limit(problem):
    from x17scan.stats.padme_run3.side import bkg_stat_only_limits

    # by hand (method doc §10): the 5 points with the largest Y at M = 16.9 MeV
    y = signal_yield(problem, 16.9)
    top = np.argsort(y)[::-1][:5]
    k = 1.01163 - 1.03e-2 * problem.x[top]
    effb = problem.effb["e0"] + problem.effb["e1"] * problem.x[top]
    n_exp = sum(problem.pot[top] * problem.bkg[top] * k)
    n_sig = sum(problem.pot[top] * y[top] * k * problem.bkg[top] * effb)
    assert bkg_stat_only_limits(problem, [16.9])[0] == pytest.approx(
        (1.28 * n_exp**0.5 / n_sig) ** 0.5, rel=1e-12)
