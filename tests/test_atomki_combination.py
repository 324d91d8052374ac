"""Combination of a scan's mass profile with the nuclear masses, on inputs with a known answer.

A parabolic profile q = ((M - M0)/σ0)² plus Gaussian nuclear masses (mean m, error σ) is a
product of Gaussians: combined mean (M0/σ0² + m/σ²)/(1/σ0² + 1/σ²), error (1/σ0² + 1/σ²)^-1/2,
and the excess of the joint minimum over the separate ones Δχ² = (M0 - m)²/(σ0² + σ²),
distributed as χ² with 1 degree of freedom when both measure the same mass.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from x17scan.constraints import atomki as A
from x17scan.errors import InputError


def _nuclear(masses, errors):
    ms = [A.Measurement(id=f"t{i}", nucleus="8Be", final_nucleus="8Be", transition="toy",
                        delta_e=18.15, mass=m, stat=e, syst=None, total=None, setup=f"s{i}",
                        syst_group=f"t{i}", datasets=("toy",), reference="toy", checks=())
          for i, (m, e) in enumerate(zip(masses, errors, strict=True))]
    return A.combine(ms, "uncorrelated")


def _expected(m0, s0, m, s):
    w0, w = 1 / s0**2, 1 / s**2
    return ((m0 * w0 + m * w) / (w0 + w), (w0 + w) ** -0.5, (m0 - m) ** 2 / (s0**2 + s**2))


def test_parabola_plus_gaussians_cubic_exact():
    nuc = _nuclear([16.80, 17.05, 16.95], [0.20, 0.15, 0.10])
    grid = np.linspace(16.4, 17.5, 56)
    m0, s0 = 17.10, 0.05
    r = A.combine_with_scan(grid, ((grid - m0) / s0) ** 2, nuc, interp="cubic")
    mean, err, dchi2 = _expected(m0, s0, nuc.mass, nuc.error)
    assert r.mass == pytest.approx(mean, abs=1e-7)
    assert r.err_low == pytest.approx(err, abs=1e-7)
    assert r.err_high == pytest.approx(err, abs=1e-7)
    assert r.delta_chi2 == pytest.approx(dchi2, rel=1e-6)
    assert r.p_value == pytest.approx(sps.chi2.sf(dchi2, 1), rel=1e-6)
    assert r.z == pytest.approx(math.sqrt(dchi2), rel=1e-6)
    assert r.scan_mass == pytest.approx(m0, abs=1e-7)
    assert r.scan_err_low == pytest.approx(s0, abs=1e-7)
    assert r.chi2_nuc_min == pytest.approx(nuc.chi2)
    assert r.notes == ()


@settings(max_examples=25, deadline=None)
@given(m0=st.floats(16.7, 17.2), s0=st.floats(0.02, 0.2), m=st.floats(16.6, 17.3),
       s=st.floats(0.03, 0.3))
def test_parabola_plus_gaussian_property(m0, s0, m, s):
    nuc = _nuclear([m], [s])
    grid = np.linspace(15.5, 18.5, 301)
    r = A.combine_with_scan(grid, ((grid - m0) / s0) ** 2, nuc)  # default: cubic, exact here
    mean, err, dchi2 = _expected(m0, s0, m, s)
    assert r.mass == pytest.approx(mean, abs=1e-6)
    assert r.error == pytest.approx(err, abs=1e-6)
    assert r.delta_chi2 == pytest.approx(dchi2, abs=1e-6 * (1 + dchi2))


def test_pchip_option_close_to_exact():
    """The shape-preserving option is not exact for a parabola; with 10 points per σ0 its
    error stays far below σ0 (here < 2 keV for σ0 = 50 keV)."""
    nuc = _nuclear([16.95], [0.10])
    grid = np.linspace(16.4, 17.5, 221)
    r = A.combine_with_scan(grid, ((grid - 16.85) / 0.05) ** 2, nuc, interp="pchip")
    mean, err, dchi2 = _expected(16.85, 0.05, 16.95, 0.10)
    assert r.mass == pytest.approx(mean, abs=2e-3)
    assert r.error == pytest.approx(err, abs=2e-3)
    assert r.delta_chi2 == pytest.approx(dchi2, rel=0.02)


def test_unsorted_profile_and_null_points():
    nuc = _nuclear([17.0], [0.1])
    grid = np.linspace(16.5, 17.5, 101)
    q = ((grid - 16.9) / 0.05) ** 2
    order = np.random.default_rng(1).permutation(grid.size)
    q_list = [float(v) for v in q[order]]
    q_list[3] = None
    r = A.combine_with_scan(list(grid[order]), q_list, nuc, interp="cubic")
    mean, _err, _ = _expected(16.9, 0.05, 17.0, 0.1)
    assert r.mass == pytest.approx(mean, abs=1e-6)
    assert any("dropped" in n for n in r.notes)


def test_minimum_at_the_edge_is_noted():
    nuc = _nuclear([17.4], [0.02])
    grid = np.linspace(16.4, 17.0, 61)
    r = A.combine_with_scan(grid, 0.01 * (grid - 16.4), nuc)  # nearly flat scan profile
    assert r.mass == pytest.approx(17.0, abs=1e-6)
    assert any("edge" in n for n in r.notes)
    assert r.err_high is None and r.error is None


def test_flat_profile_gives_the_nuclear_answer():
    """A scan that does not constrain M (q ≡ 0) returns the nuclear mass and error, Δχ² = 0."""
    nuc = _nuclear([16.9, 17.0], [0.1, 0.1])
    grid = np.linspace(16.0, 18.0, 201)
    r = A.combine_with_scan(grid, np.zeros_like(grid), nuc)
    assert r.mass == pytest.approx(nuc.mass, abs=1e-6)
    assert r.error == pytest.approx(nuc.error, abs=1e-6)
    assert r.delta_chi2 == pytest.approx(0.0, abs=1e-9)


def test_bad_profiles():
    nuc = _nuclear([17.0], [0.1])
    with pytest.raises(InputError, match=r"bestfit.profile_mass.q.*row 1"):
        A.combine_with_scan([16.8, 16.9, 17.0], [1.0, -0.5, 1.0], nuc)
    with pytest.raises(InputError, match="need >= 3"):
        A.combine_with_scan([16.8, 16.9], [1.0, 0.0], nuc)
    with pytest.raises(InputError, match="repeated mass"):
        A.combine_with_scan([16.8, 16.9, 16.9, 17.0], [1.0, 0.0, 0.0, 1.0], nuc)
    with pytest.raises(InputError, match="different lengths"):
        A.combine_with_scan([16.8, 16.9, 17.0], [1.0, 0.0], nuc)
    with pytest.raises(InputError, match="interp"):
        A.combine_with_scan([16.8, 16.9, 17.0], [1.0, 0.0, 1.0], nuc, interp="linear")
