"""padme-run3: local and global p-values from limit distributions (method doc §9, rL.C).

The global machinery is tested on a synthetic example with a known answer: pseudo-experiment
limits independent and identically distributed across k masses of the look-elsewhere window,
so that P(at least one of k exceeds its q-quantile) = 1 - (1 - q)^k. Also the band-unit
deviation mapping, Clopper-Pearson intervals (scipy beta quantiles) and Z = Phi^-1(1 - p).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta, norm

from x17scan.stats.padme_run3 import PadmeRun3Config
from x17scan.stats.padme_run3.bands import expected_band
from x17scan.stats.padme_run3.pvalues import (
    clopper_pearson,
    deviation,
    global_pvalues,
    lee_thresholds,
    lee_units,
    local_pvalues,
    true_prob,
    z_from_p,
)

CFG = PadmeRun3Config(quantiles="exact")
MASSES = np.round(16.32 + 0.04 * np.arange(33), 10)


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(21)
    lim = rng.normal(4e-4, 4e-5, (6000, MASSES.size))
    return lim, expected_band(MASSES, lim, 200, "exact")


def test_true_prob_known_answer(synthetic):
    lim, band = synthetic
    tp = true_prob(band, lim, CFG)
    k = int(((MASSES >= 16.6) & (MASSES <= 17.2)).sum())
    assert k == 16
    d = tp.d
    for dd, q in ((0.0, 0.5), (1.0, norm.sf(1.0)), (2.0, norm.sf(2.0)), (3.0, norm.sf(3.0))):
        j = int(np.flatnonzero(np.isclose(d, dd))[0])
        expect = 1 - (1 - q) ** k
        se = np.sqrt(expect * (1 - expect) / lim.shape[0]) + 2e-3   # + band-estimate noise
        assert tp.p[j] == pytest.approx(expect, abs=5 * se)
    assert np.all(np.diff(tp.p) <= 0)                             # monotone in d
    assert np.all(tp.p_down <= tp.p) and np.all(tp.p <= tp.p_up)


def test_thresholds_and_units():
    d = lee_units()
    assert d.size == 48 and d[16] == 1.0 and d[32] == 2.0 and d[-1] == 2 + 15 / 4
    thr = lee_thresholds(np.array([1.0]), np.array([2.0]), np.array([4.0]))[:, 0]
    # zone 0: m + (k/16)(u1 - m); zone 1: u1 + (k/16)(u2 - u1); zone 2: m + (1 + k/8)(u2 - m)
    assert thr[8] == 1.5 and thr[16] == 2.0 and thr[24] == 3.0
    assert thr[32] == 4.0 and thr[40] == 1.0 + 2.0 * 3.0


def test_deviation_mapping():
    assert deviation(0.5, 1.0, 3.0) == 0.5
    assert deviation(1.0, 1.0, 3.0) == 1.0
    assert deviation(2.0, 1.0, 3.0) == 1.5
    assert deviation(6.0, 1.0, 3.0) == 4.0
    assert deviation(-0.5, 1.0, 3.0) == -0.5


def test_global_p_on_synthetic_observation(synthetic):
    lim, band = synthetic
    q = band.quantiles
    k = int(np.flatnonzero(np.isclose(MASSES, 16.92))[0])
    obs = q["median"].copy()
    obs[k] = q["plus2"][k]                          # a 2-sigma excursion at one mass
    g = global_pvalues(MASSES, obs, band, lim, CFG)
    assert g.mass[g.i_max] == pytest.approx(16.92)
    assert g.dev[g.i_max] == pytest.approx(2.0)
    expect = 1 - (1 - norm.sf(2.0)) ** 16
    assert g.p[g.i_max] == pytest.approx(expect, abs=0.03)
    assert g.z[g.i_max] == pytest.approx(norm.isf(expect), abs=0.1)
    # local p at that mass: fraction of pseudo-experiments with a limit >= observed ~ 2.3 %
    loc = local_pvalues(MASSES, obs, band, CFG)
    j = int(np.flatnonzero(np.isclose(loc.mass, 16.92))[0])
    assert loc.p[j] == pytest.approx(norm.sf(2.0), abs=0.01)
    assert loc.p_lo[j] < loc.p[j] < loc.p_hi[j]


def test_local_p_interpolation_off_grid(synthetic):
    _, band = synthetic
    obs_m = np.array([16.88, 16.90, 16.92])
    obs = np.interp(obs_m, MASSES, band.quantiles["median"])
    loc = local_pvalues(obs_m, obs, band, CFG)
    assert loc.interpolated.tolist() == [False, True, False]
    assert loc.p[1] == pytest.approx(0.5 * (loc.p[0] + loc.p[2]), rel=1e-12)


def test_clopper_pearson_and_z():
    lo, hi = clopper_pearson(300, 12, 0.68)
    assert lo == pytest.approx(beta.ppf(0.16, 12, 289), rel=1e-10)
    assert hi == pytest.approx(beta.ppf(0.84, 13, 288), rel=1e-10)
    assert clopper_pearson(300, 0, 0.68)[0] == 0.0
    assert z_from_p(0.02275013194817921) == pytest.approx(2.0, rel=1e-9)
    assert z_from_p(1.0) == -5.0 and z_from_p(0.0) == np.inf


def test_local_p_exact_counts(synthetic):
    lim, band = synthetic
    k = int(np.flatnonzero(np.isclose(MASSES, 16.92))[0])
    obs = band.quantiles["median"].copy()
    loc = local_pvalues(MASSES, obs, band, CFG, lim, mode="exact")
    j = int(np.flatnonzero(np.isclose(loc.mass, 16.92))[0])
    assert loc.p[j] == np.mean(lim[:, k] >= obs[k])
