"""Scan plans: what a beam-energy scan intends to take (points, PoT) and the beam it uses.

A :class:`ScanPlan` is immutable and validated on construction. Plans live in TOML files;
the shipped ones are package data under ``x17scan/beam/plans/`` (``run3``: PADME Run III).

TOML layout (units: MeV, mm, mrad, ns)::

    [plan]    name, description, provenance
    [beam]    bes, energy_offset, spot_size = [sx, sy], divergence = [ex, ey],
              positrons_per_bunch, bunch_length, micro_bunch_length, micro_bunch_period,
              pot_rel_err, halo_rate_per_pot
    [target]  material ("diamond"), thickness
    [[points]] e_beam, pot, kind, run, pot_err, period, scan_part, used, label

Point kinds: ``on-resonance``, ``below``, ``over`` (off-resonance validation points with the
target) and ``no-target`` (beam-background runs: the beam goes through an empty target holder).
Points are listed in increasing E_beam (ties by increasing ``run``); the data-taking order is
``period``. ``pot`` and ``pot_err`` are absolute numbers of positrons (``pot_err`` defaults to
``pot`` x ``beam.pot_rel_err``); ``run``, ``period`` and ``scan_part`` are integers, ``used`` is
true or false, and a non-empty ``label`` names one point only.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from x17scan.errors import InputError
from x17scan.physics.constants import BES_PADME, DIAMOND, Material, Target
from x17scan.physics.kinematics import sqrt_s as _sqrt_s

KINDS: tuple[str, ...] = ("on-resonance", "below", "over", "no-target")
"""Allowed point kinds."""

MATERIALS: dict[str, Material] = {"diamond": DIAMOND}
"""Target materials a plan may name (from :mod:`x17scan.physics.constants`)."""

MIN_POT: float = 1e3
"""Smallest PoT of a point (positrons): below it the numbers are almost always in units of 1e10;
a real point holds 1e9 or more."""

MIN_POT_ERR: float = 1.0
"""Smallest non-zero PoT uncertainty of a point (positrons): below one it is almost always a
relative error."""

E_BEAM_RANGE: tuple[float, float] = (100.0, 550.0)
"""Beam energies (MeV) a plan may ask for. The DAFNE LINAC delivers positrons of 300-550 MeV to
the LNF Beam-Test Facility, and the BTF line selects lower energies (down to a few tens of MeV)
from a secondary beam (INFN LNF BTF documentation, wiki.infn.it/strutture/lnf/da/btf); PADME
ran at 205-402.5 MeV. 100 MeV is a conservative lower edge for a primary-like positron beam of
the intensity a scan needs (project choice)."""

_MIN_SPACING = 1e-3  # MeV: two points of the same run and target status closer than this clash

_TOP_KEYS = {"plan", "beam", "target", "points"}
_PLAN_KEYS = {"name", "description", "provenance"}
_BEAM_KEYS = {"bes", "energy_offset", "spot_size", "divergence", "positrons_per_bunch",
              "bunch_length", "micro_bunch_length", "micro_bunch_period", "pot_rel_err",
              "halo_rate_per_pot"}
_TARGET_KEYS = {"material", "thickness"}
_POINT_KEYS = {"e_beam", "pot", "pot_err", "kind", "run", "period", "scan_part", "used",
               "label"}

HALO_RATE_DEFAULT: float = 1.0e-8 / 3.0e-6 * 3.5e-6
"""Default beam-halo rate (1.17e-8 per positron): the *selected* no-target two-cluster rate per
PoT. Seeds (Raggi, LNF SC Nov. 2023, "Beam background estimates"): #2cl(noTarget)/#2cl(data) =
1e-8/3e-6 per PoT, a few per mille of the two-cluster yield; scaled here to PADME's
B ~ 3.5e-6 per PoT. The simulation converts it into generated halo events per PoT with
:data:`x17scan.sim.halo.HALO_SELECTED_FRACTION` (the fraction of halo events the Run III
selection keeps). A model calibrated to the seeds, not a measurement of this simulation."""


@dataclass(frozen=True)
class ScanPoint:
    """One point of a scan: nominal beam energy ``e_beam`` (MeV, total positron energy),
    positrons on target ``pot`` and its uncorrelated uncertainty ``pot_err`` (positrons),
    ``kind`` (see :data:`KINDS`), ``run`` index (repeated runs at one energy), data-taking
    ``period``, sub-scan index ``scan_part`` (-1: not part of the resonance scan), ``used``
    (enters the resonance fit) and a free ``label``."""

    e_beam: float
    pot: float
    pot_err: float
    kind: str = "on-resonance"
    run: int = 0
    period: int = 0
    scan_part: int = 0
    used: bool = True
    label: str = ""

    @property
    def sqrt_s(self) -> float:
        """Nominal CM energy (MeV) on an electron at rest (CODATA m_e)."""
        return float(_sqrt_s(self.e_beam))

    @property
    def has_target(self) -> bool:
        """False for the beam-background runs without target."""
        return self.kind != "no-target"


@dataclass(frozen=True)
class BunchStructure:
    """LINAC bunch: Poisson number of positrons with mean ``positrons_per_bunch``, spread over
    ``bunch_length`` ns as micro-bunches ``micro_bunch_length`` ns long, one every
    ``micro_bunch_period`` ns (docs/detector.md §1.2)."""

    positrons_per_bunch: float = 4000.0
    bunch_length: float = 250.0
    micro_bunch_length: float = 0.150
    micro_bunch_period: float = 0.500

    @property
    def n_micro(self) -> int:
        """Micro-bunches per bunch (500 for 250 ns / 0.5 ns)."""
        return max(1, round(self.bunch_length / self.micro_bunch_period))


@dataclass(frozen=True)
class ScanPlan:
    """A scan: its points and the beam and target it uses (immutable, validated).

    ``bes``: relative Gaussian beam-energy spread; ``energy_offset`` (MeV): true minus nominal
    beam energy (energy-scale error); ``spot_size`` (mm) and ``divergence`` (mrad): Gaussian
    sigmas in x and y, independent; ``pot_rel_err``: relative PoT uncertainty of points that do
    not give ``pot_err``; ``halo_rate_per_pot``: beam-halo events per positron."""

    name: str
    points: tuple[ScanPoint, ...]
    bes: float = BES_PADME
    energy_offset: float = 0.0
    spot_size: tuple[float, float] = (1.0, 1.0)
    divergence: tuple[float, float] = (1.0, 1.0)
    bunch: BunchStructure = field(default_factory=BunchStructure)
    pot_rel_err: float = 0.003
    target: Target = field(default_factory=lambda: Target(DIAMOND, 0.100))
    halo_rate_per_pot: float = HALO_RATE_DEFAULT
    description: str = ""
    provenance: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "spot_size", tuple(float(v) for v in self.spot_size))
        object.__setattr__(self, "divergence", tuple(float(v) for v in self.divergence))
        _validate(self)

    # -- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.points)

    def select(self, kinds: Iterable[str]) -> ScanPlan:
        """The plan restricted to points of the given kinds (order kept)."""
        ks = set(kinds)
        bad = ks - set(KINDS)
        if bad:
            raise InputError(f"unknown point kind(s) {sorted(bad)}", field="kinds",
                             fix=f"use {', '.join(KINDS)}")
        return dataclasses.replace(self, points=tuple(p for p in self.points if p.kind in ks))

    def replace(self, **changes: Any) -> ScanPlan:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def target_points(self) -> tuple[ScanPoint, ...]:
        """Points taken with the target in."""
        return tuple(p for p in self.points if p.has_target)

    def sqrt_s_range(self) -> tuple[float, float]:
        """(min, max) nominal sqrt(s) (MeV) of the points with target."""
        s = [p.sqrt_s for p in self.target_points]
        if not s:
            return (math.nan, math.nan)
        return (min(s), max(s))

    def e_beam_true(self, point: ScanPoint) -> float:
        """Mean true beam energy (MeV) of ``point``: nominal + energy-scale offset."""
        return point.e_beam + self.energy_offset

    # -- I/O ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as a TOML-ready mapping (inverse of :func:`plan_from_dict`)."""
        mat = next((k for k, v in MATERIALS.items() if v == self.target.material),
                   self.target.material.name)
        return {
            "plan": {"name": self.name, "description": self.description,
                     "provenance": self.provenance},
            "beam": {"bes": self.bes, "energy_offset": self.energy_offset,
                     "spot_size": list(self.spot_size), "divergence": list(self.divergence),
                     "positrons_per_bunch": self.bunch.positrons_per_bunch,
                     "bunch_length": self.bunch.bunch_length,
                     "micro_bunch_length": self.bunch.micro_bunch_length,
                     "micro_bunch_period": self.bunch.micro_bunch_period,
                     "pot_rel_err": self.pot_rel_err,
                     "halo_rate_per_pot": self.halo_rate_per_pot},
            "target": {"material": mat, "thickness": self.target.thickness},
            "points": [dataclasses.asdict(p) for p in self.points],
        }

    def to_toml(self, header: str = "") -> str:
        """TOML text of the plan; ``header`` lines are written as leading comments."""
        import tomli_w

        text = tomli_w.dumps(self.to_dict())
        if header:
            text = "".join(f"# {ln}\n" if ln else "#\n" for ln in header.splitlines()) + text
        return text

    def fingerprint(self) -> str:
        """Stable short hash of the plan's content."""
        from x17scan.parallel import job_fingerprint

        return job_fingerprint(self.to_dict())


# -- validation ---------------------------------------------------------------------------------
def _err(msg: str, fld: str, fix: str, row: int | None = None) -> InputError:
    return InputError(msg, field=fld, fix=fix, row=row)


def _finite_pos(v: float, fld: str, fix: str, allow_zero: bool = False,
                row: int | None = None) -> None:
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        what = "negative" if v < 0 else ("zero" if v == 0 else "not finite")
        raise _err(f"{fld.split('.')[-1]} = {v} is {what}", fld, fix, row)


def _validate(p: ScanPlan) -> None:
    if not p.points:
        raise _err("the plan has no points", "points", "give at least one point")
    if not (math.isfinite(p.bes) and 0 <= p.bes < 0.1):
        raise _err(f"bes = {p.bes} is not a relative spread in [0, 0.1)", "beam.bes",
                   "give the relative beam-energy spread, e.g. 0.0025 for 0.25 %")
    if not (math.isfinite(p.energy_offset) and abs(p.energy_offset) < 50):
        raise _err(f"energy_offset = {p.energy_offset} MeV is implausible", "beam.energy_offset",
                   "give the energy-scale offset in MeV (|offset| < 50)")
    for key, val in (("spot_size", p.spot_size), ("divergence", p.divergence)):
        if len(val) != 2:
            raise _err(f"{key} needs two values [x, y], got {list(val)}", f"beam.{key}",
                       "give [sigma_x, sigma_y]")
        for v in val:
            _finite_pos(v, f"beam.{key}", "give non-negative Gaussian sigmas", allow_zero=True)
    b = p.bunch
    _finite_pos(b.positrons_per_bunch, "beam.positrons_per_bunch",
                "give the mean number of positrons per bunch (PADME Run III: ~4000)",
                allow_zero=True)
    _finite_pos(b.bunch_length, "beam.bunch_length", "give the bunch length in ns")
    _finite_pos(b.micro_bunch_period, "beam.micro_bunch_period", "give the period in ns")
    _finite_pos(b.micro_bunch_length, "beam.micro_bunch_length", "give the length in ns")
    if b.micro_bunch_length > b.micro_bunch_period:
        raise _err("micro-bunches longer than their period", "beam.micro_bunch_length",
                   "micro_bunch_length must be <= micro_bunch_period")
    _finite_pos(p.pot_rel_err, "beam.pot_rel_err", "give a relative uncertainty, e.g. 0.003",
                allow_zero=True)
    if p.pot_rel_err >= 1:
        raise _err(f"pot_rel_err = {p.pot_rel_err} is not a fraction below 1", "beam.pot_rel_err",
                   "give the relative PoT uncertainty as a fraction, e.g. 0.003 for 0.3 %")
    _finite_pos(p.halo_rate_per_pot, "beam.halo_rate_per_pot",
                "give the beam-halo event rate per positron (>= 0)", allow_zero=True)
    _finite_pos(p.target.thickness, "target.thickness", "give the thickness in mm (e.g. 0.1)")
    if p.target.thickness > 10:
        raise _err(f"thickness = {p.target.thickness} mm is not a thin target",
                   "target.thickness", "give the thickness in mm (PADME: 0.1)")

    lo, hi = E_BEAM_RANGE
    prev = None
    labels: dict[str, int] = {}
    for i, pt in enumerate(p.points):
        f = f"points[{i}]"
        if pt.kind not in KINDS:
            raise _err(f"unknown kind {pt.kind!r}", f"{f}.kind", f"use one of {', '.join(KINDS)}",
                       i)
        if not math.isfinite(pt.e_beam) or pt.e_beam <= 0:
            raise _err(f"e_beam = {pt.e_beam} MeV is not positive", f"{f}.e_beam",
                       "give the total positron energy in MeV", i)
        if not lo <= pt.e_beam <= hi:
            raise _err(f"e_beam = {pt.e_beam} MeV is outside the BTF beam-line range "
                       f"{lo:g}-{hi:g} MeV", f"{f}.e_beam",
                       "give the beam energy in MeV (not GeV, not sqrt(s))", i)
        _finite_pos(pt.pot, f"{f}.pot", "give the number of positrons on target (> 0)", row=i)
        if pt.pot < MIN_POT:
            raise _err(f"pot = {pt.pot} is implausibly small", f"{f}.pot",
                       "give the absolute number of positrons (e.g. 1e10)", i)
        _finite_pos(pt.pot_err, f"{f}.pot_err", "uncertainties are non-negative",
                    allow_zero=True, row=i)
        if 0 < pt.pot_err < MIN_POT_ERR:
            raise _err(f"pot_err = {pt.pot_err} is below one positron: it looks like a relative"
                       " error", f"{f}.pot_err", "give the absolute uncertainty (pot x relative"
                       " error), or leave it out to use beam.pot_rel_err", i)
        if pt.pot_err >= pt.pot:
            raise _err(f"pot_err = {pt.pot_err} is not below pot = {pt.pot}", f"{f}.pot_err",
                       "give the absolute PoT uncertainty", i)
        if pt.run < 0:
            raise _err(f"run = {pt.run} is negative", f"{f}.run",
                       "number repeated runs at one energy 0, 1, 2, ...", i)
        if pt.label and pt.label in labels:
            raise _err(f"label {pt.label!r} is already used by point {labels[pt.label]}",
                       f"{f}.label", "give every point its own label", i)
        labels[pt.label] = i
        key = (pt.e_beam, pt.run)
        if prev is not None:
            if key < prev[0]:
                raise _err(f"points are not sorted by e_beam (then run): {prev[0]} before {key}",
                           f"{f}.e_beam", "list the points in increasing e_beam, ties by run",
                           i)
            same_run = pt.run == prev[1].run and pt.has_target == prev[1].has_target
            if same_run and abs(pt.e_beam - prev[1].e_beam) < _MIN_SPACING:
                raise _err(f"point duplicates or overlaps point {i - 1} (e_beam {pt.e_beam} MeV,"
                           f" run {pt.run})", f"{f}.e_beam",
                           "merge the two points or give them different run indices", i)
        prev = (key, pt)


# -- loading --------------------------------------------------------------------------------------
def _check_keys(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise InputError(f"unknown key {bad[0]!r}", field=f"{where}{bad[0]}",
                         fix=f"allowed keys: {', '.join(sorted(allowed))}")


def _num(d: Mapping[str, Any], key: str, default: Any, where: str,
         vector: bool = False) -> Any:
    """The number at ``key`` (or, with ``vector``, a number or a list of numbers)."""
    v = d.get(key, default)
    items = v if vector and isinstance(v, list | tuple) else [v]
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in items):
        raise InputError(f"{key} = {v!r} is not a number", field=f"{where}{key}",
                         fix="give a number, or [x, y]" if vector else "give a number")
    return v


def _int(d: Mapping[str, Any], key: str, default: int, where: str) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(f"{key} = {v!r} is not an integer", field=f"{where}{key}",
                         fix="give a whole number")
    return v


def _bool(d: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        # bool("no") is True: a string here would silently mean the opposite
        raise InputError(f"{key} = {v!r} is not true or false", field=f"{where}{key}",
                         fix="write true or false without quotes")
    return v


def plan_from_dict(d: Mapping[str, Any], source: str | None = None) -> ScanPlan:
    """Build a :class:`ScanPlan` from a parsed TOML mapping (see the module docstring)."""
    try:
        return _plan_from_dict(d)
    except InputError as err:
        raise (err.with_source(source) if source else err) from None


def _plan_from_dict(d: Mapping[str, Any]) -> ScanPlan:
    _check_keys(d, _TOP_KEYS, "")
    for key in ("plan", "beam", "target"):
        if not isinstance(d.get(key, {}), Mapping):
            raise InputError(f"{key} = {d[key]!r} is not a table", field=key,
                             fix=f"write it as a [{key}] table of key = value lines")
    meta = d.get("plan", {})
    beam = d.get("beam", {})
    tgt = d.get("target", {})
    _check_keys(meta, _PLAN_KEYS, "plan.")
    _check_keys(beam, _BEAM_KEYS, "beam.")
    _check_keys(tgt, _TARGET_KEYS, "target.")
    raw_points = d.get("points")
    if not isinstance(raw_points, list) or not raw_points:
        raise InputError("the plan has no points", field="points",
                         fix="add one points table (double-bracketed) per point, with e_beam "
                         "and pot")
    rel = float(_num(beam, "pot_rel_err", 0.003, "beam."))
    pts = []
    for i, rp in enumerate(raw_points):
        if not isinstance(rp, Mapping):
            raise InputError(f"point {rp!r} is not a table", field=f"points[{i}]", row=i,
                             fix="add one points table (double-bracketed) per point")
        bad = sorted(set(rp) - _POINT_KEYS)
        if bad:
            raise InputError(f"unknown key {bad[0]!r}", field=f"points[{i}].{bad[0]}", row=i,
                             fix=f"allowed keys: {', '.join(sorted(_POINT_KEYS))}")
        for req in ("e_beam", "pot"):
            if req not in rp:
                raise InputError(f"missing {req}", field=f"points[{i}].{req}", row=i,
                                 fix=f"give {req} for every point")
        where = f"points[{i}]."
        e = float(_num(rp, "e_beam", None, where))
        pot = float(_num(rp, "pot", None, where))
        if "pot_err" not in rp and pot >= MIN_POT and 0 < pot * rel < MIN_POT_ERR:
            # The default would fail later naming points[i].pot_err, a key the user did not write.
            raise InputError(f"pot_rel_err = {rel:g} gives point {i} (pot = {pot:g}) a PoT "
                             "uncertainty below one positron", field="beam.pot_rel_err", row=i,
                             fix="give a relative uncertainty such as 0.003 (0.3 %), or pot_err "
                             "for that point")
        pts.append(ScanPoint(
            e_beam=e, pot=pot,
            pot_err=float(_num(rp, "pot_err", abs(pot) * rel, where)),
            kind=str(rp.get("kind", "on-resonance")), run=_int(rp, "run", 0, where),
            period=_int(rp, "period", i, where), scan_part=_int(rp, "scan_part", 0, where),
            used=_bool(rp, "used", True, where), label=str(rp.get("label", ""))))
    mat_name = str(tgt.get("material", "diamond"))
    if mat_name not in MATERIALS:
        raise InputError(f"unknown target material {mat_name!r}", field="target.material",
                         fix=f"use one of {', '.join(MATERIALS)}")
    spot = _num(beam, "spot_size", (1.0, 1.0), "beam.", vector=True)
    div = _num(beam, "divergence", (1.0, 1.0), "beam.", vector=True)
    if isinstance(spot, int | float):
        spot = (spot, spot)
    if isinstance(div, int | float):
        div = (div, div)
    return ScanPlan(
        name=str(meta.get("name", "unnamed")), points=tuple(pts),
        bes=float(_num(beam, "bes", BES_PADME, "beam.")),
        energy_offset=float(_num(beam, "energy_offset", 0.0, "beam.")),
        spot_size=tuple(spot), divergence=tuple(div),
        bunch=BunchStructure(
            positrons_per_bunch=float(_num(beam, "positrons_per_bunch", 4000.0, "beam.")),
            bunch_length=float(_num(beam, "bunch_length", 250.0, "beam.")),
            micro_bunch_length=float(_num(beam, "micro_bunch_length", 0.150, "beam.")),
            micro_bunch_period=float(_num(beam, "micro_bunch_period", 0.5, "beam."))),
        pot_rel_err=rel,
        target=Target(MATERIALS[mat_name], float(_num(tgt, "thickness", 0.1, "target."))),
        halo_rate_per_pot=float(_num(beam, "halo_rate_per_pot", HALO_RATE_DEFAULT, "beam.")),
        description=str(meta.get("description", "")),
        provenance=str(meta.get("provenance", "")),
    )


def shipped_plans() -> list[str]:
    """Names of the plans shipped with x17scan."""
    folder = resources.files("x17scan.beam") / "plans"
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".toml"))


def load_plan(name_or_path: str | Path | ScanPlan) -> ScanPlan:
    """Load a plan: a shipped name (``"run3"``) or a path to a TOML file."""
    if isinstance(name_or_path, ScanPlan):
        return name_or_path
    s = str(name_or_path)
    path = Path(s)
    if s in shipped_plans():
        text = (resources.files("x17scan.beam") / "plans" / f"{s}.toml").read_text("utf-8")
        source = f"plan '{s}'"
    elif path.suffix == ".toml" and path.is_file():
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read the file ({err})", field="--plan", source=source,
                             fix="pass a UTF-8 TOML file") from None
    else:
        raise InputError(f"unknown plan {s!r}", field="--plan",
                         fix=f"use a shipped plan ({', '.join(shipped_plans())}) or a .toml file")
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML ({err})", field="--plan", source=source,
                         fix="fix the TOML syntax") from None
    return plan_from_dict(d, source=source)
