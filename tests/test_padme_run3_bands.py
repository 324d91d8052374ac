"""padme-run3: band quantiles with TH1::GetQuantiles semantics (method doc §8, rL.C).

References: hand-computed ROOT quantiles on small histograms (cumulative integral, linear
inside a bin, exact-match rules), numpy's sample quantiles on a known sample, ROOT's binning
rules (x >= xmax and NaN to the overflow bin, which the quantiles ignore).
"""

from __future__ import annotations

import numpy as np
import pytest

from x17scan.stats.padme_run3.bands import BAND_PROBS, Histo1D, expected_band


def test_band_probabilities():
    assert BAND_PROBS[0] == pytest.approx(0.022750131948179, rel=1e-12)
    assert BAND_PROBS[1] == pytest.approx(0.158655253931457, rel=1e-12)
    assert BAND_PROBS[3] == pytest.approx(1 - 0.158655253931457, rel=1e-12)


def test_getquantiles_by_hand():
    # 4 bins on [0, 4): contents 1, 2, 0, 1 -> cumulative 0, .25, .75, .75, 1
    h = Histo1D.fill(np.array([0.5, 1.2, 1.7, 3.3]), 4, 0.0, 4.0)
    assert h.counts.tolist() == [0, 1, 2, 0, 1, 0]
    q = h.quantiles([0.1, 0.5, 0.75, 0.9])
    assert q[0] == pytest.approx(0.0 + 1.0 * 0.1 / 0.25)          # inside bin 1
    assert q[1] == pytest.approx(1.0 + 1.0 * (0.5 - 0.25) / 0.5)  # inside bin 2
    # exact match at 0.75 followed by an empty bin: upper edge of bin 2 + empty width / 2
    assert q[2] == pytest.approx(2.0 + 1.0 / 2)
    assert q[3] == pytest.approx(3.0 + 1.0 * (0.9 - 0.75) / 0.25)


def test_binning_rules_and_integral():
    h = Histo1D.fill(np.array([-1.0, 0.0, 3.999, 4.0, np.nan]), 4, 0.0, 4.0)
    assert h.counts.tolist() == [1, 1, 0, 0, 1, 2]                 # xmax and NaN: overflow
    assert h.integral(0, 4) == 3.0                                 # underflow + bins
    assert h.integral(-3, 2) == 2.0                                # b1 < 0 -> 0
    assert h.integral(5, 4) == 2.0                                 # b2 < b1 -> overflow only


def test_histogram_quantiles_approach_numpy():
    rng = np.random.default_rng(5)
    x = rng.normal(5e-4, 5e-5, 100000)
    h = Histo1D.fill(x, 200, x.min(), x.max())
    q = h.quantiles(BAND_PROBS)
    ref = np.quantile(x, BAND_PROBS)
    assert np.all(np.abs(q - ref) < h.width)                       # one-bin granularity


def test_expected_band_root_and_exact():
    rng = np.random.default_rng(6)
    lim = rng.normal(4e-4, 5e-5, (300, 3))
    lim[0, 1] = np.nan                                            # a missing limit
    b_root = expected_band(np.array([16.5, 16.9, 17.3]), lim, 200, "root")
    b_exact = expected_band(np.array([16.5, 16.9, 17.3]), lim, 200, "exact")
    assert b_root.n_missing.tolist() == [0, 1, 0]
    for k in range(3):
        col = lim[:, k][np.isfinite(lim[:, k])]
        assert b_exact.quantiles["median"][k] == pytest.approx(np.median(col), rel=1e-12)
        w = (b_root.xmax - b_root.xmin) / 200
        assert abs(b_root.quantiles["median"][k] - np.median(col)) < 2 * w
    # the global maximum sits at xmax and goes to the overflow (never counted)
    k_max = np.unravel_index(np.nanargmax(lim), lim.shape)[1]
    assert b_root.histograms[k_max].counts[-1] >= 1
