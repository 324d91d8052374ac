"""Benchmark of the profile method (x17scan.stats), with baselines run in the same process.

1. Batched fitter: fits per second on PADME-table toys (free fits at mixed masses) against one
   iminuit (Migrad) fit per toy of the same likelihood -> speed-up (target >= 100x).
2. One CLs upper limit with toys at one mass: x17scan's ToyCalculator against pyhf's
   toy-based ``hypotest`` on the equivalent pyhf model (``x17scan.stats.pyhf_model``), both
   scaled to the same number of toys and mu points -> speed-up (target >= 10x).
3. ``ProfileMethod.run`` on the PADME Run III table: asymptotic (target < 10 s) and default
   toys (target < 5 min); wall and CPU time.

Run: ``python benchmarks/bench_profile.py [--quick] [--workers N] [--skip-default]``.
Timings on a shared machine are noisy; CPU times are printed next to wall times.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

import numpy as np


def cpu_s() -> float:
    """CPU time of this process and its finished children (s)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def bench_fitter(table, n_toys: int, n_minuit: int) -> dict:
    from iminuit import Minuit

    from x17scan.stats.fit import minimize, objective
    from x17scan.stats.likelihood import ScanModel
    from x17scan.stats.signal import SignalModel

    masses = np.round(16.22 + 0.02 * np.arange(76), 4)
    m = ScanModel.from_table(table, SignalModel(), masses)
    obs = m.observed()
    b0 = minimize(m, obs, 0, 0.0)
    rng = np.random.default_rng(1)
    toys = m.sample(np.repeat(b0.glob, n_toys, 0), np.repeat(b0.loc, n_toys, 0),
                    np.zeros(n_toys, int), rng)
    midx = rng.integers(0, masses.size, n_toys)
    minimize(m, toys.take(np.arange(10)), midx[:10])          # compile / load the kernels
    t0, c0 = time.perf_counter(), cpu_s()
    res = minimize(m, toys, midx)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    batched = n_toys / wall
    G, n, L = m.n_glob, m.n_points, m.n_loc
    scale = 1e-7
    agree = []
    t1 = time.perf_counter()
    def make_nll(d, j):
        def f(v):
            g = v[:G][None].copy()
            g[0, 0] *= scale
            return objective(m, g, v[G:].reshape(1, n, L), d, [j])[0]
        return f

    for i in range(n_minuit):
        f = make_nll(toys.take([i]), midx[i])
        v0 = np.zeros(G + n * L)
        v0[1] = 1.0
        mi = Minuit(f, v0)
        mi.errordef = 0.5
        mi.migrad()
        agree.append(mi.fval - res.deviance[i])
    per_minuit = (time.perf_counter() - t1) / n_minuit
    return {"toys": n_toys, "batched_fits_per_s": batched, "batched_cpu_us_per_fit":
            1e6 * cpu / n_toys, "iminuit_fits_per_s": 1.0 / per_minuit,
            "speedup": batched * per_minuit, "failed": res.n_failed,
            "max_nll_excess_of_migrad": float(np.max(agree))}


def bench_cls_limit(table, n_toys: int, n_toys_pyhf: int) -> dict:
    import pyhf

    from x17scan.parallel import SerialExecutor
    from x17scan.stats.calculators import AsymptoticCalculator, ToyCalculator, ToySettings
    from x17scan.stats.likelihood import ScanModel
    from x17scan.stats.pyhf_model import pyhf_model, workspace
    from x17scan.stats.signal import SignalModel

    mass = 16.9
    sm = SignalModel()
    m = ScanModel.from_table(table, sm, [mass])
    t0, c0 = time.perf_counter(), cpu_s()
    asym = AsymptoticCalculator(m)
    lims = (asym.upper_limits()[0], asym.expected_limits()[0])
    tc = ToyCalculator(asym, ToySettings(n_b=n_toys, n_sb=n_toys, n_mu=8, chunk_b=n_toys,
                                         chunk_sb=n_toys), seed=1, executor=SerialExecutor(),
                       asym_limits=lims)
    tc.run()
    lim = tc.upper_limits()
    ours = time.perf_counter() - t0
    ours_cpu = cpu_s() - c0
    # pyhf: toy-based hypotest at the same mu points, fewer toys (scaled up linearly)
    ws, info = workspace(table, sm, mass, with_info=True)
    model, data = pyhf_model(ws)
    mu_points = tc.mu_grid[0] / info["mu_ref"]
    n_pts = 2 if n_toys_pyhf > 3 else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t1 = time.perf_counter()
        cls_pyhf = []
        for mu in mu_points[[3, 5]][:n_pts]:
            # what pyhf.infer.hypotest(calctype="toybased") does, minus its expected-CLs
            # step, which pyhf 0.7.6 cannot run with numpy >= 2 (np.percentile lost the
            # 'interpolation' keyword)
            calc = pyhf.infer.utils.create_calculator(
                "toybased", data, model, ntoys=n_toys_pyhf, test_stat="qtilde",
                track_progress=False)
            q = calc.teststatistic(mu)
            sb, b = calc.distributions(mu)
            cls_pyhf.append(float(calc.pvalues(q, sb, b)[2]))
        t_pyhf = time.perf_counter() - t1
    # pyhf's hypotest draws ntoys signal+background and ntoys background-only toys per mu
    per_toy_mu = t_pyhf / (n_pts * n_toys_pyhf)
    pyhf_equiv = per_toy_mu * n_toys * mu_points.size
    return {"mass_MeV": mass, "toys_per_hypothesis": n_toys, "mu_points": int(mu_points.size),
            "x17scan_s": ours, "x17scan_cpu_s": ours_cpu,
            "g_limit_toys": float(np.sqrt(lim["observed"][0])),
            "g_limit_asymptotic": float(np.sqrt(lims[0][0])),
            "pyhf_toys_measured": n_toys_pyhf, "pyhf_s_measured": t_pyhf,
            "pyhf_s_scaled": pyhf_equiv, "speedup": pyhf_equiv / ours,
            "cls_pyhf_at_2_mu": cls_pyhf,
            "cls_x17scan_at_2_mu": tc.cls_grid()["cls"][0, [3, 5]].tolist()}


def bench_method(table, asymptotic: bool, workers: int) -> dict:
    from x17scan.stats.method import AnalysisOptions
    from x17scan.stats.profile import ProfileMethod

    t0, c0 = time.perf_counter(), cpu_s()
    res = ProfileMethod(table).run(AnalysisOptions(asymptotic=asymptotic, seed=1,
                                                   workers=workers, progress=False))
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    ex = res.excess
    obs = np.array(res.limits["observed"], float)
    return {"asymptotic": asymptotic, "workers": workers, "wall_s": wall, "cpu_s": cpu,
            "fits": res.diagnostics["fits"], "failed_fits": res.diagnostics["failed_fits"],
            "excess_mass_MeV": ex["mass_MeV"], "z_local": ex["z_local"],
            "z_global": ex["z_global"], "p_global": ex["p_global"],
            "p_global_err": ex.get("p_global_err"), "g_limit_min": float(obs.min()),
            "g_limit_max": float(obs.max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer toys everywhere")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--skip-default", action="store_true", help="skip the default toy run")
    args = ap.parse_args()
    import x17scan.data as data

    table = data.load("padme-run3")
    print(f"load average at start: {os.getloadavg()}")
    f = bench_fitter(table, 2000 if args.quick else 8000, 5 if args.quick else 20)
    print(f"[fitter] batched: {f['batched_fits_per_s']:.0f} fits/s "
          f"({f['batched_cpu_us_per_fit']:.1f} us CPU/fit, {f['failed']} failed); "
          f"iminuit: {f['iminuit_fits_per_s']:.2f} fits/s; speed-up x{f['speedup']:.0f} "
          f"(target >= 100); Migrad minus batched NLL, max {f['max_nll_excess_of_migrad']:.2e}")
    c = bench_cls_limit(table, 300 if args.quick else 1000, 3 if args.quick else 5)
    print(f"[CLs limit, M = {c['mass_MeV']} MeV, {c['toys_per_hypothesis']} toys x "
          f"{c['mu_points']} mu] x17scan {c['x17scan_s']:.1f} s (CPU {c['x17scan_cpu_s']:.1f} s)"
          f"; pyhf {c['pyhf_s_measured']:.1f} s for {c['pyhf_toys_measured']} toys x "
          f"{len(c['cls_pyhf_at_2_mu'])} mu -> "
          f"{c['pyhf_s_scaled']:.0f} s scaled; speed-up x{c['speedup']:.0f} (target >= 10); "
          f"g_UL toys {c['g_limit_toys']:.3e} vs asymptotic {c['g_limit_asymptotic']:.3e}; "
          f"(pyhf's CLs from so few toys is not meaningful: timing only)")
    a = bench_method(table, True, 1)
    print(f"[run asymptotic] {a['wall_s']:.1f} s wall, {a['cpu_s']:.1f} s CPU (target < 10 s); "
          f"excess at {a['excess_mass_MeV']} MeV, Z_loc {a['z_local']:.2f}, "
          f"Z_glob {a['z_global']:.2f}; g_UL {a['g_limit_min']:.2e}..{a['g_limit_max']:.2e}")
    if not args.skip_default:
        d = bench_method(table, False, args.workers)
        print(f"[run default toys, {d['workers']} workers] {d['wall_s']:.0f} s wall, "
              f"{d['cpu_s']:.0f} s CPU (target < 300 s); {d['fits']} fits, "
              f"{d['failed_fits']} failed; Z_loc {d['z_local']:.2f}, Z_glob {d['z_global']:.2f} "
              f"(p {d['p_global']:.3f} +- {d['p_global_err']:.3f}); "
              f"g_UL {d['g_limit_min']:.2e}..{d['g_limit_max']:.2e}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
