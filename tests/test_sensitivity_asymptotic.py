"""Asymptotic expected limits and discovery reach of x17scan.stats.sensitivity against closed
forms and toys.

References: CCGV = Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554. For one counting bin
with known background b and signal mu s, the background-only Asimov data set gives
q_mu,A = 2 [mu s - b ln(1 + mu s/b)] (CCGV eq. 16 with n = b), the expected CLs limit of band N
solves sqrt(q_mu,A) = N + Phi^-1(1 - alpha Phi(N)) (CCGV eq. 89 with the CLs modification of
their sect. 3.8), and the median discovery significance is
Z_A = sqrt(2 [(s + b) ln(1 + s/b) - s]) (CCGV eq. 97).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from x17scan.physics.constants import M_E
from x17scan.stats import sensitivity as S
from x17scan.stats.signal import SignalModel

SQ = lambda e: np.sqrt(2.0 * M_E * (np.asarray(e, float) + M_E))  # noqa: E731


def flat_reference(bkg=3.5e-6, bkg_rel=0.0, eff=0.09, eff_rel=0.0, e=(200.0, 330.0)):
    """Flat B and efficiency over a wide beam-energy range (synthetic reference curves)."""
    return S.ReferenceCurves(sqrt_s=SQ(e), bkg=np.full(2, bkg), bkg_rel_err=np.full(2, bkg_rel),
                             eff=np.full(2, eff), eff_rel_err=np.full(2, eff_rel), name="flat")


def test_single_bin_closed_form():
    """Signal in one point only, background normalisation fixed (tight K prior), no per-point
    nuisances: the scan likelihood is one Poisson bin; limits and discovery reach must match
    the closed forms."""
    e = np.array([270.0, 275.0, 280.0, 285.0, 290.0])
    pot = np.full(5, 1e8)                     # b = 350 events per point
    tab = S.asimov_table(e, pot, np.zeros(5), flat_reference())
    y0 = 2.0                                  # per PoT per g^2, at 280 MeV only

    def yield_fn(e_beam, mass, **_):
        return np.where(np.abs(e_beam - 280.0) < 0.1, y0, 0.0) * np.ones_like(mass)

    sig = SignalModel(lineshape="custom", yield_fn=yield_fn, nuisances=())
    k_fixed = ((1.0, 0.0), (1e-9, 1e-9), 0.0)
    r = S.expected_sensitivity(tab, [17.0], signal=sig, background="constrained",
                               k_prior=k_fixed, efficiency="none", lee_window=None)
    b = 1e8 * 3.5e-6
    s1 = 1e8 * 0.09 * y0                      # signal events per unit mu
    for i, n in enumerate((-2, -1, 0, 1, 2)):
        tgt = n + ndtri(1.0 - 0.1 * ndtr(n))
        mu = brentq(lambda m, t=tgt: 2 * (m * s1 - b * np.log1p(m * s1 / b)) - t**2, 1e-12, 1.0)
        assert r.bands[i, 0] == pytest.approx(np.sqrt(mu), rel=2e-4)
    for z in (3.0, 5.0):
        mu = brentq(lambda m, z=z: 2 * ((m * s1 + b) * np.log1p(m * s1 / b) - m * s1) - z * z,
                    1e-12, 1.0)
        assert r.discovery_local[z][0] == pytest.approx(np.sqrt(mu), rel=2e-4)


def test_gaussian_limit_with_profiled_background():
    """Large counts (3.5e7 background events per point, so the signal at the limit is ~1e-4 of
    the background and the Poisson likelihood is Gaussian to that order): the median limit
    equals 1.645/sqrt(s^T P s) and the 3 sigma reach 3/sqrt(s^T P s) (in mu = g^2), with P
    projecting out the free linear background K = k0 + k1 x under the weights 1/b; computed
    here by weighted least squares."""
    e = np.linspace(266.0, 292.0, 12)
    pot = np.full(e.size, 1e13)
    tab = S.asimov_table(e, pot, np.zeros(e.size), flat_reference())
    sig = SignalModel(lineshape="free", bes=0.0025, bes_err=0.0, nuisances=())
    masses = [16.75, 16.9, 17.05]
    r = S.expected_sensitivity(tab, masses, signal=sig, efficiency="none")
    b = pot * 3.5e-6
    x = SQ(e) - 16.92
    s = sig.template(tab, masses)             # (3, n) events per unit mu
    w = 1.0 / np.sqrt(b)
    basis = np.stack([b * w, x * b * w], 1)
    for j in range(3):
        y = s[j] * w
        resid = y - basis @ np.linalg.lstsq(basis, y, rcond=None)[0]
        info = resid @ resid
        assert r.median[j] == pytest.approx(np.sqrt(1.6448536269514722 / np.sqrt(info)),
                                            rel=5e-4)
        assert r.discovery_local[3.0][j] == pytest.approx(np.sqrt(3.0 / np.sqrt(info)),
                                                          rel=5e-4)


def test_asymptotic_against_toys_small_plan():
    """Expected band from toys (profile method's ToyCalculator: background-only quantiles of
    q~_mu, CLs from signal-plus-background toys) against the Asimov band on an 8-point plan
    (~1750 background events per point): agreement within the toys' statistical error (3
    sigma) plus 2 % for the asymptotic approximation."""
    e = np.linspace(270.0, 290.0, 8)
    tab = S.asimov_table(e, np.full(8, 5e8), np.full(8, 5e8 * 0.003),
                         flat_reference(bkg_rel=0.005, eff_rel=0.01))
    masses = [16.8, 16.95]
    sig = S.signal_model("voigt")
    asym = S.expected_sensitivity(tab, masses, signal=sig)
    toy = S.expected_toys(tab, masses, signal=sig, toys=400, pseudo_experiments=400, seed=3)
    for i in (1, 2, 3):   # -1 sigma, median, +1 sigma
        tol = 3.0 * toy["bands_err"][i] + 0.02 * asym.bands[i]
        np.testing.assert_array_less(np.abs(toy["bands"][i] - asym.bands[i]), tol)


def test_pseudoscalar_scaling():
    """A pseudoscalar has half the vector rate (physics.md §4) and a flat angular distribution
    (efficiency x c/[(3/8)(2c + 2c^3/3)], physics.md §5.2): with the signal-shape nuisances
    switched off its limit on g^2 scales by 1/(0.5 x factor)."""
    e = np.linspace(268.0, 292.0, 16)
    ref = flat_reference(bkg_rel=0.005)
    pot = np.full(e.size, 1e10)
    masses = [16.9, 17.0]
    out = {}
    for spin in ("vector", "pseudoscalar"):
        tab = S.asimov_table(e, pot, pot * 0.003, ref, spin=spin)
        sig = SignalModel(lineshape="free", spin=spin, bes=0.0025, bes_err=0.0, nuisances=())
        out[spin] = S.expected_sensitivity(tab, masses, signal=sig, efficiency="none").median
    f = S.spin_efficiency_factor(SQ(e), "pseudoscalar")
    assert np.ptp(f) / f.mean() < 0.02          # nearly constant over the scan
    np.testing.assert_allclose(out["pseudoscalar"] / out["vector"],
                               np.sqrt(1.0 / (0.5 * f.mean())), rtol=0.01)


def test_spin_efficiency_factor_reference():
    """physics.md §5.2: at sqrt(s) = 17 MeV, c = 0.206, accepted fractions 0.156 (V) and
    0.206 (S/P); the factor is c / [(3/8)(2c + 2c^3/3)] = 1.315 (analytic at c = 0.206)."""
    c = 0.206
    ref = c / (0.375 * (2 * c + 2 * c**3 / 3))
    assert S.spin_efficiency_factor(17.0, "pseudoscalar") == pytest.approx(ref, rel=5e-3)
    assert S.spin_efficiency_factor(17.0, "axial") == 1.0
    assert S.spin_efficiency_factor(17.0, "vector", "scalar") == pytest.approx(1 / ref, rel=5e-3)


def test_mass_shift_of_energy_offset():
    """E_res = (M^2 - 2 m_e^2)/(2 m_e): +1.5 MeV of beam energy moves the probed mass by
    sqrt(M^2 + 2 m_e 1.5) - M = 45.1 keV at 17 MeV (~ offset m_e / M)."""
    assert S.mass_shift(17.0, 1.5) == pytest.approx(np.sqrt(17.0**2 + 2 * M_E * 1.5) - 17.0)
    assert 1e3 * S.mass_shift(17.0, 1.5) == pytest.approx(1.5 * M_E / 17.0 * 1e3, rel=2e-3)


def test_gross_vitells_threshold():
    """The local threshold u* solves p_local(u*) + N1 exp(-u*/2) = Phi(-Z); with N1 = 0 it is
    Z^2 (no look-elsewhere effect)."""
    for n1, z in ((2.6, 3.0), (10.0, 5.0)):
        u = S._gv_threshold(z, n1)
        assert ndtr(-np.sqrt(u)) + n1 * np.exp(-u / 2) == pytest.approx(ndtr(-z), rel=1e-8)
    assert S._gv_threshold(3.0, 0.0) == pytest.approx(9.0)


def test_solver_power_law():
    """solve_increasing finds x with c x^p = t for many rows at once, and NaN beyond x_max."""
    c = np.array([1.0, 2.0, 0.5, 1e-3])
    p = np.array([1.0, 0.5, 2.0, 1.0])
    t = np.array([3.0, 1.0, 2.0, 5.0])

    def fn(rows, x):
        return c[rows] * x ** p[rows]

    x, ok, _ = S.solve_increasing(fn, t, np.ones(4), x_max=np.array([1e9, 1e9, 1e9, 100.0]))
    np.testing.assert_allclose(x[:3], (t[:3] / c[:3]) ** (1 / p[:3]), rtol=5e-4)
    assert ok[:3].all() and np.isnan(x[3])
