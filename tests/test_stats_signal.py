"""Signal templates: PoT x eps x yield, PADME's reference values, nuisance variations."""

import numpy as np
import pytest
from scipy.special import voigt_profile

from x17scan.errors import InputError
from x17scan.physics.kinematics import e_res
from x17scan.stats.signal import Nuisance, SignalModel
from x17scan.stats.synthetic import synthetic_table


def test_voigt_peak_matches_padme_reference():
    # docs/physics.md §6.5: A_peak V(0) = 2.212 per g^2 at M = 17 MeV, BES = 0.25 %
    sm = SignalModel()
    y = sm.yield_per_pot([e_res(17.0)], [17.0])[0, 0]
    assert y == pytest.approx(2.212, abs=1e-3)
    # and the closed form 13.56 * voigt_profile(0, bes E_res, 1.72)
    assert y == pytest.approx(13.56 * voigt_profile(0.0, 0.0025 * e_res(17.0), 1.72), rel=1e-12)


def test_template_is_pot_times_eff_times_yield():
    sm = SignalModel()
    t = synthetic_table(n_points=9)
    masses = [16.6, 17.0]
    tpl = sm.template(t, masses)
    y = sm.yield_per_pot(t.e_beam, masses)
    assert tpl.shape == (2, 9)
    assert np.allclose(tpl, t.pot * t.sig_eff * y, rtol=1e-14)


def test_nuisances_and_variations():
    sm = SignalModel()
    names = [n.name for n in sm.nuisance_list]
    assert names == ["signal_norm", "gamma_l", "bes"]
    sig = {n.name: n.sigma for n in sm.nuisance_list}
    assert sig["signal_norm"] == pytest.approx(0.18 / 13.56)
    assert sig["gamma_l"] == 0.039 and sig["bes"] == 0.0005
    t = synthetic_table(n_points=11)
    v = sm.variations(t, [16.9])
    # +-1 sigma templates are exact evaluations at shifted parameters
    assert np.allclose(v.up[0, 1], sm.template(t, [16.9], {"bes": 1.0})[0], rtol=1e-13)
    ref = (t.pot * t.sig_eff * 13.56
           * voigt_profile(t.e_beam - e_res(16.9), 0.002 * e_res(16.9), 1.72))
    assert np.allclose(v.down[0, 1], ref, rtol=1e-12)
    # quadratic interpolation: exact at +-1, close to the exact shape in between
    assert np.allclose(v.interpolate({"gamma_l": -1.0}), v.down[:, 0], rtol=1e-12)
    exact = sm.template(t, [16.9], {"bes": 0.5, "gamma_l": -0.5, "signal_norm": 0.7})
    approx = v.interpolate({"bes": 0.5, "gamma_l": -0.5, "signal_norm": 0.7})
    assert np.abs(approx - exact).max() < 2e-3 * exact.max()


def test_other_lineshapes_and_custom_function():
    t = synthetic_table(n_points=7)
    free = SignalModel(lineshape="free")
    assert [n.name for n in free.nuisance_list] == ["bes"]
    # free electrons integrate to 12.657 g^2 MeV over E_beam (docs/physics.md §5.1)
    e = np.linspace(250.0, 320.0, 20001)
    y = free.yield_per_pot(e, [17.0])[0]
    assert np.trapezoid(y, e) == pytest.approx(12.657, rel=1e-3)
    custom = SignalModel(yield_fn=lambda e, m, bes: np.exp(-0.5 * (e - m * 17) ** 2),
                         nuisances=(Nuisance("bes", "shape", 0.0005, "bes"),))
    assert custom.template(t, [16.9]).shape == (1, 7)
    with pytest.raises(InputError, match="line shape"):
        SignalModel(lineshape="lorentz")
    with pytest.raises(InputError, match="BES"):
        SignalModel(bes=0.001, bes_err=0.002)
