"""Bhabha and gamma gamma cross sections against docs/physics.md §7-§10 and quadrature."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from x17scan.physics import acceptance_cos, sigma_bhabha, sigma_gg
from x17scan.physics.constants import ALPHA, E_CHARGE, HBARC2_MEV2_MB, M_E
from x17scan.physics.xsec import (
    dsigma_bhabha,
    dsigma_gg,
    k_factor,
    sigma_gamma_x,
    sigma_gg_total_dirac,
    sigma_in_acceptance,
)


def bhabha_massless(w, c):
    """Massless Bhabha dsigma/dcos (mb), physics.md §7, first (half-angle) form."""
    s = w * w
    ch2, sh2 = (1 + c) / 2, (1 - c) / 2
    dom = ALPHA**2 / (2 * s) * ((1 + ch2**2) / sh2**2 - 2 * ch2**2 / sh2 + (1 + c * c) / 2)
    return 2 * np.pi * dom * HBARC2_MEV2_MB


def test_massless_bhabha_identity():
    # physics.md §7: the two massless forms are identical
    c = np.linspace(-0.99, 0.99, 41)
    w = 17.0
    second = 2 * np.pi * ALPHA**2 / (4 * w * w) * ((3 + c * c) / (1 - c)) ** 2 * HBARC2_MEV2_MB
    assert np.allclose(bhabha_massless(w, c), second, rtol=1e-13)


def test_bhabha_reference_point():
    # physics.md §7: 1.0159 mb at sqrt(s) = 17 MeV, theta* = 90 deg; massive/massless = 1.00162
    assert dsigma_bhabha(17.0, 0.0) == pytest.approx(1.0159, abs=5e-5)
    assert dsigma_bhabha(17.0, 0.0) / bhabha_massless(17.0, 0.0) == pytest.approx(1.00162,
                                                                                   abs=5e-6)


def test_bhabha_massless_limit():
    # analytic limit: m_e/sqrt(s) -> 0
    c = np.array([-0.9, -0.3, 0.0, 0.5, 0.9])
    assert np.allclose(dsigma_bhabha(2e4, c), bhabha_massless(2e4, c), rtol=1e-6)


@pytest.mark.parametrize("w", [1.5, 17.0, 100.0])
@pytest.mark.parametrize("c", [0.05, 0.2057, 0.7, 0.99])
def test_bhabha_window_vs_quad(w, c):
    ref, _ = integrate.quad(lambda x: dsigma_bhabha(w, x), -c, c, epsabs=0, epsrel=1e-12)
    assert sigma_bhabha(w, c) == pytest.approx(ref, rel=1e-10)


def test_bhabha_reference_window():
    # physics.md §9 extra unit test
    assert sigma_bhabha(17.0, 0.2057) == pytest.approx(0.4407, abs=5e-5)
    # mass correction over the acceptance +0.17 % (physics.md §7)
    ref, _ = integrate.quad(lambda x: bhabha_massless(17.0, x), -0.2057, 0.2057)
    assert sigma_bhabha(17.0, 0.2057) / ref - 1 == pytest.approx(0.0017, abs=5e-4)


def test_bhabha_total_raises():
    with pytest.raises(ValueError, match="diverges"):
        sigma_bhabha(17.0, 1.0)
    with pytest.raises(ValueError):
        sigma_bhabha(17.0, -0.1)
    with pytest.raises(ValueError):
        dsigma_bhabha(0.5, 0.0)  # below threshold


@pytest.mark.parametrize("w", [1.2, 5.0, 17.0, 20.2947])
def test_gg_total_is_dirac(w):
    ref, _ = integrate.quad(lambda x: dsigma_gg(w, x), -1, 1, epsabs=0, epsrel=1e-12, limit=200)
    assert sigma_gg(w) == pytest.approx(0.5 * ref, rel=1e-9)
    assert sigma_gg(w, 1.0) == pytest.approx(sigma_gg_total_dirac(w), rel=1e-10)


def test_gg_reference_values():
    # physics.md §8: 2.7286 mb at 17 MeV; leading log (2 pi a^2/s)(ln(s/m^2) - 1) = 2.709 mb
    assert sigma_gg_total_dirac(17.0) == pytest.approx(2.7286, abs=5e-5)
    s = 17.0**2
    ll = 2 * np.pi * ALPHA**2 / s * (np.log(s / M_E**2) - 1) * HBARC2_MEV2_MB
    assert ll == pytest.approx(2.709, abs=5e-4)
    # window: massless closed form, and the +0.9 % electron-mass correction at c = 0.206
    c = 0.206
    massless = 2 * np.pi * ALPHA**2 / s * (np.log((1 + c) / (1 - c)) - c) * HBARC2_MEV2_MB
    assert sigma_gg(17.0, c) / massless - 1 == pytest.approx(0.009, abs=5e-4)
    assert sigma_gg(3e4, c) / (massless * s / 3e4**2) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("c", [0.1, 0.2060, 0.6, 0.999])
def test_gg_window_vs_quad(c):
    ref, _ = integrate.quad(lambda x: dsigma_gg(17.0, x), -c, c, epsabs=0, epsrel=1e-12)
    assert sigma_gg(17.0, c) == pytest.approx(0.5 * ref, rel=1e-10)


# physics.md §9 table: sqrt(s), c, sigma_Bhabha(|cos|<c), sigma_gg(|cos|<c) with R_max = 270 mm,
# D = 3636 mm, massless acceptance kinematics
TABLE9 = [(16.40, 0.1713, 0.3878, 0.0854), (16.70, 0.1888, 0.4157, 0.0912),
          (17.00, 0.2060, 0.4414, 0.0964), (17.40, 0.2282, 0.4725, 0.1026)]


@pytest.mark.parametrize(("w", "c", "sb", "sg"), TABLE9)
def test_table9_cross_sections(w, c, sb, sg):
    # the table's c is rounded to 4 digits: use the unrounded one (checked in test_kinematics)
    c_exact = acceptance_cos(w, 270.0, 3636.0, mass=0.0)
    assert c_exact == pytest.approx(c, abs=5e-5)
    assert sigma_bhabha(w, c_exact) == pytest.approx(sb, abs=5e-5)
    assert sigma_gg(w, c_exact) == pytest.approx(sg, abs=5e-5)
    tot = sigma_in_acceptance(w, r_max=270, distance=3636, massless_kinematics=True)
    assert tot == pytest.approx(sb + sg, abs=1e-4)
    assert sigma_in_acceptance(w, 270, 3636, "gg") == pytest.approx(sg, abs=5e-5)


def test_acceptance_exact_masses():
    # massive e+e- kinematics gives a slightly larger c than the massless one (gamma* = gamma_cm)
    ee = sigma_in_acceptance(17.0, 270, 3636, "bhabha")
    ml = sigma_in_acceptance(17.0, 270, 3636, "bhabha", massless_kinematics=True)
    assert 1.0 < ee / ml < 1.02
    both = sigma_in_acceptance([16.4, 17.0])
    parts = (sigma_in_acceptance([16.4, 17.0], process="bhabha")
             + sigma_in_acceptance([16.4, 17.0], process="gg"))
    assert np.allclose(both, parts)
    with pytest.raises(ValueError, match="process"):
        sigma_in_acceptance(17.0, process="mumu")


def test_k_factor_table():
    # physics.md §9 (PADME plotmaking/fig12_1_paper.C, fig12_2_paper.C)
    assert k_factor(16.92, "bhabha") == pytest.approx(0.9706)
    assert k_factor(17.92, "bhabha") == pytest.approx(0.9766)
    assert k_factor(15.92, "gg") == pytest.approx(0.9840 - 0.0059)
    assert k_factor(16.92) == pytest.approx(0.9731)


def test_sigma_gamma_x():
    # physics.md §10: 10.23 mb at sqrt(s)=17, M=10, eps=1; 0.061 ub at 20.29, 16.9, g=5e-4
    assert sigma_gamma_x(17.0, 10.0, E_CHARGE) == pytest.approx(10.23, abs=5e-3)
    assert sigma_gamma_x(20.29, 16.9, 5e-4) * 1e3 == pytest.approx(0.061, abs=5e-4)
    # M -> 0: twice the gamma gamma leading-log total (distinguishable bosons)
    s = 17.0**2
    ll = 2 * np.pi * ALPHA**2 / s * (np.log(s / M_E**2) - 1) * HBARC2_MEV2_MB
    assert sigma_gamma_x(17.0, 1e-6, E_CHARGE) == pytest.approx(2 * ll, rel=1e-9)
    assert sigma_gamma_x(17.0, 18.0, 1e-3) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.floats(1.1, 200.0), st.floats(-0.999, 0.999))
def test_gg_symmetric_positive(w, c):
    assert dsigma_gg(w, c) == pytest.approx(dsigma_gg(w, -c), rel=1e-12)
    assert dsigma_gg(w, c) > 0 and dsigma_bhabha(w, c) > 0


@settings(max_examples=30, deadline=None)
@given(st.floats(1.1, 200.0), st.floats(0.0, 0.99), st.floats(0.0, 0.99))
def test_windows_monotonic(w, c1, c2):
    lo, hi = sorted((c1, c2))
    assert sigma_bhabha(w, lo) <= sigma_bhabha(w, hi) + 1e-15
    assert sigma_gg(w, lo) <= sigma_gg(w, hi) + 1e-15 <= sigma_gg(w, 1.0) + 2e-15


def test_broadcasting():
    w = np.array([16.4, 17.0, 17.4])[:, None]
    c = np.linspace(-0.5, 0.5, 5)
    assert dsigma_bhabha(w, c).shape == (3, 5)
    assert dsigma_gg(w, c).shape == (3, 5)
    assert sigma_bhabha(w, np.abs(c)).shape == (3, 5)
    assert sigma_gg(w, np.abs(c)).shape == (3, 5)
    assert sigma_in_acceptance(w[:, 0]).shape == (3,)
