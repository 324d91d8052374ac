"""Benchmark of the signal yield (the statistics' and simulation's hot path).

Baseline, computed in the same process: the direct sum over a p_z grid of docs/physics.md §6.6
(|p_z| <= 60 a.u., step 0.01 a.u., vectorized numpy) for 100 masses x 52 beam energies.
Printed: time ratios baseline / x17scan.physics.yield_per_pot (cached table), and the cost of a
table for a new BES value. Run: python benchmarks/bench_physics.py
"""

from __future__ import annotations

import time

import numpy as np

from x17scan.physics import e_res, integrated_yield, yield_per_pot
from x17scan.physics.compton import profile
from x17scan.physics.constants import ALPHA


def direct(eb, masses, bes):
    pz = np.arange(-6000, 6001) * 0.01
    j = profile(pz, "hf")
    j = j / (j.sum() * 0.01)
    out = np.empty((masses.size, eb.size))
    for i, m in enumerate(masses):  # one (52 x 12001) block per mass keeps memory small
        er = float(e_res(m))
        sig = bes * er
        es = er / (1 - ALPHA * pz)
        g = np.exp(-0.5 * ((es[None, :] - eb[:, None]) / sig) ** 2)
        out[i] = (g * j).sum(axis=1) * 0.01 / (np.sqrt(2 * np.pi) * sig)
    return integrated_yield(masses, 1.0)[:, None] * out


def best_of(fn, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main() -> None:
    eb = np.linspace(262.0, 296.0, 52)
    masses = np.linspace(16.3, 17.5, 100)
    yield_per_pot(eb, masses[:, None], 1.0)  # build the cached table
    t_base = best_of(lambda: direct(eb, masses, 0.0025), 2)
    t_fast = best_of(lambda: yield_per_pot(eb, masses[:, None], 1.0))
    t_voigt = best_of(lambda: yield_per_pot(eb, masses[:, None], 1.0, model="voigt"))
    bes_values = iter(np.linspace(0.0020, 0.0030, 1000))
    t_new_bes = best_of(lambda: yield_per_pot(eb, masses[:, None], 1.0, bes=next(bes_values)))
    dev = np.max(np.abs(yield_per_pot(eb, masses[:, None], 1.0) - direct(eb, masses, 0.0025)))
    print("signal yield, 100 masses x 52 beam energies (atomic HF kernel)")
    print(f"  baseline direct p_z sum        : {t_base * 1e3:9.2f} ms  (ratio 1)")
    print(f"  yield_per_pot, cached table    : {t_fast * 1e3:9.2f} ms  "
          f"(speed-up x{t_base / t_fast:,.0f})")
    print(f"  yield_per_pot, new BES (table) : {t_new_bes * 1e3:9.2f} ms  "
          f"(speed-up x{t_base / t_new_bes:,.0f})")
    print(f"  voigt (scipy voigt_profile)    : {t_voigt * 1e3:9.2f} ms  "
          f"(speed-up x{t_base / t_voigt:,.0f})")
    print(f"  max |difference| per g^2       : {dev:.2e} (peak ~2.6)")


if __name__ == "__main__":
    main()
