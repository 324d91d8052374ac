"""padme-run3: CLs from toy counts (method doc §6) and the graph of §7 step 1.

References: the definitions with strict inequalities on hand-made Q arrays; the Wilson score
interval (E.B. Wilson, JASA 22 (1927) 209; TEfficiency::Wilson) computed by hand; the
ReadOutput count rebuild int(P N) (29/200*200 -> 28 in double arithmetic).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from x17scan.stats.padme_run3.cls import (
    ToyCounts,
    cls_graph,
    cls_values,
    count_toys,
    root_counts,
    wilson,
)


def test_strict_inequalities_on_hand_made_q():
    q_obs = np.array([1.0, 0.0])
    q_b = np.array([[0.5, 1.0, 1.5, 0.9], [-1.0, 0.0, 0.0, 2.0]])
    q_s = np.array([[1.0, 1.2, 3.0, 0.1], [0.0, 0.5, -0.5, 0.0]])
    ok = np.ones((2, 4), dtype=bool)
    c = count_toys(q_obs, q_b, ok, q_s, ok)
    # Q_b < Q_obs (ties excluded), Q_s > Q_obs (ties excluded)
    assert c.nb_pass.tolist() == [2, 1]
    assert c.ns_pass.tolist() == [2, 1]
    ps, pb, cls = cls_values(c)
    assert ps.tolist() == [0.5, 0.25]
    assert pb.tolist() == [0.5, 0.25]
    assert cls == pytest.approx([1.0, 0.25 / 0.75])
    # invalid toys are not counted
    ok2 = ok.copy()
    ok2[0, 0] = False
    c2 = count_toys(q_obs, q_b, ok2, q_s, ok)
    assert c2.nb_valid.tolist() == [3, 4] and c2.nb_pass.tolist() == [1, 1]


def test_cls_is_minus_one_when_pb_is_one():
    c = ToyCounts(nb_valid=np.array([10]), nb_pass=np.array([10]), ns_valid=np.array([10]),
                  ns_pass=np.array([3]))
    assert cls_values(c)[2].tolist() == [-1.0]
    g = cls_graph(np.array([1e-4]), c)
    assert np.isnan(g.cls[0])          # dropped from the limit graph


def test_wilson_by_hand():
    n, k, level = 200, 29, 0.68
    kappa = 0.994457883209753          # Phi^-1(0.84)
    p = k / n
    centre = (k + kappa**2 / 2) / (n + kappa**2)
    half = kappa / (n + kappa**2) * math.sqrt(n * p * (1 - p) + kappa**2 / 4)
    lo, hi = wilson(n, k, level)
    assert lo == pytest.approx(centre - half, rel=1e-12)
    assert hi == pytest.approx(centre + half, rel=1e-12)
    # edges are clipped, total 0 gives (0, 1)
    assert wilson(200, 0)[0] == 0.0 and wilson(200, 200)[1] == 1.0
    assert tuple(map(float, wilson(0, 0))) == (0.0, 1.0)


def test_root_count_truncation():
    passed = np.array([29, 57, 100, 0, 200])
    assert root_counts(passed, np.full(5, 200)).tolist() == [28, 56, 100, 0, 200]
    assert root_counts(passed, np.full(5, 200), truncate=False).tolist() == passed.tolist()


def test_cls_graph_error_propagation():
    c = ToyCounts(nb_valid=np.array([200, 200]), nb_pass=np.array([40, 10]),
                  ns_valid=np.array([200, 200]), ns_pass=np.array([30, 100]))
    g = cls_graph(np.array([3e-4, 1e-4]), c, truncate=False)
    assert g.g.tolist() == [1e-4, 3e-4]              # sorted by g
    ps, pb = 100 / 200, 10 / 200
    s_lo, s_hi = wilson(200, 100)
    b_lo, b_hi = wilson(200, 10)
    e_hi = math.hypot((s_hi - ps) / (1 - pb), ps / (1 - pb) ** 2 * (b_hi - pb))
    e_lo = math.hypot((ps - s_lo) / (1 - pb), ps / (1 - pb) ** 2 * (pb - b_lo))
    assert g.cls[0] == pytest.approx(ps / (1 - pb))
    assert g.cls_err_hi[0] == pytest.approx(e_hi, rel=1e-12)
    assert g.cls_err_lo[0] == pytest.approx(e_lo, rel=1e-12)
    assert g.clsb[1] == pytest.approx(30 / 200)
