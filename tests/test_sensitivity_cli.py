"""``x17scan sensitivity`` and ``x17scan plan`` end to end: result.json structure (the
``expected`` block of ``x17scan analyze``), plan conversion, and the proposed plan file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_bad_inputs import run_cli  # tests/ is on sys.path (pytest prepend import mode)

from x17scan.beam import load_plan
from x17scan.stats.result import EXPECTED_KEYS, Result

PLAN = """[plan]
name = "small"

[beam]
bes = 0.0025
pot_rel_err = 0.003
""" + "".join(f"\n[[points]]\ne_beam = {e}\npot = 1.0e10\n" for e in
              (270.0, 272.0, 274.0, 276.0, 278.0, 280.0, 282.0, 284.0, 286.0, 288.0))


def test_sensitivity_result_json(tmp_path):
    plan = tmp_path / "small.toml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    code, text = run_cli(["sensitivity", "--plan", str(plan), "--out", str(out),
                      "--variations", "bes,offset", "--bes-values", "0.003",
                      "--mass-grid", "16.7:17.1:0.02",
                      "--lineshapes", "free,atomic", "--no-figures"])
    assert code == 0, text
    assert "reduction 3.08" in text
    d = json.loads((out / "result.json").read_text())
    res = Result.from_json(out / "result.json")
    ex = res.expected
    n = len(ex["mass_MeV"])
    for k in EXPECTED_KEYS:
        assert len(ex[k]) == n
    m = np.array(ex["mass_MeV"])
    assert m[0] == pytest.approx(16.7) and m.size == 21
    med = np.array([np.nan if v is None else v for v in ex["median"]])
    lo = np.array([np.nan if v is None else v for v in ex["minus1"]])
    ok = np.isfinite(med)
    assert ok.sum() > 0.8 * n and np.all(lo[ok] < med[ok])
    sens = res.sensitivity
    disc = sens["discovery"]
    assert {"g_3sigma_local", "g_5sigma_local", "g_3sigma_global", "g_5sigma_global",
            "lee"} <= set(disc)
    assert [v["name"] for v in sens["variations"]] == ["bes", "offset", "offset"]
    assert set(sens["lineshapes"]["median"]) == {"free", "atomic"}
    assert d["options"]["plan"] == str(plan)
    assert (out / "scan_table.csv").exists() and (out / "run.json").exists()


def test_plan_proposal_and_gain(tmp_path):
    out = tmp_path / "plan"
    code, text = run_cli(["plan", "--mass", "16.9", "--window", "16.75:17.05", "--budget", "1e11",
                      "--max-points", "12", "--no-figures", "--out", str(out), "--name", "t"])
    assert code == 0, text
    assert "gain in expected local significance at 16.9 MeV" in text
    p = load_plan(out / "plan.toml")
    e = np.array([q.e_beam for q in p.points])
    pot = np.array([q.pot for q in p.points])
    assert len(p.points) <= 12 and np.all(np.diff(e) >= 0.75 - 0.002)
    assert pot.sum() == pytest.approx(1e11, rel=1e-4)
    res = Result.from_json(out / "result.json")
    plan_block = res.sensitivity["planning"]
    assert plan_block["gain"] > 1.0
    s = plan_block["summary"]
    assert s["z_proposal"] > s["z_even"]
    even = load_plan(out / "even.toml")
    assert sum(q.pot for q in even.points) == pytest.approx(1e11, rel=1e-4)


def test_default_mass_grid():
    """The plan's sqrt(s) range +- 0.1 MeV on the 0.02 MeV lattice, outward (sqrt(s) =
    sqrt(2 m_e (E + m_e)) = 16.6271 and 17.1714 MeV at 270 and 288 MeV)."""
    from x17scan.beam import plan_from_dict
    from x17scan.cli.cmd_sensitivity import default_masses, plan_inputs

    d = {"points": [{"e_beam": e, "pot": 1e10} for e in (270.0, 279.0, 288.0)]}
    m = default_masses(plan_inputs(plan_from_dict(d)))
    assert m[0] == pytest.approx(16.52) and m[-1] == pytest.approx(17.28)
    assert np.allclose(np.diff(m), 0.02)


def test_plan_inputs_merges_runs_and_adds_pot_systematic():
    from x17scan.beam import plan_from_dict
    from x17scan.cli.cmd_sensitivity import plan_inputs

    d = {"plan": {"name": "x"}, "beam": {"pot_rel_err": 0.003},
         "points": [{"e_beam": 270.0, "pot": 1e10, "pot_err": 4e7},
                    {"e_beam": 275.0, "pot": 1e10, "run": 0},
                    {"e_beam": 275.0, "pot": 2e10, "run": 1},
                    {"e_beam": 280.0, "pot": 1e10},
                    {"e_beam": 285.0, "pot": 1e10, "used": False}]}
    inp = plan_inputs(plan_from_dict(d))
    np.testing.assert_allclose(inp.e_beam, [270.0, 275.0, 280.0])
    np.testing.assert_allclose(inp.pot, [1e10, 3e10, 1e10])
    # explicit error + 0.3 % in quadrature; default errors are already 0.3 % of the PoT
    np.testing.assert_allclose(inp.pot_err, [np.hypot(4e7, 3e7), np.hypot(3e7, 6e7), 3e7])


def test_plan_exclusion_not_worse_than_even_scan(tmp_path):
    """Over a wide window the proposal is at least as good as the even scan it is compared
    with, by the planning objective (computed here from the stored Fisher information, mean
    I^-1/4 over the target masses) and by the full likelihood within the difference between the
    two (0.5 %). The anchored grid alone lost by 2 % here."""
    out = tmp_path / "plan"
    code, text = run_cli(["plan", "--target", "exclusion", "--window", "16.3:17.5", "--budget",
                          "1e11", "--no-figures", "--out", str(out), "--name", "t"])
    assert code == 0, text
    block = Result.from_json(out / "result.json").sensitivity["planning"]
    obj = {k: np.mean(np.asarray(block[f"fisher_information_{k}"]) ** -0.25)
           for k in ("proposal", "even")}
    assert obj["proposal"] <= obj["even"]
    assert obj["proposal"] == pytest.approx(block["planning_objective"]["proposal"], rel=1e-9)
    assert block["gain"] > 0.995
    assert block["summary"]["n_masses_without_limit"] == 0


def test_plan_exclusion_reports_masses_without_limit(tmp_path):
    """With a tiny budget some masses have no expected limit inside the coupling grid; both
    scans are averaged over the same masses and the summary line says how many were left out."""
    out = tmp_path / "plan"
    code, text = run_cli(["plan", "--target", "exclusion", "--window", "16.75:17.05", "--budget",
                          "5e7", "--max-points", "12", "--no-figures", "--out", str(out),
                          "--name", "t"])
    assert code == 0, text
    s = Result.from_json(out / "result.json").sensitivity["planning"]["summary"]
    k, n = s["n_masses_without_limit"], s["n_masses"]
    assert k > 0 and n + k == 31
    assert f"{n} of {n + k} masses" in " ".join(text.split())


def test_plan_falls_back_to_even_energies_when_the_grid_cannot(tmp_path):
    """Three points over 16.3-17.5 MeV: the pruned optimum on the anchored grid keeps fewer than
    three points (an error before), the even scan's three energies give a plan."""
    out = tmp_path / "plan"
    code, text = run_cli(["plan", "--target", "exclusion", "--window", "16.3:17.5",
                          "--max-points", "3", "--no-figures", "--out", str(out), "--name", "t"])
    assert code == 0, text
    block = Result.from_json(out / "result.json").sensitivity["planning"]
    assert block["candidates"]["set"] == "even-scan energies"
    assert len(load_plan(out / "plan.toml").points) == 3
