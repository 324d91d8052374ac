"""Benchmark of ``x17scan sensitivity`` / ``x17scan plan`` (asymptotic).

(a) The full Run III plan (42 fit points), 70 masses 16.22-17.60 MeV: expected band (5
    quantiles) + local and global 3/5 sigma discovery reach, for the profile model (Voigt line
    shape) and PADME's model. Wall and CPU seconds, first call (numba JIT) and warm.
    Target: < 5 s for the full plan.
(b) Baseline in the same process: the profile method's own expected band
    (``AsymptoticCalculator.expected_limits``: log-bisection, ~30 batched fits) on the same
    model; printed as the speed-up ratio of the secant solver and the largest relative
    difference of the two bands.
(c) ``x17scan plan``'s optimisation (Fisher allocation) for the follow-up around 16.9 MeV.

    python benchmarks/bench_sensitivity.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def clock():
    return time.perf_counter(), time.process_time()


def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import x17scan.data as xd
    from x17scan.beam import load_plan
    from x17scan.cli.cmd_sensitivity import plan_inputs
    from x17scan.stats import sensitivity as S
    from x17scan.stats.calculators import AsymptoticCalculator
    from x17scan.stats.likelihood import ScanModel

    ref = S.ReferenceCurves.from_table(xd.load("padme-run3"))
    inputs = plan_inputs(load_plan("run3"))
    table = inputs.table(ref)
    masses = np.round(16.22 + 0.02 * np.arange(70), 10)
    print(f"plan run3: {inputs.e_beam.size} points, {masses.size} masses")
    for model in ("profile", "padme-run3"):
        t = clock()
        r = S.expected_sensitivity(table, masses, model=model)
        w0, c0 = since(t)
        walls, cpus = [], []
        for _ in range(args.repeat):
            t = clock()
            r = S.expected_sensitivity(table, masses, model=model)
            w, c = since(t)
            walls.append(w)
            cpus.append(c)
        print(f"(a) {model:10s}: first call {w0:6.2f} s wall ({c0:.2f} s CPU); warm "
              f"{min(walls):.3f} s wall (best of {args.repeat}), {min(cpus):.3f} s CPU; "
              f"solver calls {r.info['solver_calls']}; < 5 s: {max(w0, min(walls)) < 5}")

    sig = S.signal_model("voigt")
    model = ScanModel.from_table(table, sig, masses)
    calc = AsymptoticCalculator(model)
    t = clock()
    mu, _ = calc.expected_limits()
    wb, cb = since(t)
    t = clock()
    r = S.expected_sensitivity(table, masses, signal=sig, z_discovery=())
    ws, cs = since(t)
    diff = np.nanmax(np.abs(r.bands / np.sqrt(mu) - 1.0))
    print(f"(b) band only: bisection baseline {wb:.3f} s wall ({cb:.3f} CPU), secant "
          f"{ws:.3f} s wall ({cs:.3f} CPU): speed-up x{wb / ws:.1f} wall, x{cb / cs:.1f} CPU; "
          f"max |relative difference| {diff:.1e}")

    from x17scan.physics.lineshape import e_res_model
    from x17scan.stats import planning as P

    er = float(e_res_model(16.9))
    cand = P.candidate_grid(float(e_res_model(16.6)) - 3, float(e_res_model(17.2)) + 3, 0.75,
                            er)
    c = ref.at(P.sqrt_s_of(cand))
    ms = 16.9 + 0.05 * np.linspace(-2, 2, 9)
    pb = P.planning_problem(cand, c["bkg"], 0.003**2 + c["bkg_rel_err"] ** 2,
                            lambda e, m: sig.yield_per_pot(e, m) * (c["eff"] / c["bkg"])[None],
                            ms, np.exp(-0.5 * ((ms - 16.9) / 0.05) ** 2))
    t = clock()
    for _ in range(args.repeat):
        prop = P.propose(pb, 3.15e11, 47, 0.25 * 3.15e11 / 47)
    w, _ = since(t)
    print(f"(c) plan optimisation ({cand.size} candidates, {ms.size} target masses): "
          f"{w / args.repeat * 1e3:.1f} ms wall per proposal, {prop.e_beam.size} points")


if __name__ == "__main__":
    main()
