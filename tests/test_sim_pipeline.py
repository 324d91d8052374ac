"""The simulate pipeline: bit-identical output for 1 and 2 workers, resume after an
interruption, scan tables readable by the data layer, one-line CLI errors with nothing written."""

import json
import subprocess
import sys

import numpy as np
import pytest

from x17scan.beam import load_plan
from x17scan.data import read_table
from x17scan.sim.pipeline import SimOptions, build_tasks, run_task, simulate, validate

OPTS = SimOptions(events_per_point=1200, chunk_size=600, signal_mass=16.95, seed=7,
                  write_events="selected", halo_fraction=0.5)


@pytest.fixture(scope="module")
def small_plan():
    plan = load_plan("run3")
    keep = {"P09", "P10", "NT-282.22"}
    return plan.replace(points=tuple(p for p in plan.points if p.label in keep))


@pytest.fixture(scope="module")
def serial(small_plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return simulate(OPTS, out, plan=small_plan, progress=False), out


def test_tables_and_files(serial):
    res, out = serial
    t = read_table(out / "scan_table.parquet")
    assert len(t) == 2 and t.observable == "2cl"
    ee, gg = read_table(out / "scan_table_ee.parquet"), read_table(out / "scan_table_gg.parquet")
    # disjoint categories: n(2cl) >= n(ee) + n(gg) and B likewise
    assert np.all(t.n_obs >= ee.n_obs + gg.n_obs)
    assert np.all(t.bkg_per_pot >= ee.bkg_per_pot + gg.bkg_per_pot - 1e-15)
    assert np.all((t.sig_eff > 0) & (t.sig_eff < 1))
    doc = json.loads((out / "simulation.json").read_text())
    assert doc["seeds"]["root_seed"] == 7 and doc["options"]["signal_mass"] == 16.95
    assert not (out / ".checkpoint").exists()
    # no-target point: only halo
    nt = res.summary[res.summary.kind == "no-target"].iloc[0]
    assert nt.rate_halo > 0 and np.isnan(nt.get("rate_bhabha", np.nan))


def test_bit_identical_two_workers(serial, small_plan, tmp_path):
    res1, _out1 = serial
    res2 = simulate(OPTS, tmp_path, plan=small_plan, workers=2, progress=False)
    for obs in ("2cl", "ee", "gg"):
        assert res1.tables[obs].equals(res2.tables[obs])
    a = res1.summary.drop(columns=[]).to_numpy()
    b = res2.summary.to_numpy()
    assert a.shape == b.shape
    for x, y in zip(a.ravel(), b.ravel(), strict=True):
        assert (x == y) or (x != x and y != y)


def test_resume_after_interruption(serial, small_plan, tmp_path):
    """Run half the chunks into the checkpoint (as a killed run leaves it), then simulate:
    the finished chunks are reused and the result is bit-identical."""
    from x17scan import __version__
    from x17scan.parallel import Checkpoint, job_fingerprint

    res1, _ = serial
    plan = validate(OPTS) if small_plan is None else small_plan
    tasks = build_tasks(plan, OPTS, str(tmp_path / "events"))
    (tmp_path / "events").mkdir()
    fp = job_fingerprint({"plan": plan.to_dict(), "options": OPTS.to_dict(),
                          "version": __version__})
    ck = Checkpoint(tmp_path / ".checkpoint", fp)
    for t in tasks[: len(tasks) // 2]:
        ck.save(t.index, run_task(t))
    res2 = simulate(OPTS, tmp_path, plan=small_plan, progress=False)
    assert res1.tables["2cl"].equals(res2.tables["2cl"])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "x17scan", *args], capture_output=True,
                          text=True)


@pytest.mark.parametrize(("args", "field"), [
    (["--plan", "nosuchplan"], "--plan"),
    (["--signal-mass", "25.0"], "--signal-mass"),
    (["--pot-fraction", "-1"], "--pot-fraction"),
])
def test_cli_bad_input(args, field, tmp_path):
    out = tmp_path / "o"
    r = _cli("simulate", "--out", str(out), *args)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    if field:
        assert field in lines[0]
    assert not out.exists()
