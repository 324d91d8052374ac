"""Benchmark of the padme-run3 method (PADME Run III statistical treatment).

(a) the observed-limit grid, 76 masses x 40 couplings x 200 toys per hypothesis: 1.22 million
    S+B fits + 0.61 million background-only fits (PADME's count: 1.83 million fits, 512 s on
    one core with Minuit2). Prints fits per second and the speed-up against one iminuit
    (Migrad) fit of the same chi2 per toy, measured in this process on a sample.
(b) the adaptive ("root-finding") g mode on the same grid and seeds (identical toys at shared
    grid points): time and limit differences to (a), in units of the toy-statistics error.
(c) the complete analysis (observed limits + band from pseudo-experiments + p-values) with
    ``--pe`` pseudo-experiments on ``--workers`` processes; prints the time and the projection
    to 300 pseudo-experiments.

Timings are CPU seconds of this process (``time.process_time``) and wall seconds; on a shared
machine the wall time is noisy. Usage:

    python benchmarks/bench_padme_run3.py [--masses 76] [--toys 200] [--pe 20] [--workers 2]
                                          [--skip a,b,c] [--g-mode padme|adaptive]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import x17scan.data as xdata
from x17scan.parallel import task_seeds
from x17scan.stats.method import AnalysisOptions
from x17scan.stats.padme_run3 import PadmeRun3Method
from x17scan.stats.padme_run3.fit import fit_sb
from x17scan.stats.padme_run3.limits import upper_limits
from x17scan.stats.padme_run3.model import chi2_sb
from x17scan.stats.padme_run3.scan import evaluate_points, prepare


def _clock():
    return time.process_time(), time.perf_counter()


def _since(t):
    return time.process_time() - t[0], time.perf_counter() - t[1]


def iminuit_per_fit(method: PadmeRun3Method, n: int = 12) -> float:
    """CPU seconds of one Migrad S+B fit (default settings) on toys, averaged over ``n``."""
    from iminuit import Minuit

    pr = method.problem
    ss = np.random.SeedSequence(99)
    prep = prepare(pr, pr.data(), ss, n)
    masses = np.linspace(16.5, 17.3, n)
    gs = np.linspace(3e-4, 8e-4, n)
    fit = fit_sb(pr, np.broadcast_to(prep.r, (n, pr.n)), np.broadcast_to(prep.w, (n, pr.n)),
                 pr.e_res(masses), gs**2, pr.center, pr.center)
    def make(k):
        def f(th):
            return chi2_sb(th, prep.btoy_r[k], prep.btoy_w[k], pr, masses[k], gs[k])
        return f

    t = time.process_time()
    for k in range(n):
        m = Minuit(make(k), fit.theta[k].copy())
        m.errordef = 1.0
        m.migrad()
    return (time.process_time() - t) / n


def bench_grid(method, masses, n_toys, g_mode, seed):
    pr = method.problem
    ss = task_seeds(seed, 1)[0]
    prep = prepare(pr, pr.data(), ss, n_toys)
    evaluate_points(pr, prep, ss, float(masses[0]), pr.config.g_grid[:2], 4)   # JIT warm-up
    t = _clock()
    from x17scan.stats.padme_run3.scan import scan_mass

    pts = [scan_mass(pr, prep, ss, float(m), n_toys, g_mode) for m in masses]
    cpu, wall = _since(t)
    lim = upper_limits(np.asarray(masses), [p.graph(pr) for p in pts], pr.config)
    n_fits = sum(p.n_fits for p in pts)
    n_sb = sum(p.g.size * 2 * n_toys for p in pts)
    return {"cpu": cpu, "wall": wall, "n_fits": n_fits, "n_sb": n_sb, "lim": lim,
            "failed": sum(p.n_failed for p in pts), "retried": sum(p.n_retried for p in pts),
            "points": sum(p.g.size for p in pts)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--masses", type=int, default=76)
    ap.add_argument("--toys", type=int, default=200)
    ap.add_argument("--pe", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip", default="")
    ap.add_argument("--g-mode", default="padme", choices=("padme", "adaptive"),
                    help="g lattice of (c): PADME's 40 points or root-finding (observed and band)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    method = PadmeRun3Method(xdata.load("padme-run3"))
    masses = method.config.observed_masses[: args.masses]
    print(f"padme-run3 benchmark: {len(masses)} masses x {method.config.n_g} g x "
          f"{args.toys} toys per hypothesis")

    t_min = iminuit_per_fit(method)
    print(f"baseline: one iminuit Migrad S+B fit = {t_min * 1e3:.2f} ms CPU")
    res_a = None
    obs_cpu_a = None
    if "a" not in skip:
        res_a = bench_grid(method, masses, args.toys, "padme", 2025)
        a = res_a
        obs_cpu_a = a["cpu"] * 76 / len(masses)
        per_sb = a["cpu"] / a["n_sb"]
        print(f"(a) fixed grid: {a['points']} grid points, {a['n_fits']:,} fits "
              f"({a['n_sb']:,} S+B), {a['failed']} failed after retry, {a['retried']} retried")
        print(f"    CPU {a['cpu']:.1f} s, wall {a['wall']:.1f} s; "
              f"{a['n_fits'] / a['cpu']:,.0f} fits/s CPU; "
              f"{a['n_sb'] / a['cpu']:,.0f} S+B fits/s CPU")
        print(f"    speed-up vs iminuit per S+B fit: {t_min / per_sb:.0f}x "
              f"(PADME reference: 1.83e6 fits in 512 s with Minuit2)")
        if len(masses) == 76 and args.toys == 200:
            print(f"    observed grid: {a['cpu']:.1f} s CPU (target < 10 s)")
    if "b" not in skip:
        b = bench_grid(method, masses, args.toys, "adaptive", 2025)
        print(f"(b) adaptive g: {b['points']} grid points ({b['points'] / len(masses):.1f} per "
              f"mass), {b['n_fits']:,} fits, CPU {b['cpu']:.1f} s, wall {b['wall']:.1f} s")
        if res_a is not None:
            la, lb = res_a["lim"], b["lim"]
            ok = np.isfinite(la.limit) & np.isfinite(lb.limit)
            d = (lb.limit - la.limit)[ok]
            pull = d / la.limit_err[ok]
            print(f"    speed-up vs (a): {res_a['cpu'] / b['cpu']:.2f}x; limit(adaptive) - "
                  f"limit(fixed): mean {d.mean():.2e}, rms {d.std():.2e} "
                  f"(mean relative {np.mean(d / la.limit[ok]):+.2%}); in units of the "
                  f"toy-statistics error: mean {pull.mean():+.2f}, rms {pull.std():.2f}")
    if "c" not in skip:
        opts = AnalysisOptions(toys=args.toys, pseudo_experiments=args.pe, seed=7,
                               workers=args.workers, progress=False,
                               masses=masses,
                               extra={"g_grid": args.g_mode, "band_g_grid": args.g_mode})
        t = _clock()
        r = method.run(opts)
        _, wall = _since(t)
        dg = r.diagnostics
        band_wall = dg["timings"]["band_wall_s"]
        obs_wall = dg["timings"]["observed_wall_s"]
        proj = obs_wall + band_wall * 300 / max(args.pe, 1)
        band_cpu = dg["timings"]["band_cpu_s_in_tasks"]
        proj_cpu = (obs_cpu_a if res_a is not None else obs_wall) / args.workers + \
            band_cpu * 300 / max(args.pe, 1) / args.workers
        print(f"(c) full analysis ({args.g_mode} g), {args.pe} pseudo-experiments on "
              f"{args.workers} workers: "
              f"wall {wall:.1f} s (observed {obs_wall:.1f} s, band {band_wall:.1f} s; band "
              f"CPU in workers {band_cpu:.1f} s = {band_cpu / max(args.pe, 1):.1f} s per "
              f"pseudo-experiment)")
        print(f"    projected time for 300 pseudo-experiments: {proj / 60:.1f} min from this "
              f"wall time; {proj_cpu / 60:.1f} min from the CPU time with {args.workers} "
              f"dedicated cores (target < 15 min on 2 cores)")
        ex = r.excess
        if ex:
            print(f"    largest deviation at {ex['mass_MeV']:.2f} MeV: Z_local "
                  f"{ex['z_local']:.2f}, Z_global {ex['z_global']:.2f} ({args.pe} PEs)")


if __name__ == "__main__":
    main()
