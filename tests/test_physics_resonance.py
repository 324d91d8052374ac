"""Widths, Breit-Wigner and integrated yields against docs/physics.md §3-§5."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from x17scan.physics import (
    DIAMOND_100UM,
    e_res,
    integrated_xsec_s,
    integrated_xsec_sqrts,
    integrated_yield,
    sigma_bw,
    width,
    yield_free_gaussian,
)
from x17scan.physics.constants import HBARC2_MEV2_MB, HBARC_MEV_MM, M_E

SPINS = ["vector", "axial", "scalar", "pseudoscalar"]


# physics.md §3 table (eV)
@pytest.mark.parametrize(("spin", "g", "gamma_ev"), [
    ("vector", 2e-4, 0.01804), ("vector", 5e-4, 0.1127), ("vector", 1e-3, 0.4509),
    ("axial", 1e-3, 0.4485), ("scalar", 1e-3, 0.6727), ("pseudoscalar", 1e-3, 0.6752)])
def test_width_table(spin, g, gamma_ev):
    assert width(17.0, g, spin) * 1e6 == pytest.approx(gamma_ev, rel=6e-4)


def test_decay_length():
    # physics.md §3: c tau = 10.9 um, lab decay length 182 um (g = 2e-4, E_X ~ 282.8 MeV)
    ctau = HBARC_MEV_MM / width(17.0, 2e-4) * 1e3
    assert ctau == pytest.approx(10.9, abs=0.05)
    assert ctau * np.sqrt(282.8**2 - 17.0**2) / 17.0 == pytest.approx(182, abs=0.5)


def test_light_mass_limits():
    # beta -> 1: V and A -> g^2 M/(12 pi), S and P -> g^2 M/(8 pi)
    m = 1e4
    assert width(m, 1.0, "vector") == pytest.approx(m / (12 * np.pi), rel=1e-8)
    assert width(m, 1.0, "axial") == pytest.approx(m / (12 * np.pi), rel=1e-7)
    assert width(m, 1.0, "pseudoscalar") == pytest.approx(m / (8 * np.pi), rel=1e-8)


def test_bw_peak():
    # physics.md §4: 12 pi/M^2 = 50.79 b (V) and 4 pi/M^2 (S/P) at the pole
    assert sigma_bw(17.0, 17.0, 5e-4) * 1e-3 == pytest.approx(50.79, abs=5e-3)
    assert sigma_bw(17.0, 17.0, 5e-4, "scalar") == pytest.approx(4 * np.pi / 289 * HBARC2_MEV2_MB)


@pytest.mark.parametrize("spin", SPINS)
def test_bw_narrow_width_integral(spin):
    # numerical integral of the Breit-Wigner vs the analytic narrow-width result (physics.md §4)
    g, m = 5e-4, 17.0
    gam = width(m, g, spin)
    lo, hi = m - 2e4 * gam, m + 2e4 * gam
    num, _ = integrate.quad(lambda w: sigma_bw(w, m, g, spin), lo, hi, points=[m],
                            epsabs=0, epsrel=1e-9, limit=400)
    # the tails beyond +-2e4 Gamma carry 1/(pi 2e4) of a Lorentzian of FWHM Gamma
    assert num / (1 - 1 / (np.pi * 2e4)) == pytest.approx(integrated_xsec_sqrts(m, g, spin),
                                                          rel=1e-6)
    ref_s = {"vector": 1.0, "axial": 1.0, "scalar": 0.5, "pseudoscalar": 0.5}[spin]
    beta = np.sqrt(1 - 4 * M_E**2 / m**2)
    powers = {"vector": 0, "axial": 3, "scalar": 3, "pseudoscalar": 1}[spin]
    pi_g2 = np.pi * g * g * ref_s * beta**powers * HBARC2_MEV2_MB
    # pi g^2 exactly for A/S/P; for V within 1e-5 (factor (1 + 2r) beta)
    assert integrated_xsec_s(m, g, spin) == pytest.approx(pi_g2, rel=1e-5)


def test_integrated_yield_reference():
    # physics.md §5.1: 12.657 g^2 MeV; peak 2.020e-7 (g/2e-4)^2 (1 MeV/sigma_E); 7.16 g^2 free
    assert integrated_yield(17.0, 1.0) == pytest.approx(12.657, abs=5e-4)
    assert DIAMOND_100UM.electrons_per_cm2 == pytest.approx(1.0574e22, rel=5e-5)
    assert integrated_yield(17.0, 2e-4) / np.sqrt(2 * np.pi) == pytest.approx(2.020e-7, abs=5e-10)
    assert yield_free_gaussian(e_res(17.0), 17.0, 1.0) == pytest.approx(7.16, abs=5e-3)
    # pseudoscalar gives half the vector rate at equal coupling (physics.md §4), up to the mass
    # factors: (pi g^2 beta/2) / (pi g^2 (1 + 2 m^2/M^2) beta)
    ratio = integrated_yield(17.0, 1.0, "pseudoscalar") / integrated_yield(17.0, 1.0)
    assert ratio == pytest.approx(0.5 / (1 + 2 * M_E**2 / 17.0**2), rel=1e-12)
    assert ratio == pytest.approx(0.5, abs=1e-3)
    assert integrated_yield(17.0, 1.0, br_ee=0.3) == pytest.approx(0.3 * 12.657, abs=5e-4)


def test_free_gaussian_integral():
    e = np.linspace(250, 320, 20001)
    y = yield_free_gaussian(e, 17.0, 5e-4, bes=0.0025)
    assert np.trapezoid(y, e) == pytest.approx(integrated_yield(17.0, 5e-4), rel=1e-10)


def test_bad_spin():
    with pytest.raises(ValueError, match="vector, axial, scalar, pseudoscalar"):
        width(17.0, 1e-3, "tensor")
    with pytest.raises(ValueError, match="mass"):
        width(0.5, 1e-3)


@settings(max_examples=40, deadline=None)
@given(st.floats(1.1, 100.0), st.floats(1e-6, 1e-1), st.sampled_from(SPINS))
def test_width_scales_as_g2(m, g, spin):
    w1 = width(m, 1.0, spin)
    assert w1 > 0
    assert width(m, g, spin) == pytest.approx(g * g * w1, rel=1e-12)


def test_broadcasting():
    m = np.array([16.5, 17.0, 17.5])[:, None]
    g = np.array([1e-4, 5e-4])
    assert width(m, g).shape == (3, 2)
    assert integrated_yield(m, g).shape == (3, 2)
