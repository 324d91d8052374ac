"""Scale-out benchmark: a global-significance toy campaign on 1 vs 2 workers (and Dask).

The campaign is the look-elsewhere part of the profile method: background-only toys of the
PADME Run III scan, each fitted background-only and with a free signal at every mass of the
76-mass grid, keeping max_M q0. Tasks are chunks of toys with their own SeedSequence, so the
results must be identical whatever the executor; the script checks it and prints the speed-up
of 2 local worker processes over 1 (target >= 1.7x) and, with ``--dask``, of a local Dask
cluster with 2 workers.

    python benchmarks/bench_campaign.py            # 1e5 toys (the issue's campaign)
    python benchmarks/bench_campaign.py --toys 20000 --dask
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from x17scan.data import load
from x17scan.parallel import (
    DaskExecutor,
    ProcessExecutor,
    SerialExecutor,
    chunk_sizes,
    run_tasks,
    task_seeds,
)
from x17scan.stats import teststat as ts
from x17scan.stats.calculators import AsymptoticCalculator
from x17scan.stats.fit import minimize
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.signal import SignalModel

CHUNK = 500


def global_task(task):
    """max_M q0 of one chunk of background-only toys (one row per toy)."""
    model, glob0, loc0, n, seed = task
    rng = np.random.default_rng(seed)
    g0, l0 = np.repeat(glob0, n, 0), np.repeat(loc0, n, 0)
    data = model.sample(g0, l0, np.zeros(n, np.intp), rng)
    bonly = minimize(model, data, 0, 0.0, init=(g0, l0))
    q0 = np.empty((n, len(model.masses)))
    failed = int((~bonly.converged).sum())
    for j in range(len(model.masses)):  # vectorised over the toys of the chunk
        free = minimize(model, data, j, None, init=(bonly.glob, bonly.loc))
        q0[:, j] = ts.q0(bonly.deviance, free.deviance, free.mu)
        failed += int((~free.converged).sum())
    return q0.max(1), failed


def campaign(executor, tasks):
    t0 = time.perf_counter()
    out = run_tasks(global_task, tasks, executor=executor, progress=False)
    return time.perf_counter() - t0, np.concatenate([o[0] for o in out]), sum(o[1] for o in out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--toys", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--dask", action="store_true", help="also run on a local Dask cluster")
    args = ap.parse_args()

    table = load("padme-run3")
    masses = np.round(np.arange(16.22, 17.7201, 0.02), 4)
    model = ScanModel.from_table(table, SignalModel(), masses)
    asym = AsymptoticCalculator(model)
    sizes = chunk_sizes(args.toys, CHUNK)
    tasks = [(model, asym.bonly.glob, asym.bonly.loc, n, s)
             for n, s in zip(sizes, task_seeds(args.seed, len(sizes)), strict=True)]
    print(f"campaign: {args.toys} background-only toys x {len(model.masses)} masses "
          f"({len(tasks)} tasks of {CHUNK}); load average {os.getloadavg()[0]:.1f}")

    t1, q1, f1 = campaign(SerialExecutor(), tasks)
    print(f"1 worker : {t1:8.1f} s  {args.toys / t1:8.0f} toys/s  "
          f"{args.toys * (len(model.masses) + 1) / t1:9.0f} fits/s  failed fits {f1}")
    with ProcessExecutor(2) as ex:
        t2, q2, f2 = campaign(ex, tasks)
    print(f"2 workers: {t2:8.1f} s  {args.toys / t2:8.0f} toys/s  speed-up {t1 / t2:.2f}x "
          f"(target >= 1.7x)  identical: {np.array_equal(q1, q2) and f1 == f2}")
    if args.dask:
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cl, \
                DaskExecutor(cl.scheduler_address) as ex:
            run_tasks(global_task, tasks[:2], executor=ex, progress=False)  # warm the workers
            t3, q3, f3 = campaign(ex, tasks)
        print(f"dask (2) : {t3:8.1f} s  {args.toys / t3:8.0f} toys/s  speed-up {t1 / t3:.2f}x  "
              f"identical: {np.array_equal(q1, q3) and f1 == f3}")
    u = float(asym.q0.max())
    k = int((q1 >= u).sum())
    print(f"observed max q0 = {u:.3f}; global p = {k / q1.size:.4f} ± "
          f"{np.sqrt(k) / q1.size:.4f} ({k} of {q1.size} toys)")


if __name__ == "__main__":
    main()
