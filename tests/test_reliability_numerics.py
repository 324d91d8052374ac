"""Numerical robustness: g -> 0, the edges of the mass grid, failed fits retried and counted
(never silently dropped), the warning of ``x17scan analyze`` when fits fail.

References: on the Asimov background-only data set the maximum-likelihood estimate is exactly
the truth (mu_hat = 0, q0 = 0, p0 = 1/2 by the definition of q0); CLs -> 1 as mu -> 0 (the
s+b and b hypotheses coincide); the -ln L is continuous in mu at 0; the sensitivity falls
(limits rise) as the mass leaves the scanned sqrt(s) range, where the signal template
vanishes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from x17scan.stats import teststat as ts
from x17scan.stats.calculators import AsymptoticCalculator, FitCounter, _sb_task
from x17scan.stats.fit import minimize
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.method import METHODS, AnalysisOptions
from x17scan.stats.profile import ProfileMethod
from x17scan.stats.result import Result
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table


@pytest.fixture(scope="module")
def asimov_b():
    table = synthetic_table(seed=None)
    return table, ScanModel.from_table(table, SignalModel(), [16.6, 16.9, 17.2])


def test_g_to_zero_on_background_only_asimov(asimov_b):
    _, model = asimov_b
    asym = AsymptoticCalculator(model, cl=0.9)
    scale = model.mu_scale()
    assert asym.counter.failed == 0
    assert np.all(np.abs(asym.mu_hat) < 1e-4 * scale)            # the truth: mu = 0
    np.testing.assert_array_equal(asym.q0, 0.0)
    np.testing.assert_allclose(asym.local_pvalues()[0], 0.5)
    idx = np.arange(3)
    for eps in (1e-3, 1e-6, 1e-9):
        cls, clsb, clb = asym.cls(idx, eps * scale)
        np.testing.assert_allclose(clsb, cls * clb, rtol=1e-12)
        assert np.all(np.isfinite(cls)) and np.all(cls <= 1.0 + 1e-12)
        # q = q_A ~ (mu/sigma)^2 <= eps^2: CLs = 2 Phi(-sqrt(q)) ~ 1 - 0.8 eps
        np.testing.assert_allclose(cls, 1.0, atol=max(eps, 1e-5))
    # -ln L continuous at mu = 0 from above and below (mu unbounded in the fit), to the
    # fitter's tolerance (Newton decrement < 1e-10)
    d = model.observed()
    dev = [minimize(model, d, 1, m).deviance[0] for m in (-1e-9 * scale[1], 0.0,
                                                          1e-9 * scale[1])]
    assert max(dev) - min(dev) < 1e-10
    lim, ok = asym.upper_limits()
    assert ok.all() and np.all((lim > 0) & np.isfinite(lim))


def test_toys_at_vanishing_signal(asimov_b):
    """Signal-plus-background toys at mu -> 0 are background-only toys: q~_mu >= 0, finite,
    and mostly 0 or tiny; every fit converges."""
    _, model = asimov_b
    b = minimize(model, model.observed(), 1, 0.0)
    mus = np.array([1e-12, 1e-9]) * model.mu_scale()[1]
    out = _sb_task((model, np.repeat(b.glob, 2, 0), np.repeat(b.loc, 2, 0), 1, mus, 50,
                    np.random.SeedSequence(4)))
    q = out["qtilde"]
    assert not out["bad"].any() and out["counter"].failed == 0
    assert np.all(np.isfinite(q)) and np.all(q >= 0)
    assert np.median(q) < 1e-6


def test_profile_method_without_signal_and_at_grid_edges():
    """Background-only Asimov scan over 16.39-17.38 MeV, masses from 15.9 to 17.9 MeV: no
    crash, no NaN written; limits finite where the scan is sensitive and rising towards and
    beyond the edges; masses without sensitivity reported as null with a note."""
    table = synthetic_table(seed=None)
    masses = np.array([15.4, 15.9, 16.39, 16.9, 17.38, 17.9])
    res = ProfileMethod(table).run(AnalysisOptions(asymptotic=True, masses=masses, seed=1))
    d = res.to_dict()                                     # what result.json holds
    json.dumps(d, allow_nan=False)
    lim = np.array([np.nan if v is None else v for v in d["limits"]["observed"]])
    inside = (masses >= 16.39) & (masses <= 17.38)
    assert np.all(np.isfinite(lim[inside]))
    assert lim[3] < lim[2] and lim[3] < lim[4]           # best in the middle of the scan
    # beyond the scan: either a larger limit or null (no sensitivity), never a small number
    for j in np.flatnonzero(~inside):
        assert not np.isfinite(lim[j]) or lim[j] > lim[inside].max()
    if not np.isfinite(lim).all():
        assert any("not bracketed" in n for n in d["diagnostics"]["notes"])
    p = np.array(d["local"]["p"], float)
    assert np.all((p >= 0) & (p <= 1))
    assert d["bestfit"].get("note", "").startswith("no excess") or d["bestfit"]["mu"] < 1e-12
    assert d["diagnostics"]["failed_fits"] == 0


def test_failed_fits_are_retried_and_counted(asimov_b):
    """A fit stopped after one iteration is retried (twice the iterations, Fisher steps first)
    and reported as failed if it still does not converge; the counter keeps every number."""
    _, model = asimov_b
    g = np.zeros((20, model.n_glob))
    g[:, 0], g[:, 1] = 3 * model.mu_scale()[1], 1.0
    data = model.sample(g, np.zeros((20, model.n_points, model.n_loc)), np.ones(20, np.intp),
                        np.random.default_rng(8))
    res = minimize(model, data, 1, None, max_iter=1)
    assert res.n_retried == 20                       # none converges in one step: all retried
    assert res.n_failed == int((~res.converged).sum()) > 0
    c = FitCounter()
    c.add(res, "free")
    assert c.as_dict()["failed_fits"] == res.n_failed
    assert c.as_dict()["by_kind"]["free"] == {"fits": 20, "retried": 20,
                                              "failed": res.n_failed}
    good = minimize(model, data, 1, None)
    assert good.n_failed == 0
    # the converged ones of the short fits agree with the full fits
    ok = res.converged
    np.testing.assert_allclose(res.deviance[ok], good.deviance[ok], atol=1e-6)


def test_failed_fit_counts_by_key():
    from x17scan.analysis import failed_fit_counts

    diag = {"fits": 10, "failed_fits": 2, "by_kind": {"free": {"failed": 2}},
            "observed": {"n_failed_fits": 0, "n_data_fits_failed": 1},
            "band": {"n_failed_fits": 3}}
    assert failed_fit_counts(diag) == {"failed_fits": 2, "observed.n_data_fits_failed": 1,
                                       "band.n_failed_fits": 3}
    assert failed_fit_counts({"fits": 3, "failed_fits": 0}) == {}


class _FailingMethod:
    """A method whose fits partly failed (as a method reports them in its diagnostics)."""

    name = "fails-sometimes"

    def __init__(self, table, **kw):
        self.table = table

    def run(self, options):
        return Result(method=self.name, cl=options.cl, dataset=self.table.name,
                      limits={"mass_MeV": [17.0], "observed": [6e-4]},
                      diagnostics={"fits": 100, "retried_fits": 7, "failed_fits": 3,
                                   "timings": {"total_s": 0.1}})


def test_analyze_warns_about_failed_fits(tmp_path, monkeypatch, capsys):
    from x17scan import analysis

    monkeypatch.setitem(METHODS, "fails-sometimes", _FailingMethod)
    job = analysis.prepare(method="fails-sometimes", outdir=tmp_path, asymptotic=True,
                           progress=False)
    analysis.execute(job, html=False, figures=False)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "warning" in lines[0] and "failed_fits = 3" in lines[0], err
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["diagnostics"]["failed_fits"] == 3 and res["diagnostics"]["retried_fits"] == 7
    assert "timings" not in res["diagnostics"]                 # execution facts: run.json
    assert json.loads((tmp_path / "run.json").read_text())["timings"]["total_s"] == 0.1


def test_no_warning_without_failures(tmp_path, capsys):
    from x17scan import analysis

    job = analysis.prepare(method="profile", outdir=tmp_path, asymptotic=True,
                           mass_grid="16.9:17.0:0.1", progress=False)
    res, _ = analysis.execute(job, html=False, figures=False)
    assert res.diagnostics["failed_fits"] == 0
    assert "warning" not in capsys.readouterr().err


def test_q_statistics_at_the_boundaries():
    """q0 and q~_mu at mu_hat on the boundaries (CCGV eqs. 12 and 16)."""
    assert ts.q0(5.0, 4.0, 0.0) == 0.0 and ts.q0(5.0, 4.0, 1e-300) == 2.0
    assert ts.qmu_tilde(7.0, 4.0, 5.0, 1.0, 1.0) == 6.0        # mu_hat = mu: -2 ln L(mu)/L(hat)
    assert ts.qmu_tilde(7.0, 4.0, 5.0, 1.0 + 1e-12, 1.0) == 0.0
    assert ts.qmu_tilde(7.0, 4.0, 5.0, -1e-300, 1.0) == 4.0   # mu_hat < 0: reference L(0)
    cls, clsb, clb = ts.cls_asymptotic(0.0, 1e-300)
    assert cls == pytest.approx(1.0) and clsb == pytest.approx(0.5) and clb == pytest.approx(0.5)
    assert math.isfinite(float(ts.z_from_p(0.0))) and ts.z_from_p(0.0) > 30
    assert ts.z_from_p(0.5) == 0.0
