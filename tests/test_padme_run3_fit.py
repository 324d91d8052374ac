"""padme-run3: batched S+B fits against iminuit (Migrad) on the same chi2, and between backends.

The reference is an independent minimisation: iminuit with tight tolerance on
``model.chi2_sb`` (points + constraints written directly from the method doc §3b), for the
data and for toys, at several (M, g). Agreement of chi2_min to 1e-6 relative or better.
"""

from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit

import x17scan.data as xdata
from x17scan.stats.padme_run3 import PadmeProblem
from x17scan.stats.padme_run3.fit import fit_sb
from x17scan.stats.padme_run3.model import chi2_sb, ratio_and_weights
from x17scan.stats.padme_run3.toys import generate, keyed_rng, rel_model_sb


@pytest.fixture(scope="module")
def problem() -> PadmeProblem:
    return PadmeProblem.from_table(xdata.load("padme-run3"))


def _migrad(problem, r, w, mass, g, start):
    m = Minuit(lambda th: chi2_sb(th, r, w, problem, mass, g), np.array(start, dtype=float))
    m.errordef = 1.0
    m.strategy = 2
    m.tol = 1e-7
    m.migrad()
    assert m.valid
    return m.fval


@pytest.fixture(scope="module")
def sample(problem):
    """Data and 3 s+b toys at each of 3 grid points, generated from the data fits."""
    r, w = problem.data().ratio_weights(problem)
    masses = np.array([16.5, 16.9, 17.3])
    gs = np.array([2.0e-4, 5.5e-4, 9.0e-4])
    fit = fit_sb(problem, np.broadcast_to(r, (3, problem.n)),
                 np.broadcast_to(w, (3, problem.n)), problem.e_res(masses), gs**2,
                 problem.center, problem.center)
    rel = rel_model_sb(problem, fit.theta, masses, gs)
    rng = keyed_rng(np.random.SeedSequence(11), 5)
    n, pot, bkg = generate(rng, 3, problem.pot, problem.bkg, rel, problem.pot_err,
                           problem.bkg_err)
    tr, tw = ratio_and_weights(n, pot, bkg, problem.pot_err, problem.bkg_err)
    rows_r = np.concatenate([np.broadcast_to(r, (3, problem.n)), tr.reshape(9, problem.n)])
    rows_w = np.concatenate([np.broadcast_to(w, (3, problem.n)), tw.reshape(9, problem.n)])
    rows_m = np.concatenate([masses, np.repeat(masses, 3)])
    rows_g = np.concatenate([gs, np.repeat(gs, 3)])
    starts = np.concatenate([np.broadcast_to(problem.center, (3, 7)),
                             np.repeat(fit.theta, 3, axis=0)])
    return rows_r, rows_w, rows_m, rows_g, starts


def test_fits_match_migrad(problem, sample):
    r, w, m, g, st = sample
    res = fit_sb(problem, r, w, problem.e_res(m), g**2, problem.center, st, backend="numba")
    assert res.converged.all()
    for k in range(r.shape[0]):
        ref = _migrad(problem, r[k], w[k], m[k], g[k], problem.center)
        assert res.chi2[k] <= ref * (1 + 1e-9)          # never worse than Migrad
        assert res.chi2[k] == pytest.approx(ref, rel=1e-7)
        # the returned chi2 is the chi2 at the returned parameters
        assert chi2_sb(res.theta[k], r[k], w[k], problem, m[k], g[k]) == pytest.approx(
            res.chi2[k], rel=1e-12)


def test_backends_agree_and_share_anchors(problem, sample):
    r, w, m, g, st = sample
    a = fit_sb(problem, r, w, problem.e_res(m), g**2, problem.center, st, backend="numba")
    b = fit_sb(problem, r, w, problem.e_res(m), g**2, problem.center, st, backend="numpy")
    assert np.allclose(a.chi2, b.chi2, rtol=1e-9, atol=0)
    # rows with the same start share one Voigt evaluation at the start
    idx = np.repeat([3, 4, 5], 5)
    c = fit_sb(problem, r, w, problem.e_res(m[idx]), g[idx] ** 2, problem.center, st[idx],
               data_index=idx, groups=np.repeat([0, 1, 2], 5))
    assert np.allclose(c.chi2, a.chi2[idx], rtol=1e-12, atol=0)


def test_failed_fits_are_retried_and_reported(problem, sample):
    r, w, m, g, st = sample
    start = st[:4].copy()
    start[1, 4] = np.nan               # a broken start: the retry from nominal must rescue it
    bad_w = w[:4].copy()
    bad_w[2, 5] = np.nan               # a broken dataset: fails twice, reported
    res = fit_sb(problem, r[:4], bad_w, problem.e_res(m[:4]), g[:4] ** 2, problem.center,
                 start)
    assert res.retried.tolist() == [False, True, True, False]
    assert res.converged.tolist() == [True, True, False, True]
    assert res.n_failed == 1
    ref = fit_sb(problem, r[1:2], w[1:2], problem.e_res(m[1:2]), g[1:2] ** 2, problem.center,
                 problem.center)
    assert res.chi2[1] == pytest.approx(ref.chi2[0], rel=1e-9)
