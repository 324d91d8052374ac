"""Validation-study helpers: the shape comparison, the sharp-edge acceptance model, the fits of
the off-resonance study, the PADME-simulation resolution preset and the halo calibration.

References: algebra (a simulation that is the reference times a constant), the acceptance cross
sections of docs/physics.md §9 (numerical integration of the tree-level cross sections with full
m_e dependence, R_max = 270 mm, D = 3636 mm), numpy's least-squares polynomial fit (a second
method for the weighted straight line), the stored halo calibration (1.5M events).
"""

import math

import numpy as np
import pytest

from x17scan.sim.studies import (
    b_over_eff_growth,
    compare_shape,
    constant_fit,
    linear_fit,
    sharp_edge_diagnostic,
    sharp_edge_model,
)


def test_compare_shape_recovers_factor_and_pattern():
    rng = np.random.default_rng(1)
    ref = rng.uniform(2e-6, 4e-6, 20)
    pattern = np.where(np.arange(20) == 7, 0.03, 0.0)
    sim = ref * (1 + pattern) / 1.1
    err = 1e-3 * ref
    c = compare_shape(sim, ref, err, err)
    # the weighted factor is dominated by the 19 points with no deviation
    k = c["factor"]
    assert k == pytest.approx(1.1, rel=2e-3)
    dev = np.array(c["deviation"])
    assert dev == pytest.approx(k / 1.1 * (1 + pattern) - 1, abs=1e-12)
    assert c["argmax"] == 7 and c["ndf"] == 19


@pytest.mark.parametrize("w,sig_bh,sig_gg", [(16.40, 0.3878, 0.0854), (17.00, 0.4414, 0.0964),
                                            (17.40, 0.4725, 0.1026)])
def test_sharp_edge_model_matches_physics_table(w, sig_bh, sig_gg):
    from x17scan.physics.xsec import k_factor

    b = sharp_edge_model(np.array([w]), 270.0, "B", distance=3636.0, massless=True)[0]
    ref = sig_bh * float(k_factor(w, "bhabha")) + sig_gg * float(k_factor(w, "gg"))
    assert b == pytest.approx(ref, rel=1.5e-3)  # table values have 4 significant digits


def test_sharp_edge_diagnostic_finds_the_edge():
    """Columns made from the model itself with edges 298 (B) and 291 mm (eff) are recovered,
    and no common edge brings both within 2 % / 3 % (the gap at the lowest point)."""
    w = np.array([14.55, 14.76, 16.4, 16.7, 17.0, 17.2, 17.5])
    b = 1e-5 * sharp_edge_model(w, 298.0, "B")
    e = 0.3 * sharp_edge_model(w, 291.0, "eff")
    d = sharp_edge_diagnostic(w, b, 4e-3 * b, e, 4e-3 * e, edges=np.arange(285.0, 305.0))
    assert d["B_best_edge_mm"] == 298.0 and d["eff_best_edge_mm"] == 291.0
    assert d["B_best_max_dev"] < 1e-9 and d["eff_best_max_dev"] < 1e-9
    assert d["common_B_max_dev"] / 0.02 + d["common_eff_max_dev"] / 0.03 > 1.0


def test_fits_against_numpy():
    rng = np.random.default_rng(4)
    x = np.linspace(14.5, 14.8, 5)
    err = rng.uniform(0.5, 1.5, 5)
    y = 3.0 + 2.0 * x + rng.normal(0, 1, 5) * err
    lf = linear_fit(x, y, err)
    p1, p0 = np.polyfit(x, y, 1, w=1 / err)
    assert lf["b"] == pytest.approx(p1, rel=1e-9)
    assert lf["a"] == pytest.approx(p0 + p1 * lf["x0"], rel=1e-9)
    assert lf["ndf"] == 3
    cf = constant_fit(y, err)
    w = 1 / err**2
    assert cf["mean"] == pytest.approx(np.sum(w * y) / np.sum(w), rel=1e-12)
    assert cf["chi2"] == pytest.approx(np.sum(w * (y - cf["mean"]) ** 2), rel=1e-12)


def test_padme_mc_resolution_preset():
    """run3-padme-mc: every term of the resolution scaled by PadmeReco's MC/data 1.9/4.9."""
    from x17scan.sim.pipeline import _detector

    data, mc = _detector("run3"), _detector("run3-padme-mc")
    e = np.array([50.0, 100.0, 300.0])
    assert mc.response.sigma(e) == pytest.approx(data.response.sigma(e) * 1.9 / 4.9, rel=1e-12)
    # everything else identical: the kernels' parameters but the three resolution terms, the
    # crystal map, the sharing table and the ETag
    from x17scan.sim.detector import _P_A, _P_B, _P_C

    other = np.ones(data.kernel_params.size, bool)
    other[[_P_A, _P_B, _P_C]] = False
    assert np.array_equal(mc.kernel_params[other], data.kernel_params[other])
    assert np.array_equal(mc.ecal.mask, data.ecal.mask)
    assert np.array_equal(mc.sharing_flat, data.sharing_flat)
    assert np.array_equal(mc.block_valid, data.block_valid)
    assert np.array_equal(mc.etag_short_mask, data.etag_short_mask)


def test_halo_calibration_consistent():
    """The stored selected fraction against a fresh, smaller measurement (same model, other
    seed): within 4 binomial sigmas."""
    from x17scan.sim.halo import HALO_CALIBRATION_ENERGY, HALO_SELECTED_FRACTION, selected_fraction

    n = 60_000
    r = selected_fraction((HALO_CALIBRATION_ENERGY,), n=n, seed=7)
    f = HALO_SELECTED_FRACTION
    assert r["mean"] == pytest.approx(f, abs=4 * math.sqrt(f * (1 - f) / n))


def test_b_over_eff_growth_algebra():
    """B = k/s and a flat efficiency grow by exactly the s ratio; errors add in quadrature."""
    w = np.array([16.91, 14.55, 17.3, 16.4])
    b, eff = 3e-6 * (16.91 / w) ** 2, np.full(4, 0.09)
    g = b_over_eff_growth(w, b, 0.004 * b, eff, 0.003 * eff)
    assert (g["sqrt_s_low"], g["sqrt_s_pivot"]) == (14.55, 16.91)
    assert g["growth"] == pytest.approx((16.91 / 14.55) ** 2, rel=1e-12)
    assert g["growth"] == pytest.approx(g["s_ratio"], rel=1e-12)
    assert g["growth_err"] == pytest.approx(g["growth"] * 0.005 * math.sqrt(2), rel=1e-12)


@pytest.mark.parametrize("edge", [280.0, 291.0, 299.0, 315.0])
def test_common_window_grows_less_than_s(edge):
    """The bound behind the below-resonance note of the padme-shape study: with the analytic
    massless Bhabha cross section, dsigma/dcos ~ ((3 + c^2)/(1 - c))^2 / s, and the vector
    signal (1 + c^2) in a common window |cos| < c(sqrt s; edge), B/eff grows from 16.91 to
    14.55 MeV by less than the s ratio; so does the package's sharp-edge model (m_e, gamma
    gamma and K factors included)."""
    from scipy.integrate import quad

    from x17scan.physics.kinematics import acceptance_cos

    w = np.array([16.91, 14.55])
    c = np.asarray(acceptance_cos(w, edge, 3640.4, mass=0.0), dtype=float)
    assert c[1] < c[0]   # the window narrows below resonance

    def mean_ratio(cc):
        bh = quad(lambda x: ((3 + x * x) / (1 - x)) ** 2, -cc, cc)[0]
        return bh / quad(lambda x: 1 + x * x, -cc, cc)[0]

    s_ratio = (w[0] / w[1]) ** 2
    analytic = s_ratio * mean_ratio(c[1]) / mean_ratio(c[0])
    assert analytic < s_ratio
    bm, em = sharp_edge_model(w, edge, "B"), sharp_edge_model(w, edge, "eff")
    assert (bm[1] / em[1]) / (bm[0] / em[0]) < s_ratio
