"""Throughput and memory of the fast simulation (``python benchmarks/bench_sim.py [--quick]``).

Prints events/s for each stage on one core: generation (Bhabha, gamma gamma, signal), detector
response + clustering + selection (``x17scan.reco.process``), and the ratio of the vectorised
Bhabha generator against a naive per-event Python loop (same physics: inverse-CDF cos, exact
boost) run in the same process. Memory: the peak resident set size of simulate runs of
increasing length in fresh processes, which stays flat because the work is chunked (so a 1e8
event run needs no more memory than a 1e6 one).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np


def _rate(fn, n, repeat=3):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def naive_bhabha(n, gen, rng):
    """Per-event Python loop with the same physics as BackgroundGenerator (baseline)."""
    m = 0.51099895
    out = []
    for _ in range(n):
        e = gen.beam.e_mean + gen.beam.sigma_e * rng.standard_normal()
        p = math.sqrt(e * e - m * m)
        c = float(np.interp(rng.random(), gen.cdf, gen.grid))
        phi = 2 * math.pi * rng.random()
        w = math.sqrt(2 * m * m + 2 * m * e)
        bz = p / (e + m)
        g = 1 / math.sqrt(1 - bz * bz)
        ps = math.sqrt(w * w / 4 - m * m)
        s = math.sqrt(1 - c * c)
        parts = []
        for sign in (1, -1):
            px, py, pz = sign * ps * s * math.cos(phi), sign * ps * s * math.sin(phi), sign * ps * c
            es = w / 2
            parts.append((g * (es + bz * pz), px, py, g * (pz + bz * es)))
        out.append(parts)
    return out


def bench_stages(n: int) -> dict[str, float]:
    from x17scan.physics.constants import DIAMOND_100UM
    from x17scan.reco import Selection, process
    from x17scan.sim.detector import DetectorConfig
    from x17scan.sim.generators import BackgroundGenerator, SignalGenerator
    from x17scan.sim.target import BeamSetup

    beam = BeamSetup(e_mean=282.0, sigma_e=0.705, target=DIAMOND_100UM)
    rng = np.random.default_rng(1)
    bh = BackgroundGenerator("bhabha", beam)
    gg = BackgroundGenerator("gg", beam)
    sg = SignalGenerator(beam, 16.95)
    out = {}
    out["gen_bhabha"] = _rate(lambda: bh.generate(n, rng), n)
    out["gen_gg"] = _rate(lambda: gg.generate(n, rng), n)
    out["gen_signal"] = _rate(lambda: sg.generate(n, rng), n)
    ev, _ = bh.generate(n, rng)
    cfg, sel = DetectorConfig.default_run3(), Selection.preset()
    process(ev, cfg, sel, 282.0, rng)  # JIT warm-up
    out["detector_reco_selection"] = _rate(lambda: process(ev, cfg, sel, 282.0, rng), n)
    out["full_chain"] = 1.0 / (1.0 / out["gen_bhabha"] + 1.0 / out["detector_reco_selection"])
    nn = max(n // 50, 1000)
    out["naive_bhabha_loop"] = _rate(lambda: naive_bhabha(nn, bh, rng), nn, repeat=1)
    out["vectorised_over_naive"] = out["gen_bhabha"] / out["naive_bhabha_loop"]
    return out


_CHILD = """
import resource, sys, json
from x17scan.beam import load_plan
from x17scan.sim.pipeline import SimOptions, simulate
plan = load_plan("run3")
plan = plan.replace(points=tuple(p for p in plan.points if p.label == "P09"))
n = int(sys.argv[1])
simulate(SimOptions(events_per_point=n, chunk_size=50_000, write_events="none", halo=False),
         sys.argv[2], plan=plan, progress=False, fresh=True)
print(json.dumps({"events": 3 * n,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_memory(sizes: list[int], tmp: str) -> list[dict]:
    rows = []
    for n in sizes:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(n), f"{tmp}/mem{n}"],
                           capture_output=True, text=True, check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return rows


def main() -> None:
    import tempfile

    quick = "--quick" in sys.argv
    n = 50_000 if quick else 200_000
    print(f"# x17scan fast simulation benchmark (chunk of {n} events, 1 core)")
    for k, v in bench_stages(n).items():
        unit = "" if k.endswith("naive") else " events/s"
        print(f"{k:28s} {v:14,.0f}{unit}")
    sizes = [50_000, 200_000] if quick else [50_000, 200_000, 800_000]
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_memory(sizes, tmp)
    print("# peak RSS of simulate runs (one point, Bhabha + gamma gamma + signal, 50k chunks)")
    for r in rows:
        print(f"events {r['events']:>10,d}   peak RSS {r['peak_rss_mb']:8.1f} MB")
    growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    print(f"peak RSS ratio for {rows[-1]['events'] / rows[0]['events']:.0f}x more events: "
          f"{growth:.2f} (flat: memory is bounded by the chunk, not by the run length)")


if __name__ == "__main__":
    main()
