#!/usr/bin/env python
"""Where the simulation chain spends its time, down to the instruction (a manual tool, not run
in CI).

Usage: python tools/perf_kernels.py [seconds] [--annotate KERNEL]

Runs the task mix of one Run III scan point (P09: Bhabha, gamma gamma, signal, halo, pile-up) in
a loop and samples it with Linux ``perf`` (needs the ``perf`` binary and permission to attach to
the process). The numba kernels are JIT code, invisible to ``perf`` by default: this tool writes
a perf map (``/tmp/perf-PID.map``) naming each compiled kernel and copies the executable memory
they live in, so that it can print

* the share of the samples per kernel and per shared library (libm's ``log`` shows up there);
* with ``--annotate KERNEL`` (e.g. ``_respond_kernel``), the disassembly of that kernel with the
  samples per instruction and the hottest 128-byte blocks (``objdump`` needed).

Samples land on the instruction after a stall (skid), and the same kernel compiled twice can
differ by several per cent from code alignment alone: confirm any change with a same-process
A/B run of both versions in both orders, and check that the outputs are bit-identical.
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _kernels() -> list[tuple[int, str]]:
    """(address, name) of every compiled numba dispatcher of x17scan in this process."""
    import importlib
    import pkgutil

    import numba

    import x17scan

    out = set()
    for info in pkgutil.walk_packages(x17scan.__path__, "x17scan."):
        if ".cli" in info.name or info.name.endswith("__main__"):
            continue
        try:
            mod = importlib.import_module(info.name)
        except Exception:  # optional extras may be missing
            continue
        for name, obj in vars(mod).items():
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                for cres in obj.overloads.values():
                    try:
                        addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
                    except Exception:  # not materialised
                        continue
                    if addr:
                        out.add((addr, f"{mod.__name__}.{name}"))
    return sorted(out)


def _child(seconds: float, ready: Path, dump: Path) -> None:
    """The sampled process: warm up, describe the JIT code, signal, then loop."""
    from x17scan.beam import load_plan
    from x17scan.sim.pipeline import SimOptions, build_tasks, run_task

    plan = load_plan("run3")
    plan = plan.replace(points=tuple(p for p in plan.points if p.label == "P09"))
    tasks = build_tasks(plan, SimOptions(events_per_point=50_000, chunk_size=50_000,
                                         write_events="none"), None)
    for t in tasks:
        run_task(t)
    regions = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if "x" in f[1] and len(f) < 6:  # anonymous executable memory: the JIT code
            (dump / f"{lo:x}.bin").write_bytes(ctypes.string_at(lo, hi - lo))
            regions.append((lo, hi))
    kernels = _kernels()
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as fh:
        # several kernels can share one executable region: each one ends where the next begins
        for i, (addr, name) in enumerate(kernels):
            hi = next((h for lo, h in regions if lo <= addr < h), addr + 4096)
            if i + 1 < len(kernels) and addr < kernels[i + 1][0] < hi:
                hi = kernels[i + 1][0]
            fh.write(f"{addr:x} {hi - addr:x} {name}\n")
    ready.write_text(str(os.getpid()))
    t0 = time.time()
    while time.time() - t0 < seconds + 5:
        for t in tasks:
            run_task(t)


def main() -> int:
    args = sys.argv[1:]
    if "--child" in args:
        _child(float(args[1]), Path(args[2]), Path(args[3]))
        return 0
    seconds = float(args[0]) if args and not args[0].startswith("-") else 15.0
    annotate = args[args.index("--annotate") + 1] if "--annotate" in args else None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ready, dump, data = tmp / "ready", tmp / "dump", tmp / "perf.data"
        dump.mkdir()
        child = subprocess.Popen([sys.executable, __file__, "--child", str(seconds), str(ready),
                                  str(dump)])
        while not ready.exists():
            if child.poll() is not None:
                print("the sampled process ended early", file=sys.stderr)
                return 1
            time.sleep(0.2)
        pid = ready.read_text()
        subprocess.run(["perf", "record", "-F", "4999", "-o", str(data), "-p", pid, "--",
                        "sleep", str(seconds)], check=True, capture_output=True)
        child.wait()
        ips = [int(x, 16) for x in subprocess.run(
            ["perf", "script", "-i", str(data), "-F", "ip"], capture_output=True,
            text=True).stdout.split()]
        dsos = subprocess.run(["perf", "report", "-i", str(data), "--sort", "dso", "--stdio"],
                              capture_output=True, text=True).stdout
        spans = []  # (start, end, name) of each kernel, from the perf map
        for line in Path(f"/tmp/perf-{pid}.map").read_text().splitlines():
            a, size, n = line.split(maxsplit=2)
            spans.append((int(a, 16), int(a, 16) + int(size, 16), n))
        spans.sort()
        regions = {int(f.stem, 16): f.stat().st_size for f in dump.glob("*.bin")}
        per = collections.defaultdict(collections.Counter)  # kernel name -> ip -> samples
        for ip in ips:
            k = bisect.bisect_right(spans, (ip, float("inf"), "")) - 1
            if k >= 0 and ip < spans[k][1]:
                per[spans[k][2]][ip] += 1
            elif any(lo <= ip < lo + size for lo, size in regions.items()):
                per["(JIT code outside the named kernels)"][ip] += 1
        total = len(ips)
        print(f"{total} samples over {seconds:g} s of the P09 task mix")
        print("# per shared object (JIT = the numba kernels)")
        print("\n".join([x for x in dsos.splitlines() if x.strip() and not x.startswith("#")][:8]))
        syms = subprocess.run(["perf", "report", "-i", str(data), "--sort", "dso,symbol",
                               "--stdio"], capture_output=True, text=True).stdout
        print("# hottest functions outside the kernels (libm's log, numpy, Python)")
        print("\n".join([x for x in syms.splitlines() if x.strip() and not x.startswith("#")
                         and "[JIT]" not in x][:10]))
        print("# per kernel")
        for name, c in sorted(per.items(), key=lambda kv: -sum(kv[1].values())):
            print(f"{100 * sum(c.values()) / total:6.1f} %  {name}")
        if annotate:
            hit = [(a, e, n) for a, e, n in spans if n.endswith("." + annotate)]
            if not hit:
                print(f"no kernel named {annotate}", file=sys.stderr)
                return 1
            start, _, name = hit[0]
            lo = next(r for r in regions if r <= start < r + regions[r])
            dis = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64",
                                  f"--adjust-vma={lo:#x}", str(dump / f"{lo:x}.bin")],
                                 capture_output=True, text=True).stdout
            c = per[name]
            lo = start
            n = sum(c.values()) or 1
            blocks = collections.Counter()
            for ip, k in c.items():
                blocks[(ip - lo) // 128] += k
            print(f"# {annotate}: hottest 128-byte blocks (offset, share of the kernel)")
            for b, k in blocks.most_common(12):
                print(f"  {b * 128:#7x} {100 * k / n:5.1f} %")
            print("# instructions with samples (offset, samples, instruction)")
            for line in dis.splitlines():
                m = re.match(r"\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(.*)", line)
                if m and c.get(int(m.group(1), 16)):
                    a = int(m.group(1), 16)
                    print(f"  {a - lo:#7x} {c[a]:6d}  {m.group(2).strip()}")
        Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
