"""Toys: p-value calibration under H0, toys vs asymptotics, look-elsewhere effect,
reproducibility across executors and checkpoints."""

import numpy as np
import pytest
from scipy import stats

from x17scan.parallel import ProcessExecutor, SerialExecutor
from x17scan.stats import teststat as ts
from x17scan.stats.calculators import (
    AsymptoticCalculator,
    ToyCalculator,
    ToySettings,
    _bonly_task,
)
from x17scan.stats.fit import minimize
from x17scan.stats.lee import gross_vitells, rice_n1, upcrossings
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table


@pytest.fixture(scope="module")
def small():
    sm = SignalModel()
    t = synthetic_table(n_points=10, seed=None)          # Asimov background: obs = median
    return ScanModel.from_table(t, sm, [16.7, 16.9, 17.1])


def test_toy_pvalues_uniform_under_h0(small):
    """Observed data sets drawn from the true background-only model; for each, toys generated at
    its own conditional estimates with re-sampled global observables (the LHC-style plug-in)
    give a local p-value of q0. With randomised ties (q0 = 0 has a point mass) these p-values
    are uniform if the toy procedure is calibrated."""
    m = small
    rng = np.random.default_rng(2024)
    n_obs, n_toy = 150, 200
    true = minimize(m, m.observed(), 0, 0.0)
    obs = m.sample(np.repeat(true.glob, n_obs, 0), np.repeat(true.loc, n_obs, 0),
                   np.zeros(n_obs, int), rng)
    obs.aux_l[:] = 0.0                                       # observed global observables: nominal
    obs.aux_g[:] = 0.0
    j = 1
    b_obs = minimize(m, obs, j, 0.0)
    f_obs = minimize(m, obs, j, None, init=(b_obs.glob, b_obs.loc))
    q_obs = ts.q0(b_obs.deviance, f_obs.deviance, f_obs.mu)
    toys = m.sample(np.repeat(b_obs.glob, n_toy, 0), np.repeat(b_obs.loc, n_toy, 0),
                    np.zeros(n_obs * n_toy, int), rng)
    b_t = minimize(m, toys, j, 0.0, init=(np.repeat(b_obs.glob, n_toy, 0),
                                         np.repeat(b_obs.loc, n_toy, 0)))
    f_t = minimize(m, toys, j, None, init=(b_t.glob, b_t.loc))
    assert b_t.converged.all() and f_t.converged.all()
    q_t = ts.q0(b_t.deviance, f_t.deviance, f_t.mu).reshape(n_obs, n_toy)
    gt = (q_t > q_obs[:, None]).mean(1)
    eq = (q_t == q_obs[:, None]).mean(1)
    p = gt + rng.uniform(size=n_obs) * eq
    assert stats.kstest(p, "uniform").pvalue > 0.01
    # and the asymptotic p-values of the same q0 values agree with the toy ones on average
    p_asym = ts.p0_asymptotic(q_obs[q_obs > 0])
    assert np.mean(p_asym) == pytest.approx(np.mean(gt[q_obs > 0]), abs=0.05)


def test_toy_limits_agree_with_asymptotics_on_asimov(small):
    asym = AsymptoticCalculator(small, cl=0.90)
    obs_a, _ = asym.upper_limits()
    exp_a, _ = asym.expected_limits()
    toy = ToyCalculator(asym, ToySettings(n_b=400, n_sb=400, n_mu=8, chunk_b=200, chunk_sb=400),
                        seed=7, executor=SerialExecutor(), asym_limits=(obs_a, exp_a))
    toy.run()
    assert toy.counter.failed == 0
    lim = toy.upper_limits()
    assert (lim["observed_flag"] == 0).all()
    # large counts: toy and asymptotic CLs limits agree within the toy statistics (g ~ sqrt)
    rel = np.abs(lim["observed"] / obs_a - 1)
    assert (rel < 0.08 + 3 * lim["observed_err"] / obs_a).all()
    med = lim["expected"][2]
    assert (np.abs(med / exp_a[2] - 1) < 0.08 + 3 * lim["expected_err"][2] / exp_a[2]).all()
    # toy local p-values of the Asimov data (q0 = 0): every toy has q0 >= 0
    p, _, n = toy.local_pvalues()
    assert (p == 1.0).all() and (n == 400).all()


def test_gross_vitells_and_rice_vs_toys():
    """Global p-values from max_M q0 in background-only toys against the Gross-Vitells formula
    (up-crossings counted in the same toys) and the Rice-formula up-crossings (analytic)."""
    sm = SignalModel()
    t = synthetic_table(n_points=30, sqrt_s_range=(16.3, 17.4))
    masses = np.round(np.arange(16.4, 17.3001, 0.02), 4)
    m = ScanModel.from_table(t, sm, masses)
    base = minimize(m, m.observed(), 0, 0.0)
    n_toys = 1500
    out = _bonly_task((m, base.glob, base.loc, np.zeros((masses.size, 0)), n_toys,
                       np.random.SeedSequence(99)))
    assert not out["bad_q0"].any()
    q0 = out["q0"]
    u0 = 1.0
    n_u0 = upcrossings(q0, u0).mean()
    qmax = q0.max(1)
    tw, dirs = m.whitened(base.glob[0])
    n1 = rice_n1(tw, np.ones(tw.shape[1]), dirs)
    # Rice: <N(u0)> = N1 exp(-u0/2) for the Gaussian process of the signed significance
    assert n1 * np.exp(-u0 / 2) == pytest.approx(n_u0, rel=0.12)
    for u in (3.0, 5.0, 7.0):
        p_toy = (qmax >= u).mean()
        err = np.sqrt(p_toy * (1 - p_toy) / n_toys)
        p_gv = gross_vitells(u, n_u0, u0)
        assert abs(p_gv - p_toy) < 3 * err + 0.15 * p_toy


def _raw_equal(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def test_bit_identical_serial_vs_processes_and_checkpoint(small, tmp_path):
    asym = AsymptoticCalculator(small, cl=0.90)
    lims = (asym.upper_limits()[0], asym.expected_limits()[0])
    s = ToySettings(n_b=40, n_sb=30, n_mu=4, chunk_b=10, chunk_sb=15)
    serial = ToyCalculator(asym, s, seed=123, executor=SerialExecutor(), asym_limits=lims)
    r1 = serial.run()
    with ProcessExecutor(2) as ex:
        par = ToyCalculator(asym, s, seed=123, executor=ex, asym_limits=lims)
        r2 = par.run()
    assert _raw_equal(r1, r2)
    ck = ToyCalculator(asym, s, seed=123, executor=SerialExecutor(), asym_limits=lims,
                       checkpoint_dir=str(tmp_path / "ck"))
    r3 = ck.run()
    again = ToyCalculator(asym, s, seed=123, executor=SerialExecutor(), asym_limits=lims,
                          checkpoint_dir=str(tmp_path / "ck"))
    r4 = again.run()                                       # every task read back from disk
    assert _raw_equal(r1, r3) and _raw_equal(r1, r4)
    other = ToyCalculator(asym, s, seed=124, executor=SerialExecutor(), asym_limits=lims)
    assert not np.array_equal(other.run()["q0"], r1["q0"])
