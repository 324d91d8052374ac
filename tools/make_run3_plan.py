"""Generate the shipped Run III scan plan ``src/x17scan/beam/plans/run3.toml``.

Reads PADME's per-point data once (outside the repository, read-only shelf), never at run time:

    python tools/make_run3_plan.py [/work/shared/data/padme-run3]

Points: the 52 PADME Run III periods (E_beam from the stored sqrt(s) with the CODATA electron
mass, so that x17scan's kinematics returns PADME's sqrt(s) exactly; PoT and its uncorrelated
error from ``PoTCorr``), the over-resonance runs (402.5 MeV, 5 runs of ~0.4e10 PoT) and a set of
no-target runs for the beam background (energies and PoT are a project choice).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import uproot

from x17scan.beam.plan import HALO_RATE_DEFAULT, ScanPlan, ScanPoint
from x17scan.physics.constants import BES_PADME
from x17scan.physics.kinematics import e_beam

REPO = "tommasoSpadaro/PADMERunIIISensitivity"
COMMIT = "f9d62b00d5aaaa041511dc395c56f0555106768a"
FILES = ("completeAnalysis/Sqrts.root", "completeAnalysis/PoTCorrvsSqrtS_all_scan_corr.root")


def graph(path: Path, name: str):
    g = uproot.open(path)[name]
    n = g.member("fNpoints")
    return (np.asarray(g.member("fX"))[:n], np.asarray(g.member("fY"))[:n],
            np.asarray(g.member("fEY"))[:n])


def main(folder: str = "/work/shared/data/padme-run3") -> None:
    base = Path(folder)
    _, sqrts, _ = graph(base / FILES[0], "Sqrts")
    x, pot, pot_err = graph(base / FILES[1], "PoTCorr")
    if not np.array_equal(x, sqrts):
        raise SystemExit("PoTCorr x values differ from Sqrts")
    sha = {f: hashlib.sha256((base / f).read_bytes()).hexdigest() for f in FILES}

    pts = []
    for i, (w, n, dn) in enumerate(zip(sqrts, pot, pot_err, strict=True)):
        # PADME's rule (prepareInput.C; data/padme-run3/README.md): -1 below 16.2 MeV and for
        # periods > 46, else sub-scan 0 for periods < 23 and 1 after.
        below = w < 16.2
        part = -1 if (below or i > 46) else (0 if i < 23 else 1)
        pts.append(ScanPoint(e_beam=round(float(e_beam(w)), 6), pot=float(n), pot_err=float(dn),
                             kind="below" if below else "on-resonance", run=0, period=i,
                             scan_part=part, used=part >= 0, label=f"P{i:02d}"))
    # over resonance: seeds (Raggi, LNF SC Nov. 2023): 402 MeV, 5 runs, ~0.4e10 PoT per run;
    # 402.5 MeV as in PADME's plotting code (docs/physics.md §2). Taken in October 2022, before
    # the scan: periods 100-104 here (not PADME numbers).
    for r in range(5):
        pts.append(ScanPoint(e_beam=402.5, pot=0.4e10, pot_err=0.4e10 * 0.003, kind="over",
                             run=r, period=100 + r, scan_part=-1, used=False,
                             label=f"OVER-r{r}"))
    # no-target runs (beam background): the seeds say "data collected at different beam
    # energies" without numbers; three energies spanning the data set, 1e9 PoT each (choice).
    for r, e in enumerate((206.62, 282.22, 402.5)):
        pts.append(ScanPoint(e_beam=e, pot=1.0e9, pot_err=1.0e9 * 0.003, kind="no-target",
                             run=10 + r, period=200 + r, scan_part=-1, used=False,
                             label=f"NT-{e:g}"))
    pts.sort(key=lambda p: (p.e_beam, p.run))
    plan = ScanPlan(
        name="run3",
        description="PADME Run III resonance scan (Oct-Dec 2022): 47 on-resonance + 5 below-"
                    "resonance periods, 5 over-resonance runs at 402.5 MeV, no-target runs",
        provenance=f"github.com/{REPO} commit {COMMIT}: " + "; ".join(
            f"{f} sha256 {h}" for f, h in sha.items()),
        points=tuple(pts), bes=BES_PADME, energy_offset=0.0, spot_size=(1.0, 1.0),
        divergence=(1.0, 1.0), pot_rel_err=0.003, halo_rate_per_pot=HALO_RATE_DEFAULT)
    header = f"""Scan plan 'run3', PADME Run III (arXiv:2505.24797): tools/make_run3_plan.py
Do not edit by hand: re-run the script.

Sources:
- periods 0-51: sqrt(s) from completeAnalysis/Sqrts.root, PoT and its uncorrelated error from
  PoTCorr in completeAnalysis/PoTCorrvsSqrtS_all_scan_corr.root of github.com/{REPO}
  commit {COMMIT[:7]} (sha256 in [plan].provenance). e_beam = (s - 2 m_e^2)/(2 m_e) with the
  CODATA 2018 m_e (PADME's nominal energies used 0.511 MeV; differences <= 0.06 MeV).
  scan_part/used follow PADME's prepareInput.C rule (42 fit points).
- over resonance (kind "over"): 402.5 MeV, 5 runs of ~0.4e10 PoT (M. Raggi, 66th LNF Scientific
  Committee, Nov. 2023; docs/physics.md §2 for 402.5 MeV); PoT error 0.3 % (assumed).
- no-target runs: energies and PoT are a project choice (the seeds give no numbers).
- beam: BES 0.25 % (PADME's statistical treatment, docs/padme-run3-method.md; below 0.25 % per
  arXiv:2405.07203); 4000 e+ per bunch, 250 ns bunch of 0.150 ns micro-bunches every 0.5 ns,
  1 mm spot, 1 mrad divergence (padme-fw PadmeMC/RunIII.mac, BeamParameters.cc; docs/detector.md
  §1.2), independent in x and y (docs/detector.md §10 item 1); target 100 um diamond.
- halo_rate_per_pot: selected no-target two-cluster rate per PoT, from the seeds' ratio
  #2cl(noTarget)/#2cl(data) = 1e-8/3e-6 scaled to B = 3.5e-6 (a model, see x17scan.sim.halo).
- pot_rel_err: 0.3 %, the error PADME adds in quadrature (docs/padme-run3-method.md)."""
    out = Path(__file__).resolve().parents[1] / "src/x17scan/beam/plans/run3.toml"
    out.write_text(plan.to_toml(header), encoding="utf-8")
    print(f"wrote {out} ({len(plan)} points)")


if __name__ == "__main__":
    main(*sys.argv[1:])
