"""padme-run3: toy and pseudo-experiment generation statistics (method doc §5).

Checks the first two moments of the generated N, PoT and B against the definitions
(N ~ Gauss(mu, sqrt mu), PoT^o = PoT^t + Gauss(0, sigma_PoT), B^o = B^t + Gauss(0, sigma_B)),
the covariance of the re-sampled auxiliary observables of pseudo-experiments against the
constraint covariances of §3b, and the keyed, order-independent random streams.
"""

from __future__ import annotations

import numpy as np
import pytest

import x17scan.data as xdata
from x17scan.stats.padme_run3 import PadmeProblem
from x17scan.stats.padme_run3.toys import (
    KIND_PSEUDO,
    generate,
    grid_key,
    keyed_rng,
    pseudo_experiment,
    rel_model_b,
)


@pytest.fixture(scope="module")
def problem() -> PadmeProblem:
    return PadmeProblem.from_table(xdata.load("padme-run3"))


def test_toy_moments(problem):
    n_toys = 20000
    rel = rel_model_b(problem, np.array([1.01, -0.01]))
    rng = np.random.default_rng(1)
    n, pot, bkg = generate(rng, n_toys, problem.pot, problem.bkg, rel, problem.pot_err,
                           problem.bkg_err)
    mu = problem.pot * problem.bkg * rel
    # per point: mean within 5 standard errors, variance within 5 sigma of its sampling error
    for arr, mean, sd in ((n, mu, np.sqrt(mu)), (pot, problem.pot, problem.pot_err),
                          (bkg, problem.bkg, problem.bkg_err)):
        se = sd / np.sqrt(n_toys)
        assert np.all(np.abs(arr.mean(0) - mean) < 5 * se)
        var_se = sd**2 * np.sqrt(2.0 / (n_toys - 1))
        assert np.all(np.abs(arr.var(0, ddof=1) - sd**2) < 5 * var_se)
    # independent draws: N and PoT uncorrelated at a point
    c = np.corrcoef(n[:, 0], pot[:, 0])[0, 1]
    assert abs(c) < 5 / np.sqrt(n_toys)


def test_pseudo_experiment_auxiliaries(problem):
    centers = np.array([pseudo_experiment(problem, keyed_rng(np.random.SeedSequence(s),
                                                             KIND_PSEUDO)).center
                        for s in range(2000)])
    cov = np.cov(centers.T)
    ref = problem.T @ problem.T.T
    sd = np.sqrt(np.diag(ref))
    assert np.all(np.abs(centers.mean(0) - problem.center) < 5 * sd / np.sqrt(2000))
    corr = cov / np.outer(np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov)))
    assert np.allclose(np.sqrt(np.diag(cov)) / sd, 1.0, atol=0.08)
    # the correlated pairs of §3b: rho_K = -0.06, rho_eps/B = -0.0305 (+- 5/sqrt(n))
    assert corr[0, 1] == pytest.approx(-0.06, abs=0.1)
    assert corr[5, 6] == pytest.approx(problem.effb["rho"], abs=0.1)
    assert ref[0, 1] / (sd[0] * sd[1]) == pytest.approx(-0.06, abs=1e-12)
    # nominal truths: K = (1.01163, -1.03e-2), so N/(PoT B) averages K over pseudo-experiments
    ds = [pseudo_experiment(problem, np.random.default_rng(s)) for s in range(400)]
    r = np.array([d.n_obs / (d.pot * d.bkg) for d in ds]).mean(0)
    k = 1.01163 - 1.03e-2 * problem.x
    assert np.all(np.abs(r / k - 1) < 5 * 0.0099 / np.sqrt(400))


def test_keyed_streams_are_order_independent():
    ss = np.random.SeedSequence(123)
    a = keyed_rng(ss, 2, *grid_key(16.9, 5e-4)).standard_normal(5)
    _ = keyed_rng(ss, 1).standard_normal(100)          # another stream in between
    b = keyed_rng(ss, 2, *grid_key(16.9, 5e-4)).standard_normal(5)
    c = keyed_rng(ss, 2, *grid_key(16.92, 5e-4)).standard_normal(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # the key of a grid point does not depend on float noise in its arithmetic
    assert grid_key(16.22 + 34 * 0.02, 1e-4 + 18 * 2.25e-5) == grid_key(16.90, 5.05e-4)


def test_scan_lines_pseudo_background(problem):
    import dataclasses

    p2 = dataclasses.replace(problem, config=problem.config.replace(pseudo_bkg="scan_lines"))
    ds = pseudo_experiment(p2, np.random.default_rng(8))
    for part in (0, 1):
        sel = problem.scan_part == part
        x, b = problem.x[sel], ds.bkg[sel]
        coef = np.polyfit(x, b, 1)
        assert np.allclose(np.polyval(coef, x), b, rtol=1e-12, atol=0)   # exactly on a line
    # the default keeps PADME's per-point re-sampling (B off any line)
    d0 = pseudo_experiment(problem, np.random.default_rng(8))
    sel = problem.scan_part == 0
    assert not np.allclose(np.polyval(np.polyfit(problem.x[sel], d0.bkg[sel], 1),
                                      problem.x[sel]), d0.bkg[sel], rtol=1e-6, atol=0)
