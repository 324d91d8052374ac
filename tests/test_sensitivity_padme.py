"""The asymptotic expected limits with PADME's model (``--model padme-run3``) on the Run III
plan against the toy expected band of the padme-run3 method (a second method: PADME's own
procedure with background-only pseudo-experiments, docs/padme-run3-method.md §5, §8).

Reference numbers (g_ve median in 1e-4), computed once with x17scan's padme-run3 method
(PadmeRun3Method(load("padme-run3")).pseudo_limits, repository state 8c09200): 300
background-only pseudo-experiments with 200 toys per (M, g) on the adaptive subset of PADME's g
lattice, band quantiles from the 200-bin histogram (stats.padme_run3.bands.expected_band);
bootstrap error of each median 1.1-2.0 %. At the upper edge (17.48-17.60 MeV) the limits lie
above PADME's lattice (g <= 1e-3; 30 % of the pseudo-experiments have no limit at 17.60 MeV
and the band ignores them), so the reference there comes from the same procedure with the
lattice and the tanh-fit bounds extended to 2.5e-3 (96 g values, 300 pseudo-experiments).
Requirement of the issue: agreement within 10 % at every mass of the band grid.
"""

from __future__ import annotations

import numpy as np
import pytest

import x17scan.data as xd
from x17scan.beam import load_plan
from x17scan.cli.cmd_sensitivity import plan_inputs
from x17scan.stats import sensitivity as S

BAND_MASSES = np.round(16.32 + 0.04 * np.arange(33), 10)
TOY_MEDIAN = np.array([
    7.627, 5.642, 4.973, 4.862, 4.776, 4.551, 4.299, 4.111, 4.055, 3.974, 3.958, 3.872, 3.802,
    3.733, 3.725, 3.770, 3.815, 3.897, 4.023, 3.878, 3.850, 3.874, 3.859, 3.914, 4.019, 3.985,
    4.012, 4.325, 5.486, 7.745, 10.889, 12.754, 12.234]) * 1e-4
TOY_MEDIAN_WIDE_LATTICE = {17.48: 7.614e-4, 17.52: 10.530e-4, 17.56: 13.378e-4,
                           17.60: 16.174e-4}


@pytest.fixture(scope="module")
def padme_asymptotic():
    ref = S.ReferenceCurves.from_table(xd.load("padme-run3"))
    table = plan_inputs(load_plan("run3")).table(ref)
    return S.expected_sensitivity(table, BAND_MASSES, model="padme-run3")


def test_run3_table_is_padme_table():
    """The Run III plan through the plan -> expected-table conversion reproduces PADME's
    per-point PoT, PoT error (0.3 % added in quadrature), B and efficiency."""
    ref = S.ReferenceCurves.from_table(xd.load("padme-run3"))
    table = plan_inputs(load_plan("run3")).table(ref)
    t = xd.load("padme-run3").fit_points()
    for c in ("pot", "pot_err", "bkg_per_pot", "bkg_per_pot_err", "sig_eff", "sig_eff_err"):
        np.testing.assert_allclose(getattr(table, c), getattr(t, c), rtol=1e-6, err_msg=c)


def test_median_against_padme_toys(padme_asymptotic):
    ratio = padme_asymptotic.median / TOY_MEDIAN
    for m, toy in TOY_MEDIAN_WIDE_LATTICE.items():
        j = int(np.argmin(np.abs(BAND_MASSES - m)))
        ratio[j] = padme_asymptotic.median[j] / toy
    assert np.all(np.abs(ratio - 1.0) < 0.10), np.round(ratio, 3)
