"""Import PADME's public Run III per-point inputs (ROOT files) into a :class:`ScanTable`.

The inputs are the ROOT files of the PADME collaboration's statistical code, public repository
``tommasoSpadaro/PADMERunIIISensitivity`` (commit f9d62b0, 2 July 2025), in its directory layout
(``completeAnalysis/*.root``, ``input/*.root``). What :func:`import_padme` does, following
PADME's ``prepareInput.C`` / ``statisticalTreatmentTH.C`` (see the package's
``datasets/padme-run3.PROVENANCE.md``):

* reads sqrt(s) per data-taking period (``Sqrts``), N2 (``N2ClvsSqrsS_data``), PoT
  (``PoTCorr``), the SM two-cluster yield per PoT B (``YieldvsSqrsS_bkg``) and the signal
  efficiency (``SigEffvsS``), checking that every per-sqrt(s) graph has the x values of
  ``Sqrts``;
* follows git symbolic links stored as small text "stub" files (a checkout without link
  support), as PADME's code opens ``PoTCorrvsSqrt.root`` etc.;
* reads the passed/total counts of the TEfficiency ``deno_clone`` (which uproot cannot
  deserialise whole) from its two embedded histograms, or falls back to
  passed = round(eps x total), and checks that the efficiencies and their asymmetric errors
  are these counts' ratios and 68.27 % Clopper-Pearson intervals;
* assigns sub-scans by PADME's rule (not the flags stored in ``input/MCVersion2_*.root``):
  -1 if sqrt(s) < 16.2 MeV, else 0 for periods < 23, else 1, and -1 for periods > 46;
  ``used`` = sub-scan in {0, 1} and PoT > 1e6 (42 points);
* patches the efficiency of period 0 (a known bug of the simulation) with the first sub-scan's
  eps/B straight line at its sqrt(s), times its B (error left unchanged);
* sig_eff_err = mean of the asymmetric errors; adds ``syst_pot`` and ``syst_bkg`` (relative,
  PADME: 0.003) in quadrature to the PoT and B errors;
* sorts the rows by sqrt(s) (``period`` keeps the data-taking index) and computes ``e_beam``
  from sqrt(s) with the CODATA electron mass.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from x17scan.data.scantable import ScanTable
from x17scan.errors import InputError
from x17scan.physics.constants import SQRTS_PIVOT_PADME
from x17scan.physics.kinematics import e_beam as _e_beam

REPOSITORY = "tommasoSpadaro/PADMERunIIISensitivity"
COMMIT = "f9d62b00d5aaaa041511dc395c56f0555106768a"
CITATION = ("PADME collaboration, \"Search for a new 17 MeV resonance via e+e- annihilation "
            "with the PADME experiment\", arXiv:2505.24797")
LICENCE = ("The source repository has no licence file: the data are public but their "
           "redistribution terms are to be checked with the PADME collaboration; cite "
           "arXiv:2505.24797 and the repository when using them.")

SYST_PADME = 0.003
"""Relative systematic term PADME adds in quadrature to the PoT and B errors (prepareInput.C)."""

SQRT_S_MIN_SCAN = 16.2
"""Below this sqrt(s) (MeV) a period is off-resonance (sub-scan -1), PADME's rule."""

FIRST_PERIOD_SCAN_1 = 23
"""Periods before this index form the first sub-scan (0), the later ones the second (1)."""

LAST_PERIOD_SCAN_1 = 46
"""Periods after this index (47-51, "high intensity or new optics") are excluded (-1)."""

MIN_POT = 1e6
"""statisticalTreatmentTH.C keeps points with PoT above this."""

CP_LEVEL = 0.682689492137086
"""Confidence level of ROOT's TEfficiency default (Clopper-Pearson) intervals."""

# Totals of simulated X17 events per period, only for the fallback when the TEfficiency
# cannot be read (README of the data: 500 000 each, 499 612 for period 51).
_FALLBACK_TOTAL = 500_000
_FALLBACK_TOTAL_LAST = 499_612

KNOWN_SHA256: dict[str, str] = {
    "completeAnalysis/Sqrts.root":
        "df4096e7937f179432b7ee52159182853c49df0445c22b3c00c0ae9d942cc741",
    "completeAnalysis/N2ClvsSqrsS_data_all_nosyst_noBkg.root":
        "f54dbd7daa8ee62a332f0b7bab86413335c7691673cfac01917218619cafa1a8",
    "completeAnalysis/PoTCorrvsSqrtS_all_scan_corr.root":
        "5f1c44f8c851ee9b46b226cc679ab01bec985163d393c630f714bad0c950eae0",
    "completeAnalysis/YieldvsSqrsS_bkg_all_nosyst_noBkg.root":
        "62f2f5b62dce534207c3791cad14d130e0676d32865bc2eebbb48904c8de90fc",
    "completeAnalysis/SignalEffvsSqrtS_all.root":
        "e8594243335b73a1f5e9496309c3958843ee192420e40c436743cd14eca70e3d",
    "completeAnalysis/SignalEffvsPer_all.root":
        "eb54abb8d4159527ba82c00048debf9279c67651541957b88250b24583c1d3df",
    "input/MCVersion2_POT0.005_BKG0.006_EFF0.004.root":
        "851c2f29dd948385063cf423dac57dd910fe3fd0147914e6690ef1bfe9e60bfe",
}
"""sha256 of the input files at commit f9d62b0 (git blobs of the repository)."""


@dataclass(frozen=True)
class _Input:
    paths: tuple[str, ...]  # candidate relative paths, PADME's (link) name first
    objects: tuple[str, ...]  # candidate object names, first present wins


_INPUTS: dict[str, _Input] = {
    "sqrts": _Input(("completeAnalysis/Sqrts.root",), ("Sqrts",)),
    "n2": _Input(("completeAnalysis/N2ClvsSqrsS_data_all_nosyst_noBkg.root",),
                 ("N2ClvsSqrsS_data",)),
    "pot": _Input(("completeAnalysis/PoTCorrvsSqrt.root",
                   "completeAnalysis/PoTCorrvsSqrtS_all_scan_corr.root"), ("PoTCorr",)),
    "bkg": _Input(("completeAnalysis/BackgroundYieldvsSqrtS.root",
                   "completeAnalysis/YieldvsSqrsS_bkg_all_nosyst_noBkg.root"),
                  ("BackgroundYield", "YieldvsSqrsS_bkg")),
    "eff": _Input(("completeAnalysis/SignalEffvsSqrtS.root",
                   "completeAnalysis/SignalEffvsSqrtS_all.root"), ("SigEffvsS",)),
    "counts": _Input(("completeAnalysis/SignalEffvsPer_all.root",), ("deno_clone",)),
}
_FLAGS = _Input(("input/MCVersion2_POT0.005_BKG0.006_EFF0.004.root",), ("ScanPartVsPeriod",))

_STUB_MAX_BYTES = 1024
_ROOT_MAGIC = b"root"


# -- public API ------------------------------------------------------------------------------
def import_padme(directory: str | os.PathLike[str], *, syst_pot: float = SYST_PADME,
                 syst_bkg: float = SYST_PADME) -> ScanTable:
    """Build the PADME Run III scan table from the repository's ROOT files in ``directory``.

    ``directory`` has PADME's layout (``completeAnalysis/...root``, ``input/...root``).
    ``syst_pot`` and ``syst_bkg`` are relative errors added in quadrature to the per-point PoT
    and B errors (default 0.003 as PADME's analysis; 0 keeps the files' errors). Returns 52 rows
    sorted by sqrt(s) (MeV), 42 of them ``used``; provenance in ``meta``. Raises
    :class:`InputError` naming the file for a missing, corrupt or inconsistent input.
    """
    syst_pot = _check_syst(syst_pot, "syst_pot")
    syst_bkg = _check_syst(syst_bkg, "syst_bkg")
    root = Path(directory)
    if not root.is_dir():
        raise InputError("not a directory", field="directory", source=str(directory),
                         fix="give the folder that holds completeAnalysis/ and input/")
    files: dict[str, str] = {}
    links: list[str] = []

    def graph(key: str) -> dict[str, np.ndarray]:
        path, rel, obj = _locate(root, _INPUTS[key], files, links)
        return _read_graph(path, obj, rel)

    sq = graph("sqrts")
    n = sq["y"].size
    if n == 0:
        raise InputError("graph has no points", field="Sqrts", source=str(sq["path"]),
                         fix="use PADME's complete Sqrts.root")
    if not np.array_equal(sq["x"], np.arange(n)):
        raise InputError("x values are not the period indices 0, 1, 2, ...", field="Sqrts",
                         source=str(sq["path"]), fix="use PADME's Sqrts.root (x = period)")
    s = sq["y"]
    n2, pot, bkg, eff = graph("n2"), graph("pot"), graph("bkg"), graph("eff")
    for g in (n2, pot, bkg, eff):
        _check_x(g, s, root)
    eff_low, eff_high = eff["ey_low"], eff["ey_high"]
    passed, total, count_method = _efficiency_counts(root, eff["y"], files, links)
    _check_clopper_pearson(passed, total, eff, root)

    period = np.arange(n)
    part = _scan_part(s, period)
    used = np.isin(part, (0, 1)) & (pot["y"] > MIN_POT)

    # sqrt of squares (correctly rounded everywhere) rather than libm's hypot
    pot_err = pot["y"] * np.sqrt(syst_pot**2 + (pot["ey"] / pot["y"]) ** 2)
    bkg_err = bkg["y"] * np.sqrt(syst_bkg**2 + (bkg["ey"] / bkg["y"]) ** 2)
    sig_eff = eff["y"].copy()
    sig_eff_err = 0.5 * (eff_low + eff_high)
    patch = _patch_first_efficiency(s, part, sig_eff, sig_eff_err, bkg["y"], bkg["ey"])
    sig_eff[0] = patch["sig_eff_patched"]

    order = np.argsort(s, kind="stable")
    columns = {
        "sqrt_s": s, "e_beam": _e_beam(s), "n_obs": n2["y"], "pot": pot["y"],
        "pot_err": pot_err, "bkg_per_pot": bkg["y"], "bkg_per_pot_err": bkg_err,
        "sig_eff": sig_eff, "sig_eff_err": sig_eff_err, "scan_part": part, "period": period,
        "used": used,
    }
    columns = {c: np.asarray(v)[order] for c, v in columns.items()}
    flags_note = _compare_stored_flags(root, part, files, links)
    meta = _meta(files, links, syst_pot, syst_bkg, patch, passed[order], total[order],
                 count_method, flags_note)
    return ScanTable.from_columns(columns, meta, source=str(root))


def scan_part(sqrt_s: np.ndarray, period: np.ndarray) -> np.ndarray:
    """PADME's sub-scan flag per period (prepareInput.C): -1 if sqrt_s < 16.2 MeV, else 0 if
    period < 23, else 1; and -1 for period > 46. ``sqrt_s`` in MeV."""
    return _scan_part(np.asarray(sqrt_s, float), np.asarray(period))


def line_fit(x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
             pivot: float = SQRTS_PIVOT_PADME) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least-squares straight line y = p0 + p1 (x - pivot).

    Returns (p, cov, chi2): parameters, their (unscaled) covariance, chi-square. Equivalent to
    ROOT's TGraphErrors fit of pol1 without x errors, as PADME's code uses. The sums are exact
    (``math.fsum``) so that the result is the same on every platform.
    """
    dx = np.asarray(x, float) - pivot
    y = np.asarray(y, float)
    w = 1.0 / np.asarray(sigma, float) ** 2
    s0, s1, s2 = math.fsum(w), math.fsum(w * dx), math.fsum(w * dx * dx)
    t0, t1 = math.fsum(w * y), math.fsum(w * dx * y)
    det = s0 * s2 - s1 * s1
    cov = np.array([[s2, -s1], [-s1, s0]]) / det
    p = np.array([(s2 * t0 - s1 * t1) / det, (s0 * t1 - s1 * t0) / det])
    chi2 = math.fsum(w * (y - p[0] - p[1] * dx) ** 2)
    return p, cov, chi2


# -- files ---------------------------------------------------------------------------------
def _locate(root: Path, inp: _Input, files: dict[str, str], links: list[str],
            required: bool = True) -> tuple[Path, str, str] | None:
    """Find the first existing candidate file, following link stubs; record its sha256."""
    for rel in inp.paths:
        p = root / rel
        if not (p.exists() or p.is_symlink()):
            continue
        real = _follow(p, links, root)
        real_rel = _rel(real, root)
        files[real_rel] = _sha256(real)
        obj = _pick_object(real, inp.objects)
        return real, real_rel, obj
    if not required:
        return None
    rel = inp.paths[-1]
    raise InputError("file not found", field="file", source=str(root / rel),
                     fix="copy PADME's completeAnalysis/ and input/ folders from "
                     f"{REPOSITORY} (commit {COMMIT[:7]}) into the directory")


def _follow(p: Path, links: list[str], root: Path, depth: int = 0) -> Path:
    """Resolve a real symbolic link or a git link stub (a tiny text file naming its target)."""
    if depth > 8:
        raise InputError("too many levels of links", field="file", source=str(p),
                         fix="replace the link by the ROOT file it points to")
    if p.is_symlink():
        # joined, not resolved, so that the target stays relative to the directory given
        target = Path(os.path.normpath(p.parent / os.readlink(p)))
        if not target.exists():
            raise InputError(f"symbolic link to a missing file ({os.readlink(p)})",
                             field="file", source=str(p),
                             fix="copy the link's target ROOT file next to it")
        links.append(f"{_rel(p, root)} -> {_rel(target, root)} (symbolic link)")
        return _follow(target, links, root, depth + 1)
    if not p.is_file():
        raise InputError("not a regular file", field="file", source=str(p),
                         fix="give PADME's ROOT file")
    size = p.stat().st_size
    head = _read_head(p)
    if head.startswith(_ROOT_MAGIC):
        return p
    if size <= _STUB_MAX_BYTES:
        text = head.decode("utf-8", errors="replace").strip()
        if text and "\n" not in text and "\x00" not in text and text.endswith(".root"):
            target = (p.parent / text)
            if not (target.exists() or target.is_symlink()):
                raise InputError(f"git link stub pointing to missing {text!r}", field="file",
                                 source=str(p),
                                 fix=f"copy {text} into {p.parent} (or check out the "
                                 "repository with symbolic links enabled)")
            links.append(f"{_rel(p, root)} -> {_rel(target, root)} (git link stub)")
            return _follow(target, links, root, depth + 1)
    if size == 0:
        raise InputError("the file is empty", field="file", source=str(p),
                         fix="copy the complete ROOT file from PADME's repository")
    raise InputError("not a ROOT file (no 'root' magic bytes)", field="file", source=str(p),
                     fix="copy the ROOT file from PADME's repository again")


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def _read_head(p: Path) -> bytes:
    with open(p, "rb") as fh:
        return fh.read(_STUB_MAX_BYTES + 1)


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _open(path: Path) -> Any:
    import uproot

    try:
        return uproot.open(path)
    except Exception as err:  # any reader failure means a corrupt or truncated file
        raise InputError(f"cannot open the ROOT file ({_short(err)})", field="file",
                         source=str(path),
                         fix="the file is corrupt or truncated: copy it from PADME's "
                         "repository again") from None


def _pick_object(path: Path, names: tuple[str, ...]) -> str:
    with _open(path) as f:
        try:
            present = {k.split(";")[0] for k in f.keys(recursive=False)}
        except Exception as err:  # a damaged directory listing
            raise InputError(f"cannot list the ROOT file ({_short(err)})", field="file",
                             source=str(path), fix="copy the file again") from None
    for name in names:
        if name in present:
            return name
    raise InputError(f"object {' or '.join(map(repr, names))} not found (found: "
                     f"{', '.join(sorted(present)) or 'nothing'})", field=names[-1],
                     source=str(path), fix="use PADME's file of that name")


def _read_graph(path: Path, name: str, rel: str) -> dict[str, Any]:
    with _open(path) as f:
        try:
            g = f[name]
            cls = g.classname
            if not cls.startswith("TGraph"):
                raise InputError(f"{name!r} is a {cls}, not a TGraph", field=name,
                                 source=str(path), fix="use PADME's file of that name")
            n = int(g.member("fNpoints"))
            out: dict[str, Any] = {"name": name, "path": path, "rel": rel, "n": n}
            members = {"x": "fX", "y": "fY", "ey": "fEY", "ey_low": "fEYlow",
                       "ey_high": "fEYhigh"}
            for k, m in members.items():
                if m in g.all_members:
                    out[k] = np.asarray(g.member(m), dtype=float)[:n]
        except InputError:
            raise
        except Exception as err:  # truncated or damaged object
            raise InputError(f"cannot read {name!r} ({_short(err)})", field=name,
                             source=str(path), fix="the file is corrupt or truncated: copy "
                             "it from PADME's repository again") from None
    for k in ("x", "y"):
        if k not in out or out[k].size != n:
            raise InputError(f"graph has no complete {k} values", field=name, source=str(path),
                             fix="use PADME's file of that name")
        if not np.isfinite(out[k]).all():
            i = int(np.flatnonzero(~np.isfinite(out[k]))[0])
            raise InputError(f"non-finite {k} value at point {i}", field=name,
                             source=str(path), fix="use PADME's file of that name")
    return out


def _check_x(g: dict[str, Any], sqrt_s: np.ndarray, root: Path) -> None:
    """Per-sqrt(s) graphs must have exactly the x values of Sqrts, period by period."""
    if g["n"] != sqrt_s.size:
        raise InputError(f"graph has {g['n']} points, Sqrts has {sqrt_s.size}",
                         field=g["name"], source=str(g["path"]),
                         fix="use input files of the same analysis version")
    diff = g["x"] != sqrt_s
    if diff.any():
        i = int(np.flatnonzero(diff)[0])
        raise InputError(f"x value {g['x'][i]!r} of period {i} differs from Sqrts "
                         f"({sqrt_s[i]!r} MeV)", field=g["name"], source=str(g["path"]),
                         fix="the files are not from the same analysis version: use a "
                         "consistent set (same commit of PADME's repository)")
    for k in ("ey", "ey_low", "ey_high"):
        if k in g and (~np.isfinite(g[k]) | (g[k] < 0)).any():
            i = int(np.flatnonzero(~np.isfinite(g[k]) | (g[k] < 0))[0])
            raise InputError(f"invalid error {g[k][i]!r} at period {i}", field=g["name"],
                             source=str(g["path"]), fix="use PADME's file of that name")
    if g["name"] == "SigEffvsS":
        if "ey_low" not in g or "ey_high" not in g:
            raise InputError("no asymmetric errors (not a TGraphAsymmErrors)", field="SigEffvsS",
                             source=str(g["path"]), fix="use PADME's SignalEffvsSqrtS_all.root")
    elif "ey" not in g:
        raise InputError("no y errors (not a TGraphErrors)", field=g["name"],
                         source=str(g["path"]), fix="use PADME's file of that name")


# -- efficiency counts -------------------------------------------------------------------------
def _efficiency_counts(root: Path, eff: np.ndarray, files: dict[str, str],
                       links: list[str]) -> tuple[np.ndarray, np.ndarray, str]:
    path, _rel_path, name = _locate(root, _INPUTS["counts"], files, links)
    try:
        passed, total = read_tefficiency_counts(path, name)
        method = (f"passed/total histograms of the TEfficiency {name!r} "
                  "(deserialised from the key's buffer)")
    except TEfficiencyLayoutError:  # e.g. another uproot version: the documented fallback
        total = np.full(eff.size, float(_FALLBACK_TOTAL))
        total[-1] = _FALLBACK_TOTAL_LAST
        passed = np.round(eff * total)
        method = ("fallback: passed = round(eps x total), total = 500000 (499612 for the last "
                  "period), checked against the Clopper-Pearson errors")
    if passed.size != eff.size:
        raise InputError(f"TEfficiency has {passed.size} bins, Sqrts has {eff.size} periods",
                         field=name, source=str(path), fix="use input files of the same version")
    if (total <= 0).any() or (passed < 0).any() or (passed > total).any():
        raise InputError("inconsistent passed/total counts", field=name, source=str(path),
                         fix="use PADME's SignalEffvsPer_all.root")
    # SigEffvsS stores eps rounded to 6 decimals
    off = np.abs(passed / total - eff) > 5e-7 + 1e-12
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise InputError(f"passed/total = {passed[i]:.0f}/{total[i]:.0f} of period {i} does "
                         f"not match SigEffvsS eps = {eff[i]!r}", field=name, source=str(path),
                         fix="use input files of the same analysis version")
    return passed, total, method


def read_tefficiency_counts(path: str | os.PathLike[str],
                            name: str = "deno_clone") -> tuple[np.ndarray, np.ndarray]:
    """Passed and total counts (per bin, without under/overflow) of a TEfficiency.

    uproot 5 cannot deserialise a TEfficiency (its ``fBeta_bin_params`` member); the two
    histograms it embeds are read directly from the key's uncompressed buffer: the first TH1
    after the object header is ``fPassedHistogram``, then 4 bytes (``fStatisticOption``), then
    ``fTotalHistogram``.
    """
    import uproot.deserialization as deser

    with _open(Path(path)) as f:
        try:
            key = f.key(name)
            cls = key.fClassName
            chunk, cursor = key.get_uncompressed_chunk_cursor()
            raw = chunk.raw_data.tobytes()
        except Exception as err:  # missing key, damaged or truncated compressed payload
            raise InputError(f"cannot read {name!r} ({_short(err)})", field=name,
                             source=str(path), fix="the file is corrupt or truncated: copy it "
                             "from PADME's repository again") from None
        if cls != "TEfficiency":
            raise InputError(f"{name!r} is a {cls}, not a TEfficiency", field=name,
                             source=str(path), fix="use PADME's SignalEffvsPer_all.root")
        try:
            hits = [raw.find(b"\xff\xff\xff\xff" + c + b"\x00") for c in (b"TH1D", b"TH1F")]
            hits = [h for h in hits if h >= 4]
            if not hits:
                raise ValueError("no embedded TH1 in the TEfficiency buffer")
            cur = cursor.copy()
            cur.move_to(min(hits) - 4)  # the 4-byte byte count precedes the class tag
            context: dict[str, Any] = {}
            h_passed = deser.read_object_any(chunk, cur, context, f.file, f.file, None)
            cur.skip(4)
            h_total = deser.read_object_any(chunk, cur, context, f.file, f.file, None)
            names = (str(h_passed.member("fName")), str(h_total.member("fName")))
            if not (names[0].endswith("passed") and names[1].endswith("total")):
                raise ValueError(f"unexpected embedded histograms {names}")
            return (np.asarray(h_passed.values(flow=False), float),
                    np.asarray(h_total.values(flow=False), float))
        except Exception as err:  # layout not as expected (e.g. another uproot version)
            raise TEfficiencyLayoutError(str(err)) from err


class TEfficiencyLayoutError(RuntimeError):
    """The TEfficiency buffer does not have the layout :func:`read_tefficiency_counts` expects."""


def _check_clopper_pearson(passed: np.ndarray, total: np.ndarray, eff: dict[str, Any],
                           root: Path) -> None:
    """SigEffvsS errors must be the Clopper-Pearson intervals of passed/total (README: 6e-10)."""
    from scipy.stats import beta

    alpha = 1.0 - CP_LEVEL
    k, n = passed, total
    with np.errstate(all="ignore"):
        lo = np.where(k > 0, beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    eps = k / n
    bad = (np.abs((eps - lo) - eff["ey_low"]) > 1e-8) | (np.abs((hi - eps) - eff["ey_high"]) > 1e-8)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"asymmetric errors of period {i} are not the Clopper-Pearson "
                         f"interval of {k[i]:.0f}/{n[i]:.0f}", field="SigEffvsS",
                         source=str(eff["path"]),
                         fix="use input files of the same analysis version")


# -- PADME's rules -----------------------------------------------------------------------------
def _scan_part(s: np.ndarray, period: np.ndarray) -> np.ndarray:
    part = np.where(s < SQRT_S_MIN_SCAN, -1, np.where(period < FIRST_PERIOD_SCAN_1, 0, 1))
    part[period > LAST_PERIOD_SCAN_1] = -1
    return part.astype(np.int64)


def _patch_first_efficiency(s: np.ndarray, part: np.ndarray, eff: np.ndarray,
                            eff_err: np.ndarray, bkg: np.ndarray,
                            bkg_file_err: np.ndarray) -> dict[str, Any]:
    """Period 0's eps -> first sub-scan's eps/B line at sqrt(s_0), times B_0 (prepareInput.C).

    The weights use sigma_B with PADME's 0.3 % term whatever ``syst_bkg`` the caller chose, so
    that the patched value -- part of PADME's data definition -- does not depend on the error
    options.
    """
    bkg_err = bkg * np.sqrt(SYST_PADME**2 + (bkg_file_err / bkg) ** 2)
    ratio = eff / bkg
    sigma = ratio * np.sqrt((bkg_err / bkg) ** 2 + (eff_err / eff) ** 2)
    mask = (part == 0) & (np.arange(s.size) != 0)
    p, cov, chi2 = line_fit(s[mask], ratio[mask], sigma[mask])
    value = float((p[0] + p[1] * (s[0] - SQRTS_PIVOT_PADME)) * bkg[0])
    return {
        "what": "sig_eff of period 0 replaced: PADME's code calls it a bug ('first effi point "
                "has a bug and has higher eff'); its passed count is about twice that of the "
                "neighbouring periods",
        "period": 0,
        "sig_eff_file": float(eff[0]),
        "sig_eff_patched": value,
        "sig_eff_err": "unchanged (mean asymmetric error of the file value)",
        "rule": "eps/B straight line p0 + p1 (sqrt_s - 16.92 MeV) fitted to the other periods "
                "of sub-scan 0, weights 1/sigma^2 with sigma(eps/B) = (eps/B) "
                "sqrt((sigma_B/B)^2 + (sigma_eps/eps)^2), sigma_B including 0.3 %; "
                "eps_0 = line(sqrt_s_0) * B_0",
        "line_p0": float(p[0]), "line_p0_err": float(np.sqrt(cov[0, 0])),
        "line_p1_per_MeV": float(p[1]), "line_p1_err_per_MeV": float(np.sqrt(cov[1, 1])),
        "line_chi2": chi2, "line_points": int(mask.sum()),
    }


def _compare_stored_flags(root: Path, part: np.ndarray, files: dict[str, str],
                          links: list[str]) -> str | None:
    found = _locate(root, _FLAGS, files, links, required=False)
    if found is None:
        return None
    path, rel, name = found
    g = _read_graph(path, name, rel)
    if g["n"] != part.size or not np.array_equal(g["x"], np.arange(part.size)):
        return f"{rel}: {name} does not have one point per period; not compared"
    stored = g["y"]
    diff = np.flatnonzero(stored != part)
    if diff.size == 0:
        return f"{rel}: {name} agrees with the rule"
    return (f"{rel}: {name} differs from PADME's rule at periods "
            f"{_ranges(diff)} (stored {sorted(set(stored[diff].astype(int).tolist()))}, "
            f"rule {sorted(set(part[diff].tolist()))}); the rule is applied")


def _ranges(idx: np.ndarray) -> str:
    out, start = [], idx[0]
    for a, b in itertools.pairwise(idx):
        if b != a + 1:
            out.append(f"{start}-{a}" if a != start else f"{a}")
            start = b
    out.append(f"{start}-{idx[-1]}" if idx[-1] != start else f"{start}")
    return ", ".join(out)


def _meta(files: dict[str, str], links: list[str], syst_pot: float, syst_bkg: float,
          patch: dict[str, Any], passed: np.ndarray, total: np.ndarray, count_method: str,
          flags_note: str | None) -> dict[str, Any]:
    matches = all(KNOWN_SHA256.get(rel) == sha for rel, sha in files.items())
    meta: dict[str, Any] = {
        "name": "padme-run3",
        "observable": "2cl",
        "description": "PADME Run III beam-energy scan (2022): per data-taking period sqrt(s), "
                       "selected two-cluster yield N2, positrons on target, SM two-cluster "
                       "yield per PoT from simulation, X17 signal efficiency; 52 periods, "
                       "42 used in the fit",
        "source": f"https://github.com/{REPOSITORY}" + (f" @ {COMMIT}" if matches else ""),
        "source_repository": REPOSITORY,
        "source_commit": COMMIT if matches else "unknown (input checksums differ from "
                                                f"commit {COMMIT[:7]})",
        "input_sha256": dict(sorted(files.items())),
        "citation": CITATION,
        "licence": LICENCE,
        "importer": "x17scan.data.padme.import_padme",
        "selection": "scan_part = -1 if sqrt_s < 16.2 MeV, else 0 if period < 23, else 1; "
                     "-1 if period > 46 (PADME prepareInput.C); used = scan_part in {0, 1} "
                     "and pot > 1e6 (statisticalTreatmentTH.C)",
        "syst_added_in_quadrature": {"pot": syst_pot, "bkg_per_pot": syst_bkg},
        "errors": "pot_err, bkg_per_pot_err: file errors (+) the relative terms of "
                  "syst_added_in_quadrature; sig_eff_err: mean of the asymmetric "
                  "Clopper-Pearson errors; n_obs error is sqrt(n_obs) (not stored)",
        "e_beam": "(s - 2 m_e^2)/(2 m_e) with CODATA 2018 m_e = 0.51099895 MeV (PADME's code "
                  "uses 0.511 MeV, which gives E_beam lower by 2e-6 relative, 0.6 keV)",
        "patches": [patch],
        "sig_eff_counts": {"method": count_method,
                           "passed": passed.astype(int).tolist(),
                           "total": total.astype(int).tolist()},
    }
    if links:
        meta["links_followed"] = links
    if flags_note:
        meta["stored_scan_part_flags"] = flags_note
    return meta


def _check_syst(value: float, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number", field=name,
                         fix="give a relative error such as 0.003") from None
    if not np.isfinite(v) or v < 0 or v >= 1:
        raise InputError(f"{name} = {value!r} is not a relative error in [0, 1)", field=name,
                         fix="give a relative error such as 0.003 (PADME), or 0")
    return v


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 120 else text[:117] + "..."
