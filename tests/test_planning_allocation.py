"""Run planning (x17scan.stats.planning): a synthetic problem with a known optimum, the
gradient, the constraints, the simplex projection, and the CLI.

Known optimum: three points at x = -d, 0, +d with equal background, no per-point systematics,
signal only in the middle one. Profiling the free background line, the information on mu is
I = r^2 w_c (2 w_s) / (w_c + 2 w_s) with w_c, w_s the middle and side exposures (weighted
residual of the regression), maximal for t_c = T/2, t_s = T/4 each: I_opt = T r^2 B / 4
against I_even = 2 T r^2 B / 9 for T/3 each, a gain sqrt(9/8) = 1.0607 in the expected
significance Z = mu sqrt(I).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from x17scan.errors import InputError
from x17scan.stats import planning as P
from x17scan.stats import sensitivity as S
from x17scan.stats.signal import SignalModel

E3 = P.e_beam_of(16.92 + np.array([-0.1, 0.0, 0.1]))
B = 3.5e-6


def three_point(sigma2=0.0, target="discovery"):
    return P.planning_problem(E3, np.full(3, B), np.full(3, sigma2),
                              lambda e, m: np.array([[0.0, 1e3, 0.0]]), [17.0], None, target)


def test_known_optimum_fisher():
    pb = three_point()
    t, _ = P.optimise(pb, 1e11)
    np.testing.assert_allclose(t / 1e11, [0.25, 0.5, 0.25], atol=1e-6)
    gain = np.sqrt(pb.information(t) / pb.information(np.full(3, 1e11 / 3)))
    assert gain[0] == pytest.approx(np.sqrt(9 / 8), rel=1e-6)
    prop = P.propose(pb, 1e11, max_points=3)
    np.testing.assert_allclose(prop.pot / 1e11, [0.25, 0.5, 0.25], atol=1e-6)


def test_known_optimum_full_likelihood():
    """The same gain with the full (Poisson, asymptotic) likelihood of the sensitivity module:
    3.5e5 background events per point, so the Gaussian limit holds to ~1e-3."""
    ref = S.ReferenceCurves(sqrt_s=P.sqrt_s_of([200.0, 330.0]), bkg=np.full(2, B),
                            bkg_rel_err=np.zeros(2), eff=np.full(2, 0.1),
                            eff_rel_err=np.zeros(2))
    e_mid = E3[1]

    def yield_fn(e_beam, mass, **_):
        return np.where(np.abs(e_beam - e_mid) < 1e-3, 1.0, 0.0) * np.ones_like(mass)

    sig = SignalModel(lineshape="custom", yield_fn=yield_fn, nuisances=())
    z = {}
    for name, pot in (("opt", [0.25, 0.5, 0.25]), ("even", [1 / 3] * 3)):
        tab = S.asimov_table(E3, np.array(pot) * 1e11, np.zeros(3), ref)
        z[name] = S.asimov_z(tab, [17.0], 1e-3, signal=sig, efficiency="none")[0]
    assert z["opt"] / z["even"] == pytest.approx(np.sqrt(9 / 8), rel=2e-3)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    e = P.e_beam_of(np.linspace(16.6, 17.2, 9))
    ratio = rng.uniform(0, 1e3, (3, 9))
    for target in ("discovery", "exclusion"):
        pb = P.planning_problem(e, rng.uniform(3e-6, 4e-6, 9), np.full(9, 4e-5),
                                lambda ee, m, r=ratio: r, [16.8, 16.9, 17.0], None, target)
        t = rng.uniform(1e9, 2e10, 9)
        v, g = pb.objective(t)
        h = 1e-4 * t
        num = np.array([(pb.objective(t + h * (np.arange(9) == j))[0]
                         - pb.objective(t - h * (np.arange(9) == j))[0]) / (2 * h[j])
                        for j in range(9)])
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-12 * abs(v) / t.mean())


def test_constraints_max_points_and_min_pot():
    e = P.candidate_grid(266.0, 292.0, 0.75, anchor=279.0)
    assert np.all(np.diff(e) >= 0.75 - 1e-9) and np.any(np.isclose(e, 279.0))
    sm = S.signal_model("voigt")
    pb = P.planning_problem(e, np.full(e.size, B), np.full(e.size, 4.5e-5),
                            lambda ee, m: sm.yield_per_pot(ee, m) * (0.09 / B), [16.9])
    full = P.propose(pb, 3e11, max_points=60)
    capped = P.propose(pb, 3e11, max_points=12, min_pot=5e9)
    assert capped.e_beam.size <= 12 and capped.pot.min() >= 5e9 * (1 - 1e-9)
    assert capped.pot.sum() == pytest.approx(3e11)
    assert np.isin(capped.e_beam, e).all()
    # the cap costs information, never gains
    ic = pb.information(_full(e, capped))[0]
    i_full = pb.information(_full(e, full))[0]
    assert ic <= i_full * (1 + 1e-9)


def _full(grid, prop):
    t = np.zeros(grid.size)
    t[np.isin(grid, prop.e_beam)] = prop.pot
    return t


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=12),
       st.floats(0.1, 100))
def test_project_simplex(values, total):
    v = np.array(values)
    p = P.project_simplex(v, total)
    assert p.min() >= 0 and p.sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    # KKT: p = max(v - theta, 0) with one theta for all coordinates
    pos = p > 1e-12
    theta = (v - p)[pos]
    assert np.ptp(theta) < 1e-8 * max(1.0, np.abs(v).max())
    assert np.all(v[~pos] <= theta.mean() + 1e-8 * max(1.0, np.abs(v).max()))


def test_propose_best_picks_lower_objective():
    """Two candidate sets for the same target: one misses the energy that carries the signal,
    the other holds it; propose_best returns the second, whose objective is the lower."""
    def ratio(e, m):
        return np.where(np.abs(e - E3[1]) < 1e-6, 1e3, 0.0)[None, :] * np.ones((1, e.size))

    e_miss = P.e_beam_of(16.92 + np.array([-0.2, -0.1, 0.1, 0.2]))
    pb_miss = P.planning_problem(e_miss, np.full(4, B), np.zeros(4), ratio, [17.0], None,
                                 "discovery")
    pb_hit = P.planning_problem(E3, np.full(3, B), np.zeros(3), ratio, [17.0], None,
                                "discovery")
    k, prop = P.propose_best([pb_miss, pb_hit], 1e11, max_points=4)
    assert k == 1
    np.testing.assert_allclose(prop.pot / 1e11, [0.25, 0.5, 0.25], atol=1e-6)
    assert prop.objective < P.propose(pb_miss, 1e11, max_points=4).objective
    with pytest.raises(InputError) as err:   # no problem can meet the constraints
        P.propose_best([pb_miss, pb_hit], 1e11, max_points=4, min_pot=5e10)
    assert err.value.field == "--min-pot"
