"""Scan plans: the shipped Run III plan against PADME's per-point data, TOML round trip, and
one-line validation errors naming the key and the point index."""

import tomllib

import numpy as np
import pytest

from x17scan.beam import ScanPlan, ScanPoint, load_plan, plan_from_dict, shipped_plans
from x17scan.errors import InputError
from x17scan.physics.kinematics import sqrt_s


@pytest.fixture(scope="module")
def run3():
    return load_plan("run3")


def test_run3_points(run3):
    assert "run3" in shipped_plans()
    kinds = [p.kind for p in run3.points]
    # seeds (Raggi, LNF SC 2023): 47 on resonance, 5 below, over resonance in 5 runs
    assert kinds.count("on-resonance") == 47
    assert kinds.count("below") == 5
    over = [p for p in run3.points if p.kind == "over"]
    assert len(over) == 5 and {p.e_beam for p in over} == {402.5}
    assert all(p.pot == pytest.approx(0.4e10) for p in over)
    assert kinds.count("no-target") >= 1
    padme = [p for p in run3.points if p.kind in ("on-resonance", "below")]
    # data/padme-run3/README.md: 42 fit points; sum of PoT 3.1513e11 on them, 3.9243e11 on all 52
    assert sum(p.used for p in padme) == 42
    assert sum(p.pot for p in padme if p.used) == pytest.approx(3.1513e11, rel=1e-4)
    assert sum(p.pot for p in padme) == pytest.approx(3.9243e11, rel=1e-4)
    # README reference rows: period 0 has sqrt(s) = 17.128531 MeV and PoT 7.177496e9
    p0 = next(p for p in padme if p.period == 0)
    assert sqrt_s(p0.e_beam) == pytest.approx(17.128531, abs=2e-6)
    assert p0.pot == pytest.approx(7.177496e9, rel=1e-6)
    assert p0.pot_err == pytest.approx(2.5724e7, rel=1e-4)
    lo, hi = run3.sqrt_s_range()
    assert lo == pytest.approx(14.5495, abs=1e-4) and hi == pytest.approx(20.2947, abs=1e-4)
    assert run3.bes == 0.0025 and run3.bunch.positrons_per_bunch == 4000
    assert run3.bunch.n_micro == 500


def test_round_trip(run3, tmp_path):
    text = run3.to_toml("a header\nline two")
    assert text.startswith("# a header\n")
    assert plan_from_dict(tomllib.loads(text)) == run3
    f = tmp_path / "p.toml"
    f.write_text(text)
    assert load_plan(f) == run3


def _base():
    return {"plan": {"name": "t"}, "beam": {"bes": 0.002},
            "points": [{"e_beam": 270.0, "pot": 1e10}, {"e_beam": 271.0, "pot": 1e10},
                       {"e_beam": 272.0, "pot": 1e10}]}


@pytest.mark.parametrize(("edit", "field", "row"), [
    (lambda d: d["points"][2].update(e_beam=-272.0), "points[2].e_beam", 2),
    (lambda d: d["points"][1].update(pot=-5.0), "points[1].pot", 1),
    (lambda d: d["points"][1].update(e_beam=270.0), "points[1].e_beam", 1),   # duplicate
    (lambda d: d["points"][2].update(e_beam=270.5), "points[2].e_beam", 2),   # unsorted
    (lambda d: d["points"][0].update(e_beam=600.0), "points[0].e_beam", 0),   # above BTF
    (lambda d: d["points"][0].update(lumi=3), "points[0].lumi", 0),           # unknown key
    (lambda d: d["beam"].update(spread=1), "beam.spread", None),
    (lambda d: d.update(extra={}), "extra", None),
    (lambda d: d["beam"].update(divergence=[1.0, -1.0]), "beam.divergence", None),
])
def test_validation_errors(edit, field, row):
    d = _base()
    edit(d)
    with pytest.raises(InputError) as exc:
        plan_from_dict(d, source="plan.toml")
    err = exc.value
    assert err.field == field and err.row == row
    text = str(err)
    assert "\n" not in text and "fix:" in text and field in text and "plan.toml" in text


def test_repeated_runs_allowed_and_unknown_plan():
    pts = [ScanPoint(402.5, 4e9, 1e7, "over", run=r) for r in range(3)]
    assert len(ScanPlan("x", pts)) == 3
    with pytest.raises(InputError, match="unknown plan"):
        load_plan("no-such-plan")


def test_select_and_bunch_defaults(run3):
    sub = run3.select(["over"])
    assert len(sub) == 5 and all(p.kind == "over" for p in sub.points)
    with pytest.raises(InputError):
        run3.select(["bogus"])
    assert np.isclose(run3.e_beam_true(run3.points[0]), run3.points[0].e_beam)


def test_readme_plan_example():
    """The plan of the README's "Your own scan plan" loads as written: the documented defaults
    (pot_err = pot x 0.3 %, kind on-resonance, Run III beam) and the no-target point."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    text = re.search(r"### Your own scan plan.*?```toml\n(.*?)```", readme, re.S).group(1)
    plan = plan_from_dict(tomllib.loads(text), source="README")
    a, b, empty, c = plan.points
    assert a.pot_err == pytest.approx(0.003 * a.pot)
    assert (a.kind, b.kind, empty.kind, c.kind) == ("on-resonance", "on-resonance", "no-target",
                                                    "on-resonance")
    assert b.pot_err == 4e7
    assert [p.has_target for p in plan.points] == [True, True, False, True]
    assert plan.bes == 0.0025 and plan.target.thickness == 0.1
