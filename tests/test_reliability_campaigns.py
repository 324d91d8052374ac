"""Long jobs survive SIGKILL and give bit-identical results whatever executes them.

Kill/resume: ``python -m x17scan analyze`` (profile method with toys; padme-run3 with
pseudo-experiments) and ``python -m x17scan simulate`` run as subprocesses, are SIGKILLed 5
times at random moments (after a random number of newly finished tasks plus a random delay, or
at a random time), and the same command is re-run to completion. Its ``result.json`` /
scan-table bytes must equal those of an uninterrupted run (in-process here: also a check across
processes). Reproducibility: the same job with 1 and 2 worker processes and on a local Dask
cluster gives the same ``result.json`` bytes. Sizes are minimal; the seeds of the kill moments
are fixed, so a failure is reproducible.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

PROFILE_ARGS = ["--method", "profile", "--mass-grid", "16.85:16.95:0.05", "--toys", "100",
                "--pseudo-experiments", "700", "--seed", "3"]
PADME_ARGS = ["--method", "padme-run3", "--mass-grid", "16.85:16.95:0.05", "--toys", "4",
              "--pseudo-experiments", "7", "--seed", "3"]
SIM_OPTS = {"events_per_point": 1200, "chunk_size": 300, "seed": 5}
SIM_POINTS = ("P09", "P10", "NT-282.22")
SIM_FILES = ("scan_table.parquet", "scan_table_ee.parquet", "scan_table_gg.parquet",
             "summary.parquet")
N_KILLS = 5


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _tasks_done(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("task-*.pkl")) if folder.exists() else 0


def _check_nothing_half_written(out: Path) -> None:
    """After a kill: every visible file is complete (temporary files are hidden dot files)."""
    for f in out.rglob("*"):
        if not f.is_file() or f.name.startswith("."):
            continue
        if f.suffix == ".json":
            json.loads(f.read_text())
        elif f.suffix == ".pkl":
            with open(f, "rb") as fh:
                pickle.load(fh)
        elif f.suffix == ".parquet":
            import pyarrow.parquet as pq

            pq.read_table(f)


def kill_and_resume(args: list[str], out: Path, ckpt: Path, total: int, seed: int, tmp: Path,
                    timeout: float = 300.0) -> list[dict]:
    """Run ``python -m x17scan ARGS``, SIGKILL it N_KILLS times at random moments, re-run it
    to completion; returns what happened at each kill. ``total``: tasks of the job (kills
    leave enough of them for the next rounds)."""
    rng = np.random.default_rng(seed)
    cmd = [sys.executable, "-m", "x17scan", *args]
    log = []
    for i in range(N_KILLS):
        before = _tasks_done(ckpt)
        err = tmp / f"stderr-{i}.txt"
        with open(err, "w") as fh:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh, env=_env())
        t0 = time.monotonic()
        if i == 0 or rng.uniform() < 0.25:
            mode, wait = "time", rng.uniform(0.2, 3.0)
            while proc.poll() is None and time.monotonic() - t0 < wait:
                time.sleep(0.01)
        else:
            mode = "tasks"
            target = min(before + int(rng.integers(1, 3)), total - 2 * (N_KILLS - i))
            while proc.poll() is None and _tasks_done(ckpt) < target:
                assert time.monotonic() - t0 < timeout, "no progress"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        log.append({"mode": mode, "killed": alive, "after_s": round(time.monotonic() - t0, 2),
                    "tasks_before": before, "tasks_after": _tasks_done(ckpt),
                    "returncode": proc.returncode})
        assert alive, f"run {i + 1} ended before its kill: {log} {err.read_text()[-2000:]}"
        _check_nothing_half_written(out)
    final = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)
    assert final.returncode == 0, final.stderr
    print(f"\n{args[0]} kills:", json.dumps(log))       # shown with pytest -s / -rP
    return log


# -- analyze, profile method -------------------------------------------------------------------
def _analyze_in_process(args: list[str], out: Path, **kw) -> None:
    """The same job as ``x17scan analyze ARGS --out OUT`` through analysis.prepare/execute."""
    from x17scan import analysis

    opts = dict(zip(args[::2], args[1::2], strict=True))
    job = analysis.prepare(method=opts["--method"], mass_grid=opts["--mass-grid"],
                           toys=int(opts["--toys"]),
                           pseudo_experiments=int(opts["--pseudo-experiments"]),
                           seed=int(opts["--seed"]), outdir=out, progress=False, **kw)
    analysis.execute(job, html=False, figures=False)


@pytest.fixture(scope="module")
def profile_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("profile-ref")
    _analyze_in_process(PROFILE_ARGS, out)
    return out


def test_profile_resume_after_random_kills(profile_ref, tmp_path):
    out = tmp_path / "out"
    args = ["analyze", *PROFILE_ARGS, "--out", str(out), "--no-html", "--quiet"]
    log = kill_and_resume(args, out, out / ".checkpoints", 10, seed=101, tmp=tmp_path)
    total = _tasks_done(out / ".checkpoints")
    assert total == 10                       # 7 background-only chunks + 3 masses
    assert sum(0 < e["tasks_after"] < total for e in log) >= 3, log   # killed mid-campaign
    for name in ("result.json", "scan_table.csv"):
        assert (out / name).read_bytes() == (profile_ref / name).read_bytes(), name
    res = json.loads((out / "result.json").read_text())
    assert res["options"]["toys"] == 100 and res["provenance"]["root_seed"] == 3


def test_profile_identical_across_workers_and_dask(profile_ref, tmp_path):
    from distributed import LocalCluster

    _analyze_in_process(PROFILE_ARGS, tmp_path / "w2", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster:
        _analyze_in_process(PROFILE_ARGS, tmp_path / "dask", scheduler=cluster.scheduler_address)
    ref = (profile_ref / "result.json").read_bytes()
    assert (tmp_path / "w2" / "result.json").read_bytes() == ref
    assert (tmp_path / "dask" / "result.json").read_bytes() == ref
    run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert run["scheduler"].startswith("inproc://") and run["workers"] == 1


def test_result_json_records_provenance(profile_ref):
    res = json.loads((profile_ref / "result.json").read_text())
    prov = res["provenance"]
    assert prov["versions"]["x17scan"] and prov["versions"]["numpy"] == np.__version__
    assert len(prov["inputs"]["sha256_columns"]) == 64
    assert prov["root_seed"] == 3
    opts = res["options"]
    assert opts["method"] == "profile" and opts["seed"] == 3 and opts["cl"] == 0.9
    assert opts["toys"] == 100 and opts["pseudo_experiments"] == 700
    assert "workers" not in opts and "elapsed_s" not in json.dumps(res)


def test_other_seed_refuses_checkpoints_unless_fresh(profile_ref, tmp_path):
    """A different job in the same folder is refused (one line naming --fresh, exit 2); with
    --fresh the old checkpoints are discarded and the job runs."""
    import shutil

    from test_bad_inputs import run_cli

    out = tmp_path / "o"
    shutil.copytree(profile_ref, out)
    other = [*PROFILE_ARGS[:-1], "4"]
    code, text = run_cli(["analyze", *other, "--out", str(out), "--no-html", "--quiet"])
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "--fresh" in lines[0], text
    assert (out / "result.json").read_bytes() == (profile_ref / "result.json").read_bytes()
    _analyze_in_process(other, out, fresh=True)
    assert json.loads((out / "result.json").read_text())["provenance"]["root_seed"] == 4


# -- analyze, padme-run3 -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def padme_ref(tmp_path_factory):
    out = tmp_path_factory.mktemp("padme-ref")
    _analyze_in_process(PADME_ARGS, out)
    return out


def test_padme_run3_resume_after_random_kills(padme_ref, tmp_path):
    out = tmp_path / "out"
    args = ["analyze", *PADME_ARGS, "--out", str(out), "--no-html", "--quiet"]
    log = kill_and_resume(args, out, out / ".checkpoints", 10, seed=202, tmp=tmp_path)
    total = _tasks_done(out / ".checkpoints")
    assert total == 3 + 7                    # one task per mass, one per pseudo-experiment
    assert sum(0 < e["tasks_after"] < total for e in log) >= 3, log
    for name in ("result.json", "scan_table.csv"):
        assert (out / name).read_bytes() == (padme_ref / name).read_bytes(), name


def test_padme_run3_identical_with_two_workers(padme_ref, tmp_path):
    _analyze_in_process(PADME_ARGS, tmp_path / "w2", workers=2)
    assert (tmp_path / "w2" / "result.json").read_bytes() == \
        (padme_ref / "result.json").read_bytes()


# -- simulate ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_plan(tmp_path_factory):
    from x17scan.beam import load_plan

    plan = load_plan("run3")
    small = plan.replace(points=tuple(p for p in plan.points if p.label in SIM_POINTS))
    path = tmp_path_factory.mktemp("plan") / "small.toml"
    path.write_text(small.to_toml())
    return path


@pytest.fixture(scope="module")
def sim_ref(sim_plan, tmp_path_factory):
    """The uninterrupted run, with the options `x17scan simulate` builds from its flags."""
    from x17scan.sim.pipeline import SimOptions, simulate

    out = tmp_path_factory.mktemp("sim-ref")
    opts = SimOptions(plan=str(sim_plan), events_per_point=SIM_OPTS["events_per_point"],
                      pot_fraction=1.0, signal_mass=None, gve=5e-4, spin="vector",
                      motion="atomic", nlo=True, pileup=True, chunk_size=SIM_OPTS["chunk_size"],
                      seed=SIM_OPTS["seed"], detector="run3", selection="padme-run3-inferred",
                      write_events="none", format="parquet")
    simulate(opts, out, progress=False)
    return out, opts


def test_simulate_resume_after_random_kills(sim_plan, sim_ref, tmp_path):
    ref = sim_ref[0]
    out = tmp_path / "out"
    args = ["simulate", "--out", str(out), "--plan", str(sim_plan), "--events-per-point",
            str(SIM_OPTS["events_per_point"]), "--chunk-size", str(SIM_OPTS["chunk_size"]),
            "--seed", str(SIM_OPTS["seed"]), "--write-events", "none", "--quiet"]
    from x17scan.beam import load_plan
    from x17scan.sim.pipeline import build_tasks

    total = len(build_tasks(load_plan(str(sim_plan)), sim_ref[1], None))
    log = kill_and_resume(args, out, out / ".checkpoint", total, seed=303, tmp=tmp_path)
    assert sum(e["tasks_after"] > 0 for e in log) >= 3, log
    for name in SIM_FILES:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    a = json.loads((out / "simulation.json").read_text())
    b = json.loads((ref / "simulation.json").read_text())
    # "info" holds wall times and the executor: the rest must agree exactly
    assert {k: v for k, v in a.items() if k != "info"} == \
        {k: v for k, v in b.items() if k != "info"}
