"""Benchmark of the detector response, clustering and selection (x17scan.sim.detector,
x17scan.reco).

Sample: toy two-body final states at E_beam = 282.2 MeV (half e+e-, half gamma gamma), uniform in
|cos theta*| < 0.4, i.e. both bodies within ~400 mm of the axis as the generators' window.
Baseline, computed in the same process: the pure-Python reference clustering
(x17scan.reco.cluster_reference) on a small sample. Printed: events per second (CPU time of this
process, so the figures do not depend on what else runs on the machine; wall time is shown too)
for each stage and for the whole reconstruction, as ratios to the baseline; then the whole
chain with the physics generators (Bhabha, x17scan.sim.generators) on one core and on two worker
processes (wall time). Run: python benchmarks/bench_reco.py [n_events]
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from x17scan.reco import Selection, cluster, cluster_reference, process, reconstruct, select
from x17scan.reco.toys import two_body
from x17scan.sim.detector import DetectorConfig, respond
from x17scan.sim.events import TruthEvents

E_BEAM = 282.22


def sample(n: int, seed: int = 1) -> TruthEvents:
    rng = np.random.default_rng(seed)
    ee = two_body(n // 2, E_BEAM, rng, final="ee", cos_max=0.4)
    gg = two_body(n - n // 2, E_BEAM, rng, final="gg", cos_max=0.4)
    ev = TruthEvents.concatenate([ee, gg])
    return TruthEvents(**{**{f: getattr(ev, f) for f in ("process", "vertex", "t0", "pdg", "p",
                                                         "e", "e_beam", "sqrt_s",
                                                         "cos_theta_star")},
                          "bunch": np.arange(n)})


def timed(fn, repeat: int = 3) -> tuple[float, float, object]:
    """Best (CPU, wall) seconds of ``repeat`` calls, and the last result."""
    cpu, wall, out = [], [], None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return min(cpu), min(wall), out


def _chain_task(args):
    n, seed = args
    from x17scan.physics.constants import DIAMOND_100UM
    from x17scan.sim.generators import BackgroundGenerator
    from x17scan.sim.target import BeamSetup

    beam = BeamSetup(e_mean=E_BEAM, sigma_e=0.0025 * E_BEAM, target=DIAMOND_100UM)
    rng = np.random.default_rng(seed)
    gen = BackgroundGenerator("bhabha", beam)
    cfg, sel = DetectorConfig.default_run3(), Selection.preset()
    t = time.process_time()
    ev, _ = gen.generate(n, rng)
    t_gen = time.process_time() - t
    r = process(ev, cfg, sel, E_BEAM, rng)
    return t_gen, time.process_time() - t - t_gen, int(r.two_cluster.sum())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    cfg, sel = DetectorConfig.default_run3(), Selection.preset()
    ev = sample(n)
    small = sample(2000, seed=2)
    process(small, cfg, sel, E_BEAM, 0)  # compile (or load the numba cache)
    cluster(respond(small, cfg, 0), sel.clustering)

    hits_small = respond(small, cfg, 3)
    t0 = time.process_time()
    for i in range(len(hits_small)):
        a, b = hits_small.offsets[i], hits_small.offsets[i + 1]
        cluster_reference(hits_small.crystal[a:b], hits_small.energy[a:b],
                          hits_small.time[a:b], cfg, sel.clustering)
    base = len(small) / (time.process_time() - t0)

    c_resp, w_resp, hits = timed(lambda: respond(ev, cfg, 3))
    c_clu, w_clu, cl = timed(lambda: cluster(hits, sel.clustering))
    c_sel, w_sel, _ = timed(lambda: select(cl, sel, E_BEAM))
    c_rec, w_rec, _ = timed(lambda: reconstruct(ev, cfg, sel.clustering, 3))
    c_all, w_all, res = timed(lambda: process(ev, cfg, sel, E_BEAM, 3))
    print(f"bench_reco: {n} toy two-body events (E_beam {E_BEAM} MeV, half ee, half gg), "
          f"{len(hits.energy) / n:.1f} hits and {len(cl.energy) / n:.2f} clusters per event, "
          f"{res.two_cluster.mean():.3f} selected")
    print(f"baseline: pure-Python reference clustering {base:,.0f} events/s (CPU)")
    rows = [("detector response (respond)", c_resp, w_resp),
            ("clustering (cluster, on stored hits)", c_clu, w_clu),
            ("selection (select)", c_sel, w_sel),
            ("response + clustering fused (reconstruct)", c_rec, w_rec),
            ("all together (process)", c_all, w_all)]
    for name, c, w in rows:
        print(f"  {name:44s} {n / c:>12,.0f} events/s CPU ({n / w:>12,.0f} wall)   "
              f"x{n / c / base:,.0f} baseline")

    try:
        import x17scan.sim.generators  # noqa: F401
    except ImportError:
        return
    chunk = max(n // 4, 1000)
    t_gen, t_reco, _ = _chain_task((chunk, 11))
    t_gen, t_reco, _ = _chain_task((chunk, 12))
    per_core = chunk / (t_gen + t_reco)
    print(f"whole chain, Bhabha generator + process, one core: {per_core:,.0f} events/s CPU "
          f"(generation {chunk / t_gen:,.0f}/s, reconstruction {chunk / t_reco:,.0f}/s)")
    workers = min(2, os.cpu_count() or 1)
    tasks = [(chunk, 100 + i) for i in range(4 * workers)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_chain_task, tasks[:workers]))  # warm the workers
        w = time.perf_counter()
        out = list(pool.map(_chain_task, tasks))
        wall = time.perf_counter() - w
    total = chunk * len(tasks)
    print(f"whole chain on {workers} worker processes: {total / wall:,.0f} events/s wall "
          f"({total} events, {sum(o[2] for o in out)} selected); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
