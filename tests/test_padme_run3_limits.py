"""padme-run3: limit extraction from CLs(g) (method doc §7).

References: the analytic inversion of f(g) = p0 [1 - tanh((g - p1)/p2)]; an independent
minimisation of ROOT's asymmetric-error chi2 (FitUtil EvaluateChi2Effective: upper error
when the curve is above the point, lower otherwise) with iminuit under the same parameter
limits; ROOT's TGraph::Eval rules for the fallback inversion.
"""

from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit

from x17scan.stats.padme_run3 import PadmeRun3Config
from x17scan.stats.padme_run3.cls import CLsGraph
from x17scan.stats.padme_run3.limits import (
    adaptive_first,
    adaptive_second,
    fit_tanh,
    invert_tanh,
    tanh_model,
    tgraph_eval,
    upper_limits,
)

CFG = PadmeRun3Config()
G = CFG.g_grid


def test_inversion_formula():
    p = np.array([0.55, 4.6e-4, 1.1e-4])
    g = invert_tanh(p, 0.10)
    assert tanh_model(np.array([g]), p)[0] == pytest.approx(0.10, rel=1e-12)
    assert g == pytest.approx(1.1e-4 * np.arctanh(1 - 0.1 / 0.55) + 4.6e-4, rel=1e-15)
    assert np.isnan(invert_tanh(np.array([0.04, 4e-4, 1e-4]), 0.10))   # p0 < alpha/2


def _root_chi2(p, g, y, lo, hi):
    f = p[0] * (1 - np.tanh((g - p[1]) / p[2]))
    e = np.where(y - f < 0, hi, lo)
    w = np.where(e > 0, 1 / np.where(e > 0, e, 1) ** 2, 0.0)
    return float((w * (y - f) ** 2).sum())


def _chi2_of(y, lo, hi):
    def chi2(par):
        return _root_chi2(par, G, y, lo, hi)

    return chi2


def test_tanh_fit_matches_minuit_with_asymmetric_errors():
    rng = np.random.default_rng(7)
    truth = np.array([0.5, 4.8e-4, 1.0e-4])
    ys, los, his = [], [], []
    for _ in range(4):
        y = np.clip(tanh_model(G, truth) + rng.normal(0, 0.02, G.size), 0, 1)
        ys.append(y)
        los.append(np.where(y > 0, 0.02, 0.0))
        his.append(np.full(G.size, 0.025))
    y, lo, hi = np.array(ys), np.array(los), np.array(his)
    fit = fit_tanh(np.broadcast_to(G, y.shape), y, lo, hi, np.ones(y.shape, bool), CFG)
    assert fit.valid.all()
    for k in range(4):
        m = Minuit(_chi2_of(y[k], lo[k], hi[k]), np.array([0.5, 2e-4, 2e-4]))
        m.limits = [(0, 10), (0, 1e-3), (0.5e-4, 1e-3)]
        m.errordef = 1
        m.strategy = 2
        m.tol = 1e-8
        m.migrad()
        assert m.valid
        assert fit.chi2[k] <= m.fval * (1 + 1e-7)
        assert fit.chi2[k] == pytest.approx(m.fval, rel=1e-6)
        assert invert_tanh(fit.params[k], 0.1) == pytest.approx(
            invert_tanh(np.array(m.values), 0.1), rel=1e-4)


def test_noiseless_curve_recovers_truth():
    truth = np.array([0.48, 5.1e-4, 0.9e-4])
    y = tanh_model(G, truth)[None, :]
    fit = fit_tanh(G[None, :], y, np.full_like(y, 0.01), np.full_like(y, 0.01),
                   np.ones(y.shape, bool), CFG)
    assert fit.params[0] == pytest.approx(truth, rel=1e-6)


def test_tgraph_eval_rules():
    x = np.array([0.9, 0.5, 0.1, 0.02])          # unsorted abscissae, like CLs vs g inverted
    y = np.array([1e-4, 3e-4, 5e-4, 7e-4])
    assert tgraph_eval(x, y, 0.3) == pytest.approx(4e-4)          # between 0.5 and 0.1
    assert tgraph_eval(x, y, 0.1) == 5e-4                           # exact abscissa
    assert tgraph_eval(x, y, 0.01) == pytest.approx(7e-4 + (0.01 - 0.02) * (5e-4 - 7e-4)
                                                    / (0.1 - 0.02))  # extrapolation
    assert tgraph_eval(x[:1], y[:1], 0.3) == 1e-4


def _graph(cls):
    e = np.full(G.size, 0.02)
    return CLsGraph(g=G, ps=cls, pb=np.zeros(G.size), cls=cls, cls_err_lo=e, cls_err_hi=e,
                    clsb=cls, clsb_err_lo=e, clsb_err_hi=e)


def test_upper_limits_condition_and_methods():
    truth = np.array([0.5, 4.8e-4, 1.0e-4])
    good = tanh_model(G, truth)
    flat = np.full(G.size, 0.8)                   # CLs(g_max) >= 0.7: no limit
    res = upper_limits(np.array([16.9, 17.0]), [_graph(good), _graph(flat)], CFG, 0.10)
    assert res.method == ["tanh", "none"]
    assert res.limit[0] == pytest.approx(invert_tanh(truth, 0.1), rel=1e-6)
    assert np.isnan(res.limit[1])
    assert res.limit_95[0] == pytest.approx(invert_tanh(truth, 0.05), rel=1e-6)
    assert np.isfinite(res.limit_err[0]) and res.limit_err[0] > 0


def test_adaptive_indices():
    first = adaptive_first(40, 6)
    assert first.tolist() == [0, 6, 12, 18, 24, 30, 36, 39]
    second = adaptive_second(G, 5.0e-4, first, 3)
    assert second.size == 5 and np.all(np.abs(G[second] - 5e-4) < 4 * 2.25e-5)
