"""Control-region stability fits against numpy.polyfit and chi^2 by hand."""

import numpy as np
import pytest
from scipy.stats import chi2

from x17scan.stats.control import control_regions, stability_fits
from x17scan.stats.synthetic import synthetic_table


def test_stability_fits_match_polyfit():
    rng = np.random.default_rng(1)
    s = np.linspace(14.55, 14.76, 5)
    err = np.array([0.007, 0.008, 0.0075, 0.009, 0.0068])
    r = 1.01 - 0.02 * (s - 16.92) + err * rng.standard_normal(5)
    out = stability_fits(s, r, err)
    p1, p0 = np.polyfit(s - 16.92, r, 1, w=1 / err)
    lin = out["linear"]
    assert lin["p0"] == pytest.approx(p0, rel=1e-10)
    assert lin["p1"] == pytest.approx(p1, rel=1e-10)
    curve = p0 + p1 * (s - 16.92)
    c2 = (((r - curve) / err) ** 2).sum()
    assert lin["chi2"] == pytest.approx(c2, rel=1e-10) and lin["ndf"] == 3
    assert lin["p"] == pytest.approx(chi2.sf(c2, 3))
    _, cov = np.polyfit(s - 16.92, r, 1, w=1 / err, cov="unscaled")
    assert lin["p1_err"] == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)
    const = out["constant"]
    w = 1 / err ** 2
    mean = (w * r).sum() / w.sum()
    assert const["p0"] == pytest.approx(mean, rel=1e-12)
    assert const["p0_err"] == pytest.approx(w.sum() ** -0.5, rel=1e-12)
    assert const["rms_rel"] == pytest.approx(np.sqrt(np.mean((r / mean - 1) ** 2)), rel=1e-12)
    assert stability_fits(s[:1], r[:1], err[:1])["constant"] is None


def test_control_regions_of_a_table():
    t = synthetic_table(n_points=20, below=5, seed=3)
    c = control_regions(t)
    assert set(c["regions"]) == {"below", "sidebands"}
    below = c["regions"]["below"]
    assert len(below["sqrt_s"]) == 5 and below["linear"]["ndf"] == 3
    # Poisson counts around a flat R = 1: a good chi^2 and an RMS near the expected one
    side = c["regions"]["sidebands"]
    assert side["constant"]["p"] > 1e-3
    assert side["constant"]["rms_rel"] < 3 * side["expected_rms_rel"]
