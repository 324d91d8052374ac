"""Line shapes in the sensitivity: the peak reduction by the motion of the atomic electrons.

References: the seeds (Raggi, EPFL seminar 2024, "electron motion in the target") quote a
peak reduction of about 3 at PADME's beam spread; docs/physics.md §6.4 gives, for M = 17 MeV,
BES = 0.22 % and 100 um diamond, 8.13 (free electrons) and 2.64 (atomic carbon, Hartree-Fock
Compton profile, direct p_z sum) per PoT per g^2, a reduction of 3.1 [numeric]; the free peak
is 12.657 g^2 MeV / (sqrt(2 pi) sigma_E) [analytic, §5.1]; PADME's Voigt gives 2.264 at
0.22 % (§6.5, and PADME's code comment "2.26 g^2 at BES 0.22 %").
"""

from __future__ import annotations

import numpy as np
import pytest

from x17scan.physics.lineshape import e_res_model
from x17scan.stats import sensitivity as S


def test_peak_reduction_free_vs_atomic_at_022():
    p = S.lineshape_peaks(17.0, 0.0022, ("free", "atomic", "voigt"))
    sigma_e = 0.0022 * float(e_res_model(17.0))
    assert p["free"] == pytest.approx(12.657 / (np.sqrt(2 * np.pi) * sigma_e), rel=1e-3)
    assert p["atomic"] == pytest.approx(2.64, abs=0.01)
    assert p["reduction_free_over_atomic"] == pytest.approx(3.1, abs=0.05)
    assert p["voigt"] == pytest.approx(2.264, abs=0.002)


def test_expected_limits_free_vs_atomic():
    """The broader atomic line spreads the same integrated yield (12.657 g^2 MeV for both,
    physics.md §6.4) over more points: on a Run III-like scan (0.75 MeV steps) its expected
    limit is weaker than the free-electron one at every mass."""
    e = np.linspace(266.0, 292.0, 35)
    sq = np.sqrt(2 * 0.51099895 * (np.array([200.0, 330.0]) + 0.51099895))
    ref = S.ReferenceCurves(sqrt_s=sq, bkg=np.full(2, 3.5e-6), bkg_rel_err=np.full(2, 0.005),
                            eff=np.full(2, 0.09), eff_rel_err=np.full(2, 0.0))
    tab = S.asimov_table(e, np.full(e.size, 9e9), np.full(e.size, 9e9 * 0.003), ref)
    masses = [16.8, 16.9, 17.0]
    med = {sh: S.expected_sensitivity(tab, masses, signal=S.signal_model(sh)).median
           for sh in ("free", "atomic")}
    ratio = med["atomic"] / med["free"]
    assert np.all(ratio > 1.0)
