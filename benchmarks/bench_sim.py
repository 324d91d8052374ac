"""Throughput and memory of the fast simulation:
``python benchmarks/bench_sim.py [--quick] [--skip-window] [--skip-memory]``.

Everything runs at one point of the Run III plan (P09, E_beam ~ 282 MeV, 100 um diamond) with
the pipeline's own pieces (``x17scan.sim.pipeline``: generators, pile-up, ``reco.process``):

1. stages on one core, in this process: each generator (Bhabha, gamma gamma, signal at
   M = sqrt(s), halo), the pile-up, the detector + reconstruction + selection, and whole
   chunks as the pipeline runs them (``run_task``) for each process and for the task mix of a
   scan point (build_tasks: Bhabha, gamma gamma and signal chunks of equal size, halo 10 %);
2. baselines computed in this process: a naive per-event Python loop (Bhabha kinematics only:
   beam energy, inverse-CDF cos, exact boost) and the previous vectorised numpy implementation
   of the Bhabha generator (same physics as the kernel, reproduced below);
3. the scan-point chain on 1 and 2 worker processes (pool started and warmed before timing),
   1e6 events per process (3.1e6 in all, ~3 s on 2 workers): with 50k-event tasks the last
   task of a short run leaves a worker idle for a sizeable part of it (300k per process, 19
   tasks: 5-10 % lower and noisier figures), which a long simulation amortises;
4. the peak resident memory of whole ``simulate`` runs of increasing length in fresh
   processes, with the linear extrapolation to 1e8 events, and their end-to-end rates
   (worker start-up, plan checks and aggregation included).

The machine is shared: every figure comes with the CPU time per event (process time of the
process(es) doing the work, less sensitive to the load than wall time) and the load average.
Rates are best of ``repeat`` runs. Run with PYTHONPATH pointing at another source tree to get
the same table for another version (the baselines do not depend on the tree).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

M_E = 0.51099895


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best CPU (process time) and best wall seconds of ``repeat`` calls, last result."""
    cpu, wall, out = math.inf, math.inf, None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        cpu = min(cpu, time.process_time() - c)
        wall = min(wall, time.perf_counter() - w)
    return cpu, wall, out


def scan_point(n: int, chunk: int):
    from x17scan.beam import load_plan
    from x17scan.sim.pipeline import SimOptions

    plan = load_plan("run3")
    plan = plan.replace(points=tuple(p for p in plan.points if p.label == "P09"))
    opts = SimOptions(events_per_point=n, chunk_size=chunk, write_events="none")
    return plan, opts


# -- baselines -------------------------------------------------------------------------------
def naive_bhabha(n: int, gen, rng: np.random.Generator) -> list:
    """Per-event Python loop: beam energy, inverse-CDF cos, exact boost (no target, no
    electron motion: a lower bound on the cost of a per-event loop)."""
    out = []
    for _ in range(n):
        e = gen.beam.e_mean + gen.beam.sigma_e * rng.standard_normal()
        p = math.sqrt(e * e - M_E * M_E)
        c = float(np.interp(rng.random(), gen.cdf, gen.grid))
        phi = 2 * math.pi * rng.random()
        w = math.sqrt(2 * M_E * M_E + 2 * M_E * e)
        bz = p / (e + M_E)
        g = 1 / math.sqrt(1 - bz * bz)
        ps = math.sqrt(w * w / 4 - M_E * M_E)
        s = math.sqrt(1 - c * c)
        parts = []
        for sign in (1, -1):
            px, py, pz = sign * ps * s * math.cos(phi), sign * ps * s * math.sin(phi), sign * ps * c
            es = w / 2
            parts.append((g * (es + bz * pz), px, py, g * (pz + bz * es)))
        out.append(parts)
    return out


def _np_traverse(e, d, path, target, rng, positron):
    """The previous numpy passage through the target (Highland scattering at the entry
    energy, collision loss, Bethe-Heitler Gamma law with numpy's gamma sampler)."""
    from x17scan.sim.target import collision_dedx, highland_theta0, orthonormal_basis

    p = np.sqrt(np.maximum(e * e - M_E * M_E, 0.0))
    th = highland_theta0(p, p / e, path / target.material.x0_mm)
    u, v = orthonormal_basis(d)
    ang = rng.standard_normal((d.shape[0], 2)) * th[:, None]
    out = d + np.tan(ang[:, :1]) * u + np.tan(ang[:, 1:]) * v
    out /= np.linalg.norm(out, axis=1)[:, None]
    e1 = e - collision_dedx(e, target, positron) * path
    e1 = e1 * np.exp(-rng.gamma(np.maximum(4 / 3 * path / target.material.x0_mm, 0.0)))
    return np.maximum(e1, M_E * (1 + 1e-9)), out


def numpy_bhabha(n: int, gen, rng: np.random.Generator) -> dict:
    """The previous vectorised numpy Bhabha generator (accept-reject in batches; same
    physics as the fused kernel), for the speed ratio."""
    from x17scan.physics import xsec
    from x17scan.sim.kinematics import two_body
    from x17scan.sim.target import bunch_times, sample_beam

    beam, mot, tgt = gen.beam, gen.motion, gen.beam.target
    need, parts = n, []
    while need > 0:
        m = int(need * 1.15) + 16
        xy, d0, e0 = sample_beam(m, beam, rng)
        z = tgt.thickness * rng.random(m)
        path = z / d0[:, 2]
        e, d = _np_traverse(e0, d0, path, tgt, rng, True)
        pz = mot.sample_pz(rng.random(m))
        pe = mot.momentum(pz, d, rng)
        pp = np.sqrt(np.maximum(e * e - M_E * M_E, 0.0))[:, None] * d
        tot_e, tot_p = e + M_E, pp + pe
        w = np.sqrt(np.maximum(tot_e**2 - np.einsum("ij,ij->i", tot_p, tot_p), 0.0))
        sig = np.zeros(m)
        ok = w > 2.001 * M_E
        sig[ok] = xsec.sigma_bhabha(w[ok], gen.c_gen)
        idx = np.flatnonzero(rng.random(m) * gen.sigma_env < sig)[:need]
        vtx = np.column_stack([xy + d0[:, :2] * path[:, None], z])
        parts.append((vtx[idx], z[idx], e[idx], pp[idx], tot_e[idx], tot_p[idx], w[idx]))
        need -= idx.size
    vtx, z, e, pp, tot_e, tot_p, w = (np.concatenate([p[k] for p in parts]) for k in range(7))
    c = np.interp(rng.random(n), gen.cdf, gen.grid)
    ea, pa, eb, pb = two_body(tot_e, tot_p, (e, pp), c, 2 * np.pi * rng.random(n), M_E)
    out = {}
    for name, (en, p, pos) in {"e+": (ea, pa, True), "e-": (eb, pb, False)}.items():
        pm = np.linalg.norm(p, axis=1)
        dd = p / pm[:, None]
        e2, d2 = _np_traverse(en, dd, (tgt.thickness - z) / np.maximum(dd[:, 2], 1e-3), tgt,
                              rng, pos)
        out[name] = (e2, np.sqrt(np.maximum(e2 * e2 - M_E * M_E, 0.0))[:, None] * d2)
    out["t0"] = bunch_times(n, beam, rng)
    out["vertex"] = vtx
    return out


def two_poisson_pileup(n: int, beam, rates, rng: np.random.Generator) -> list:
    """The previous draw of the pile-up counts: O ~ Poisson(positrons per bunch) other
    positrons per primary, then Poisson(O lambda) interactions, and the process of each."""
    lam = sum(r for _, r in rates)
    k = rng.poisson(rng.poisson(beam.positrons_per_bunch, size=n) * lam)
    owners = np.repeat(np.arange(n), k)
    which = rng.choice(len(rates), size=owners.size, p=np.array([r for _, r in rates]) / lam)
    return [(name, owners[which == i]) for i, (name, _) in enumerate(rates)]


# -- stages on one core ----------------------------------------------------------------------
def bench_stages(n: int, repeat: int) -> dict[str, tuple[float, float]]:
    """{stage: (CPU us/event, wall events/s)} on one core."""
    from x17scan.reco import process
    from x17scan.sim.pipeline import (
        _detector,
        _draw_pileup,
        _generator,
        _selection,
        add_pileup,
        build_tasks,
        run_task,
    )
    from x17scan.sim.target import BeamSetup

    plan, opts = scan_point(n, n)
    pt = plan.points[0]
    beam = BeamSetup.from_plan(plan, pt)
    tasks = build_tasks(plan, opts, None)
    rng = np.random.default_rng(1)
    out: dict[str, tuple[float, float]] = {}

    def rec(name: str, fn, events: int) -> object:
        cpu, wall, res = timed(fn, repeat)
        out[name] = (cpu / events * 1e6, events / wall)
        return res

    gens = {"bhabha": _generator("bhabha", beam, opts.motion, None, opts.spin),
            "gg": _generator("gg", beam, opts.motion, None, opts.spin),
            "signal": _generator("signal", beam, opts.motion, round(pt.sqrt_s, 9), opts.spin),
            "halo": _generator("halo", beam, opts.motion, None, opts.spin)}
    for g in gens.values():
        g.generate(100, rng)  # numba cache / compile
    evs = {}
    for name, g in gens.items():
        evs[name], _ = rec(f"generate {name}", lambda g=g: g.generate(n, rng), n)
    rates = tasks[0].pileup_rates
    rec("pile-up counts (inverse CDF, per primary)",
        lambda: _draw_pileup(n, beam, rates, rng), n)
    rec("baseline: previous pile-up counts (two Poisson)",
        lambda: two_poisson_pileup(n, beam, rates, rng), n)
    ev_pu = rec("pile-up (add_pileup, per primary)",
                lambda: add_pileup(evs["bhabha"], beam, rates, opts.motion, rng), n)
    det, sel = _detector(opts.detector), _selection(opts.selection)
    process(ev_pu, det, sel, pt.e_beam, rng)
    rec("detector+reco+selection (per primary)",
        lambda: process(ev_pu, det, sel, pt.e_beam, rng), n)
    run_task(tasks[0])
    mix_cpu = mix_wall = 0.0
    mix_n = 0
    for proc in ("bhabha", "gg", "signal", "halo"):
        t = next(t for t in tasks if t.process == proc)
        cpu, wall, _ = timed(lambda t=t: run_task(t), repeat)
        out[f"chain {proc} (run_task)"] = (cpu / t.n * 1e6, t.n / wall)
        k = sum(tt.n for tt in tasks if tt.process == proc) / t.n
        mix_cpu += k * cpu
        mix_wall += k * wall
        mix_n += int(k * t.n)
    out["chain, scan-point task mix"] = (mix_cpu / mix_n * 1e6, mix_n / mix_wall)
    nn = max(n // 20, 2000)
    gen = gens["bhabha"]
    rec("baseline: naive Python loop (Bhabha)", lambda: naive_bhabha(nn, gen, rng), nn)
    rec("baseline: previous numpy generator (Bhabha)", lambda: numpy_bhabha(n, gen, rng), n)
    return out


# -- worker processes ------------------------------------------------------------------------
def _warm(chunk: int) -> None:
    """Worker initializer: compiled kernels loaded and one full-size chunk of every process
    run, so the heap has grown to its working size (the first chunk of a process page-faults
    its arrays in: +50-70 % on that chunk, a one-off that a long run amortises)."""
    from x17scan.sim.pipeline import build_tasks, run_task

    plan, opts = scan_point(chunk, chunk)
    for t in build_tasks(plan, opts, None):
        run_task(t)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _timed_task(task) -> tuple[float, int]:
    from x17scan.sim.pipeline import run_task

    c = time.process_time()
    run_task(task)
    return time.process_time() - c, task.n


def bench_workers(n: int, chunk: int, workers: int) -> tuple[float, float, int, str]:
    """The scan-point chain (all tasks of one point, ``n`` events per process) on warm worker
    processes: (events/s wall, CPU us/event in the workers, events, load)."""
    from x17scan.sim.pipeline import build_tasks

    plan, opts = scan_point(n, chunk)
    tasks = build_tasks(plan, opts, None)
    # interleave processes so both workers always have chunks of every kind
    tasks.sort(key=lambda t: (t.chunk, t.process))
    with ProcessPoolExecutor(workers, initializer=_warm, initargs=(chunk,)) as pool:
        # all workers up and warm: each of ``workers`` simultaneous sleeps ran in its own process
        while len(set(pool.map(_pid_after, [0.5] * workers))) < workers:
            pass
        before = load()
        w = time.perf_counter()
        res = list(pool.map(_timed_task, tasks))
        wall = time.perf_counter() - w
    events = sum(r[1] for r in res)
    return events / wall, sum(r[0] for r in res) / events * 1e6, events, \
        f"{before} -> {load()}"


# -- generation window -----------------------------------------------------------------------
R_WIDE = 420.0
R_TEST = (340.0, 345.0, 350.0, 360.0)


def bench_window(n: int) -> list[str]:
    """Is the generation window safe, and how tight could it be? Events generated with a wider
    window (both bodies within R_WIDE at the ECal for nominal kinematics) go through the
    detector and both shipped selections; count the selected ones a window of radius R would
    not have generated (electron motion and beam spread move events across the nominal edge)
    and the fraction of the generated events it keeps (its cost)."""
    from x17scan.physics.constants import M_E as ME
    from x17scan.reco import Selection, process
    from x17scan.sim.detector import DetectorConfig
    from x17scan.sim.generators import (
        R_GEN,
        BackgroundGenerator,
        SignalGenerator,
        generation_window,
    )
    from x17scan.sim.target import BeamSetup

    plan, _ = scan_point(n, n)
    pt = plan.points[0]
    beam = BeamSetup.from_plan(plan, pt)
    det = DetectorConfig.default_run3()
    rows = [f"current R_GEN = {R_GEN:.0f} mm; columns R = {', '.join(f'{r:.0f}' for r in R_TEST)}"
            " mm"]
    for proc in ("bhabha", "gg", "signal"):
        if proc == "signal":
            gen = SignalGenerator(beam, pt.sqrt_s, r_gen=R_WIDE)
            cuts = [generation_window(beam.e_mean, ME, parent_mass=pt.sqrt_s, r_gen=r)
                    for r in R_TEST]
        else:
            gen = BackgroundGenerator(proc, beam, r_gen=R_WIDE)
            m = ME if proc == "bhabha" else 0.0
            cuts = [generation_window(beam.e_mean, m, r_gen=r) for r in R_TEST]
        ev, _ = gen.generate(n, np.random.default_rng(3))
        c = np.abs(ev.cos_theta_star)
        kept = ", ".join(f"{np.mean(c < cut):.3f}" for cut in cuts)
        for name in ("padme-run3-inferred", "padme-run3-window"):
            sel = process(ev, det, Selection.load(name), pt.e_beam, 4).two_cluster
            lost = ", ".join(str(int(np.sum(c[sel] > cut))) for cut in cuts)
            rows.append(f"{proc:7s} {name:20s} selected {int(sel.sum()):8,d}; beyond c_gen(R): "
                        f"{lost}; generated fraction kept: {kept}")
    return rows


# -- memory ------------------------------------------------------------------------------------
_CHILD = """
import resource, sys, json, time
from x17scan.beam import load_plan
from x17scan.sim.pipeline import SimOptions, simulate
plan = load_plan("run3")
plan = plan.replace(points=tuple(p for p in plan.points if p.label == "P09"))
n, workers, chunk = int(sys.argv[1]), int(sys.argv[3]), int(sys.argv[4])
def cpu():
    a, b = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
c, w = cpu(), time.perf_counter()
res = simulate(SimOptions(events_per_point=n, chunk_size=chunk, write_events="none"),
               sys.argv[2], plan=plan, progress=False, fresh=True, workers=workers)
w, c = time.perf_counter() - w, cpu() - c
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"events": int(res.info["events_generated"]), "self_mb": me,
                  "child_mb": kids if workers > 1 else 0.0, "wall": w, "cpu": c}))
"""


def bench_memory(sizes: list[int], chunk: int, tmp: str, workers: int) -> list[dict]:
    rows = []
    for n in sizes:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(n), f"{tmp}/mem{n}_{workers}",
                            str(workers), str(chunk)], capture_output=True, text=True,
                           check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return rows


def main() -> None:
    import tempfile

    quick = "--quick" in sys.argv
    n = 20_000 if quick else 100_000
    repeat = 2 if quick else 4
    import x17scan

    print(f"# x17scan fast simulation benchmark ({x17scan.__file__}), scan point P09 "
          f"(Run III plan), chunks of {n} events; {os.cpu_count()} CPUs, {load()}")
    print(f"{'stage (1 core)':46s} {'CPU us/event':>13s} {'events/s wall':>15s}")
    st = bench_stages(n, repeat)
    for k, (cpu, wall) in st.items():
        print(f"{k:46s} {cpu:13.3f} {wall:15,.0f}")
    chain = st["chain, scan-point task mix"][0]
    bh = st["generate bhabha"][0]
    naive = st["baseline: naive Python loop (Bhabha)"][0]
    old = st["baseline: previous numpy generator (Bhabha)"][0]
    print(f"Bhabha generator speed-up (CPU): x{naive / bh:,.1f} vs the naive loop, "
          f"x{old / bh:.1f} vs the previous numpy implementation")
    pu_new = st["pile-up counts (inverse CDF, per primary)"][0]
    pu_old = st["baseline: previous pile-up counts (two Poisson)"][0]
    print(f"pile-up counts: x{pu_old / pu_new:.1f} vs the two Poisson steps "
          f"({(pu_old - pu_new) / chain * 100:.1f} % of the chain's CPU per event saved)")
    print(f"whole chain (scan-point mix) vs naive loop (generation alone): x{naive / chain:.1f}; "
          f"CPU-bound rate {1 / chain:.2f} M events/s per core = {2 / chain:.2f} M events/s on "
          f"2 free cores")
    print(f"# scan-point chain on worker processes (warm pools), {load()}")
    nw = 60_000 if quick else 1_000_000
    for w in (1, 2):
        rate, cpu, events, ld = bench_workers(nw, 25_000 if quick else 50_000, w)
        print(f"{w} worker(s): {rate:12,.0f} events/s wall, {cpu:.3f} CPU us/event "
              f"({events:,d} events; {ld})")
    if "--skip-window" not in sys.argv:
        print(f"# generation window: selected events beyond c_gen(R) in a generation with R = "
              f"{R_WIDE:.0f} mm, {load()}")
        for row in bench_window(60_000 if quick else 400_000):
            print(row)
    if "--skip-memory" in sys.argv:
        return
    sizes = [20_000, 80_000] if quick else [100_000, 400_000, 1_600_000]
    chunk = 10_000 if quick else 50_000
    print(f"# peak RSS of simulate runs (point P09: Bhabha, gamma gamma, signal, halo, pile-up; "
          f"{chunk} event chunks), {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            rows = bench_memory(sizes, chunk, tmp, workers)
            for r in rows:
                tot = r["self_mb"] + workers * r["child_mb"] if workers > 1 else r["self_mb"]
                print(f"workers {workers}: events {r['events']:>10,d}   peak RSS main "
                      f"{r['self_mb']:7.1f} MB, largest worker {r['child_mb']:7.1f} MB, "
                      f"total <= {tot:7.1f} MB; simulate end to end {r['events'] / r['wall']:,.0f}"
                      f" events/s wall, {r['cpu'] / r['events'] * 1e6:.2f} CPU us/event")
            ev = np.array([r["events"] for r in rows], float)
            mb = np.array([r["self_mb"] + workers * r["child_mb"] for r in rows])
            slope = max((mb[-1] - mb[-2]) / (ev[-1] - ev[-2]), 0.0)
            print(f"workers {workers}: growth {slope * 1e6:+.2f} MB per 1e6 events between the "
                  f"two longest runs -> {mb[-1] + slope * (1e8 - ev[-1]):.0f} MB extrapolated "
                  f"to 1e8 events")


if __name__ == "__main__":
    main()
