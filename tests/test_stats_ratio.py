"""The PoT-free ratio N(ee)/N(gg): conditional binomial likelihood."""

import math

import numpy as np
import pytest

from x17scan.errors import InputError
from x17scan.stats.fit import minimize, objective
from x17scan.stats.method import AnalysisOptions
from x17scan.stats.profile import ProfileMethod
from x17scan.stats.ratio import RatioModel
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_ee_gg


def test_ratio_nll_matches_hand_computation():
    sm = SignalModel()
    ee, gg = synthetic_ee_gg(n_points=3, seed=4)
    m = RatioModel.from_tables(ee, gg, sm, [16.9])
    glob = np.array([[4e-7, 1.003, 0.02, 0.3, -0.5, 0.7]])
    u = np.array([0.2, -0.4, 0.9])
    d = m.observed()
    d.aux_l[0, :, 0] = [0.1, 0.0, -0.3]
    d.aux_g[0, 3:] = [0.2, 0.1, -0.2]
    thetas = dict(zip(sm.nuisance_names(), glob[0, 3:], strict=True))
    # signal shape at the nuisance values, as the likelihood defines it (quadratic
    # interpolation between the +-1 sigma templates), per PoT
    y = sm.variations(ee, [16.9]).interpolate(thetas)[0] / (ee.pot * ee.sig_eff)
    ref = 0.0
    for i in range(3):
        x = ee.sqrt_s[i] - 16.92
        sig = math.hypot(ee.bkg_per_pot_err[i] / ee.bkg_per_pot[i],
                         gg.bkg_per_pot_err[i] / gg.bkg_per_pot[i])
        a = (glob[0, 1] + glob[0, 2] * x) * (1 + sig * u[i]) * ee.bkg_per_pot[i] \
            + glob[0, 0] * ee.sig_eff[i] * y[i]
        c = gg.bkg_per_pot[i] + glob[0, 0] * gg.sig_eff[i] * y[i]
        p = a / (a + c)
        ne, ng = ee.n_obs[i], gg.n_obs[i]
        ref -= (math.lgamma(ne + ng + 1) - math.lgamma(ne + 1) - math.lgamma(ng + 1)
                + ne * math.log(p) + ng * math.log(1 - p))
        ref += 0.5 * (u[i] - d.aux_l[0, i, 0]) ** 2
    ref += 0.5 * ((glob[0, 3:] - d.aux_g[0, 3:]) ** 2).sum()
    got = objective(m, glob, u[None, :, None], d, [0])[0] + m.nll_constant(d)[0]
    # the term-by-term reference cancels ~1e5-sized numbers: good to ~1e-10 absolute
    assert got == pytest.approx(ref, abs=1e-8)


def test_ratio_fit_against_iminuit_and_pot_independence():
    from iminuit import Minuit

    sm = SignalModel()
    ee, gg = synthetic_ee_gg(n_points=8, signal=sm, mass=16.9, g=6e-4, seed=8)
    m = RatioModel.from_tables(ee, gg, sm, [16.9])
    d = m.observed()
    res = minimize(m, d, 0, None, full_nll=True)
    assert res.converged.all()
    G, n = m.n_glob, m.n_points

    def f(v):
        g = v[:G][None].copy()
        g[0, 0] *= 1e-7
        return objective(m, g, v[G:].reshape(1, n, 1), d, [0])[0] + m.nll_constant(d)[0]

    mi = Minuit(f, np.r_[1.0, 1.0, 0.0, np.zeros(G - 3 + n)])
    mi.errordef, mi.strategy, mi.tol = 0.5, 2, 1e-6
    mi.migrad(ncall=100000)
    assert mi.valid
    assert res.nll[0] <= mi.fval + 1e-9 * abs(mi.fval)
    assert abs(res.nll[0] - mi.fval) <= 1e-6 * abs(mi.fval)
    # PoT cancels: rescaling the PoT of every point leaves the likelihood unchanged
    ee2 = ee.replace(pot=ee.pot * 1.37, pot_err=ee.pot_err * 1.37)
    gg2 = gg.replace(pot=gg.pot * 1.37, pot_err=gg.pot_err * 1.37)
    m2 = RatioModel.from_tables(ee2, gg2, sm, [16.9])
    assert minimize(m2, m2.observed(), 0, None).deviance[0] == pytest.approx(res.deviance[0],
                                                                             rel=1e-9)


def test_ratio_method_finds_injected_signal():
    sm = SignalModel()
    ee, gg = synthetic_ee_gg(signal=sm, mass=16.9, g=8e-4)   # expected counts
    masses = np.round(np.arange(16.6, 17.21, 0.05), 3)
    res = ProfileMethod(ee, table_gg=gg).run(AnalysisOptions(asymptotic=True, masses=masses,
                                                             seed=1))
    assert res.bestfit["mass_MeV"] == pytest.approx(16.9, abs=0.006)
    assert res.bestfit["g"] == pytest.approx(8e-4, rel=0.02)
    assert res.options["observable"] == "ratio"
    with pytest.raises(InputError, match="observable"):
        ProfileMethod(gg, table_gg=ee)
