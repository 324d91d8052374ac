"""Executors give bit-identical results; checkpoints resume a job."""

import numpy as np
import pytest

from x17scan.errors import InputError
from x17scan.parallel import (
    Checkpoint,
    ProcessExecutor,
    SerialExecutor,
    job_fingerprint,
    run_tasks,
    task_seeds,
)


def draw(seed):
    return np.random.default_rng(seed).normal(size=1000).sum()


def test_same_results_serial_and_processes():
    tasks = task_seeds(1234, 16)
    serial = run_tasks(draw, tasks, executor=SerialExecutor(), progress=False)
    with ProcessExecutor(2) as ex:
        par = run_tasks(draw, tasks, executor=ex, progress=False)
    assert serial == par  # exact equality: bit-identical


def test_checkpoint_resume(tmp_path):
    tasks = task_seeds(7, 10)
    full = run_tasks(draw, tasks, progress=False)
    ck = Checkpoint(tmp_path / "ck", job_fingerprint({"job": 1}))
    for i in (0, 3, 4):  # pretend these finished before an interruption
        ck.save(i, full[i])
    calls = []

    def counting(seed):
        calls.append(seed)
        return draw(seed)

    resumed = run_tasks(counting, tasks, checkpoint=ck, progress=False)
    assert resumed == full and len(calls) == 7
    with pytest.raises(InputError, match="different job"):
        Checkpoint(tmp_path / "ck", job_fingerprint({"job": 2}))
    Checkpoint(tmp_path / "ck", job_fingerprint({"job": 2}), fresh=True)


@pytest.mark.slow
def test_dask_cluster_matches_serial():
    """A local Dask cluster with 2 workers gives exactly the serial results."""
    distributed = pytest.importorskip("distributed")
    from x17scan.parallel import DaskExecutor

    tasks = task_seeds(99, 12)
    serial = run_tasks(draw, tasks, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with DaskExecutor(cluster.scheduler_address) as ex:
            assert ex.workers == 2
            assert run_tasks(draw, tasks, executor=ex, progress=False) == serial


def test_atomic_outputs_follow_umask(tmp_path):
    """Atomic writes end with the usual permissions (mkstemp alone would give 0600)."""
    import os

    from x17scan import atomic

    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
