"""Fast detector response of a PADME Run III-like setup: ECal crystal hits and ETag bar hits.

:func:`respond` turns :class:`~x17scan.sim.events.TruthEvents` into :class:`Hits`:

* every e+-/photon travels on a straight line from its vertex (dipole off in Run III; with a
  ``[magnet]`` field the e+- lines are those of :func:`x17scan.sim.magnet.bend`);
* the ETag (upstream) fires for charged particles with probability ``etag.efficiency``, for
  photons only after a conversion (``etag.photon_conversion``);
* in the ECal the particle's energy (kinetic + 2 m_e for e+, kinetic for e-, E for photons) is
  smeared once per particle with sigma_E^2 = a^2 (1 GeV) E + b^2 + c^2 E^2 (the PadmeReco
  resolution function 2 %/sqrt(E/GeV) + 0.03 MeV + 1.2 %, docs/detector.md §1.4; a cluster then
  has this resolution, the hits of one shower fluctuate together), scaled by the visible fraction
  and shared among the K x K cells around the point where the particle's line reaches the depth
  of the shower maximum (:mod:`x17scan.sim.shower`); energy in the central hole or outside the
  grid is lost;
* deposits of all interactions of one ``bunch`` are overlaid: deposits in one crystal within
  ``merge_window`` (5 ns) make one hit with energy-weighted time (PadmeMC ECalDigitizer);
* each hit gets a Gaussian time jitter (``time_resolution``, 0.8 ns) and hits below
  ``readout_threshold`` (1 MeV) are dropped.

Units: MeV, mm, ns. The random numbers come from one ``numpy.random.Generator`` draw per call
(a 64-bit seed of an in-kernel SplitMix64 stream; Gaussian deviates from a 2^14-quantile table,
tails cut at 3.9 sigma), so the same generator state gives bit-identical hits. The hot loop is a
numba kernel over blocks of readout events (bunches) (:class:`DigitizerRun`);
:func:`x17scan.reco.reconstruct` clusters each block right after it is digitised, without
storing the hits of the whole chunk.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numpy.typing import NDArray
from scipy.special import ndtri

from x17scan.errors import InputError
from x17scan.physics.constants import C_MM_PER_NS, M_E
from x17scan.sim.ecal import CENTRE, N_CELLS, N_SIDE, EcalGeometry, parse_map
from x17scan.sim.etag import EtagConfig
from x17scan.sim.magnet import YOKE_Z_END, YOKE_Z_START, DipoleField, bend
from x17scan.sim.shower import ShowerModel

# =============================================================================================
# TOML schema checking (shared with x17scan.reco.selection)
# =============================================================================================
_REQUIRED = object()


@dataclass(frozen=True)
class Opt:
    """One key of a TOML table: its kind, default and constraints.

    kind: "float", "int", "bool", "str", "floats" (list), "ints", "strs".
    ``length``: required list length; ``lo``/``hi``: inclusive bounds (``lo_open``: strict);
    ``choices``: allowed strings."""

    kind: str
    default: Any = _REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    length: int | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""


def _kind_name(kind: str) -> str:
    return {"float": "a number", "int": "an integer", "bool": "true or false",
            "str": "a string", "floats": "a list of numbers", "ints": "a list of integers",
            "strs": "a list of strings"}[kind]


def _check_scalar(value: Any, kind: str) -> bool:
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def parse_table(doc: dict, spec: dict, source: str, prefix: str = "") -> dict:
    """Check ``doc`` against ``spec`` (key -> :class:`Opt` or nested spec dict) and return a
    new dict with defaults filled in. Raises :class:`InputError` naming the key and the fix for
    unknown keys, missing keys, wrong types and values out of bounds."""
    out: dict[str, Any] = {}
    for key in doc:
        if key not in spec:
            name = f"{prefix}{key}"
            raise InputError(f"unknown key '{name}'", field=name, source=source,
                             fix=f"remove it or use one of: {', '.join(sorted(spec))}")
    for key, opt in spec.items():
        name = f"{prefix}{key}"
        if isinstance(opt, dict):
            sub = doc.get(key, {})
            if not isinstance(sub, dict):
                raise InputError(f"'{name}' must be a table ([{name}])", field=name,
                                 source=source, fix=f"write it as a [{name}] section")
            out[key] = parse_table(sub, opt, source, prefix=f"{name}.")
            continue
        if key not in doc:
            if opt.default is _REQUIRED:
                raise InputError(f"required key '{name}' is missing", field=name, source=source,
                                 fix=f"add {name} = <{_kind_name(opt.kind)}> {opt.help}".strip())
            out[key] = opt.default
            continue
        out[key] = _parse_value(doc[key], opt, name, source)
    return out


def merge_tables(base: dict, over: dict) -> dict:
    """A TOML document ``base`` with the keys of ``over`` replaced, table by table (what a file
    with ``base = NAME`` means: the preset, changed only where the file says so)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = (merge_tables(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict)
                  else v)
    return out


def resolve_base(doc: dict, presets: Sequence[str], document: Callable[[str], dict],
                 source: str, what: str) -> tuple[dict, str | None]:
    """``doc`` without its ``base = NAME`` key, merged over ``document(NAME)`` (NAME one of
    ``presets``), and NAME; ``doc`` unchanged and None without a base. :class:`InputError`
    naming ``base`` for anything but a preset name (``what``: "detector", "selection")."""
    if "base" not in doc:
        return doc, None
    over = dict(doc)
    base = over.pop("base")
    if not isinstance(base, str) or base not in presets:
        raise InputError(f"unknown base {what} {base!r}", field="base", source=source,
                         fix=f"use one of: {', '.join(presets)}")
    return merge_tables(document(base), over), base


def _parse_value(value: Any, opt: Opt, name: str, source: str) -> Any:
    kind = opt.kind
    scalar = kind.rstrip("s") if kind in ("floats", "ints", "strs") else kind
    if kind in ("floats", "ints", "strs"):
        if not isinstance(value, list) or not all(_check_scalar(v, scalar) for v in value):
            raise InputError(f"'{name}' must be {_kind_name(kind)}, got {value!r}", field=name,
                             source=source, fix=f"write e.g. {name} = {_example(opt)}")
        if opt.length is not None and len(value) != opt.length:
            raise InputError(f"'{name}' must have {opt.length} entries, got {len(value)}",
                             field=name, source=source,
                             fix=f"give exactly {opt.length} values")
        items = [_bounded(v, opt, name, source) for v in value]
        return [float(v) for v in items] if scalar == "float" else items
    if not _check_scalar(value, kind):
        raise InputError(f"'{name}' must be {_kind_name(kind)}, got {value!r}", field=name,
                         source=source, fix=f"write e.g. {name} = {_example(opt)}")
    value = _bounded(value, opt, name, source)
    return float(value) if kind == "float" else value


def _bounded(v: Any, opt: Opt, name: str, source: str) -> Any:
    if isinstance(v, str):
        if opt.choices is not None and v not in opt.choices:
            raise InputError(f"'{name}' = {v!r} is not allowed", field=name, source=source,
                             fix=f"use one of: {', '.join(opt.choices)}")
        return v
    if isinstance(v, bool):
        return v
    if not math.isfinite(v):
        raise InputError(f"'{name}' must be finite, got {v}", field=name, source=source,
                         fix="give a finite number")
    hint = f" {opt.help}" if opt.help else ""
    if opt.lo is not None and (v <= opt.lo if opt.lo_open else v < opt.lo):
        rel = ">" if opt.lo_open else ">="
        raise InputError(f"'{name}' must be {rel} {opt.lo}, got {v}", field=name, source=source,
                         fix=f"set {name} {rel} {opt.lo}{hint}")
    if opt.hi is not None and v > opt.hi:
        raise InputError(f"'{name}' must be <= {opt.hi}, got {v}", field=name, source=source,
                         fix=f"set {name} <= {opt.hi}{hint}")
    return v


def _example(opt: Opt) -> str:
    if opt.default is not _REQUIRED:
        d = opt.default
        if isinstance(d, bool):
            return "true" if d else "false"
        if isinstance(d, str):
            return f'"{d}"'
        if isinstance(d, list | tuple):
            return "[" + ", ".join(f'"{x}"' if isinstance(x, str) else repr(x)
                                   for x in d) + "]"
        return repr(d)
    return {"float": "1.0", "int": "1", "bool": "true", "str": '"text"', "floats": "[1.0, 2.0]",
            "ints": "[1, 2]", "strs": '["a", "b"]'}[opt.kind]


def load_toml(path: str | Path) -> dict:
    """Read a TOML file; a missing or unparsable file raises :class:`InputError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", field="path", source=str(p),
                         fix="check the path, or give a shipped preset name") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the file ({err})", field="path", source=str(p),
                         fix="pass a UTF-8 TOML file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", source=str(p),
                         fix="fix the TOML syntax at the position given") from None


# =============================================================================================
# Configuration
# =============================================================================================
@dataclass(frozen=True, eq=False)
class EcalResponse:
    """ECal response parameters.

    Attributes
    ----------
    stochastic
        a in sigma_E/E = a/sqrt(E/GeV) (0.02).
    noise
        b (MeV) in sigma_E/E = b/E (0.03 MeV = 0.00003 GeV).
    constant
        c in sigma_E/E = c (0.012).
    time_resolution
        Gaussian jitter of each hit time (ns).
    time_offset
        Constant added to hit times (ns).
    merge_window
        Deposits in one crystal closer than this (ns) are one hit.
    readout_threshold
        Hits below this energy (MeV) are not read out.
    """

    stochastic: float = 0.02
    noise: float = 0.03
    constant: float = 0.012
    time_resolution: float = 0.8
    time_offset: float = 0.0
    merge_window: float = 5.0
    readout_threshold: float = 1.0

    def sigma(self, energy: NDArray | float) -> NDArray[np.float64]:
        """Energy resolution sigma_E (MeV) at ``energy`` (MeV)."""
        e = np.asarray(energy, dtype=float)
        return np.sqrt(self.stochastic**2 * 1000.0 * e + self.noise**2
                       + (self.constant * e) ** 2)


_ECAL_SPEC = {
    "z_front": Opt("float", lo=0, lo_open=True, help="(mm)"),
    "pitch": Opt("float", lo=0, lo_open=True, help="(mm)"),
    "offset": Opt("floats", default=[0.0, 0.0], length=2),
    "crystal_size": Opt("float", default=21.0, lo=0, lo_open=True),
    "crystal_length": Opt("float", default=230.0, lo=0, lo_open=True),
    "map": Opt("strs", length=N_SIDE, help="(29 strings of 29 characters 0/1)"),
}
_RESPONSE_SPEC = {
    # upper bounds far beyond any EM calorimeter: they catch per cent written as a fraction
    "stochastic": Opt("float", default=0.02, lo=0, hi=0.5,
                      help="(a fraction: 0.02 is 2 %/sqrt(E/GeV))"),
    "noise": Opt("float", default=0.03, lo=0, help="(MeV)"),
    "constant": Opt("float", default=0.012, lo=0, hi=0.2, help="(a fraction: 0.012 is 1.2 %)"),
    "time_resolution": Opt("float", default=0.8, lo=0),
    "time_offset": Opt("float", default=0.0),
    "merge_window": Opt("float", default=5.0, lo=0),
    "readout_threshold": Opt("float", default=1.0, lo=0),
}
_SHOWER_SPEC = {
    "moliere_radius": Opt("float", default=22.3, lo=0, lo_open=True),
    "radiation_length": Opt("float", default=11.2, lo=0, lo_open=True),
    "critical_energy": Opt("float", default=10.2, lo=0, lo_open=True),
    "depth_c_photon": Opt("float", default=0.5),
    "depth_c_electron": Opt("float", default=-0.5),
    "weights": Opt("floats", default=[0.8, 0.2], lo=0),
    "radii": Opt("floats", default=[0.168, 0.80], lo=0, lo_open=True),
    "block": Opt("int", default=5, lo=1, hi=9),
    "table_bins": Opt("int", default=32, lo=2, hi=512),
    "visible_fraction": Opt("float", default=1.0, lo=0, lo_open=True, hi=1.0),
}
_ETAG_SPEC = {
    "enabled": Opt("bool", default=True),
    "z": Opt("float", default=3624.7, lo=0, lo_open=True),
    "n_rows": Opt("int", default=15, lo=1, hi=99),
    "row_pitch": Opt("float", default=44.3, lo=0, lo_open=True),
    "bar_height": Opt("float", default=44.0, lo=0, lo_open=True),
    "bar_length": Opt("float", default=660.0, lo=0, lo_open=True),
    "short_rows": Opt("ints", default=[6, 7, 8], lo=0),
    "short_bar_length": Opt("float", default=265.0, lo=0),
    "short_bar_centre": Opt("float", default=197.5, lo=0),
    "efficiency": Opt("float", default=0.99, lo=0, hi=1),
    "photon_conversion": Opt("float", default=0.005, lo=0, hi=1),
    "time_resolution": Opt("float", default=1.0, lo=0),
    "merge_window": Opt("float", default=17.0, lo=0),
}
_MAGNET_SPEC = {
    "field": Opt("float", default=0.0, help="(T, vertical; 0 = dipole off as in Run III)"),
    "z_start": Opt("float", default=YOKE_Z_START, lo=0, help="(mm from the target)"),
    "z_end": Opt("float", default=YOKE_Z_END, lo=0, help="(mm from the target)"),
}
DETECTOR_SPEC = {
    "schema": Opt("int", default=1, lo=1, hi=1),
    "name": Opt("str", default="custom"),
    "description": Opt("str", default=""),
    "ecal": _ECAL_SPEC,
    "response": _RESPONSE_SPEC,
    "shower": _SHOWER_SPEC,
    "etag": _ETAG_SPEC,
    "magnet": _MAGNET_SPEC,
}


@dataclass(frozen=True, eq=False)
class DetectorConfig:
    """Geometry and response of the fast detector simulation (lengths mm, energies MeV, times
    ns). Load with :meth:`from_toml` or :meth:`default_run3` (package data
    ``sim/detectors/run3.toml``, every value with its source)."""

    ecal: EcalGeometry
    response: EcalResponse = field(default_factory=EcalResponse)
    shower: ShowerModel = field(default_factory=ShowerModel)
    etag: EtagConfig | None = field(default_factory=EtagConfig)
    magnet: DipoleField = field(default_factory=DipoleField)
    name: str = "custom"
    source: str = ""

    @classmethod
    def from_dict(cls, doc: dict, source: str = "<dict>") -> DetectorConfig:
        """Build from a parsed TOML document (checked against the schema)."""
        d = parse_table(doc, DETECTOR_SPEC, source)
        e = d["ecal"]
        try:
            mask = parse_map(e["map"])
        except ValueError as err:
            raise InputError(str(err), field="ecal.map", source=source,
                             fix="give 29 strings of 29 characters '0'/'1'") from None
        ecal = EcalGeometry(mask=mask, pitch=e["pitch"], z_front=e["z_front"],
                            offset=tuple(e["offset"]), crystal_size=e["crystal_size"],
                            crystal_length=e["crystal_length"])
        if ecal.crystal_size > ecal.pitch:
            raise InputError(f"crystal_size {ecal.crystal_size} mm exceeds the pitch "
                             f"{ecal.pitch} mm", field="ecal.crystal_size", source=source,
                             fix="crystal_size must be <= pitch")
        s = d["shower"]
        if len(s["weights"]) != len(s["radii"]) or not s["weights"]:
            raise InputError("shower.weights and shower.radii must have the same length",
                             field="shower.weights", source=source,
                             fix="give one weight per radius")
        if abs(sum(s["weights"]) - 1.0) > 1e-6:
            raise InputError(f"shower.weights must sum to 1, got {sum(s['weights'])}",
                             field="shower.weights", source=source, fix="normalise the weights")
        if s["block"] % 2 != 1:
            raise InputError(f"shower.block must be odd, got {s['block']}",
                             field="shower.block", source=source, fix="use 3, 5, 7 or 9")
        shower = ShowerModel(**s)
        t = dict(d["etag"])
        etag = None
        if t.pop("enabled"):
            if any(r >= t["n_rows"] for r in t["short_rows"]):
                raise InputError("etag.short_rows must be < n_rows", field="etag.short_rows",
                                 source=source, fix="list rows 0..n_rows-1")
            etag = EtagConfig(**t)
            if 2 * etag.gap_half_width < 0 and etag.short_rows:
                raise InputError("ETag short bars overlap at x = 0",
                                 field="etag.short_bar_centre", source=source,
                                 fix="short_bar_centre must be >= short_bar_length / 2")
        if etag is not None and etag.z >= ecal.z_front:
            raise InputError(f"etag.z = {etag.z} mm is not upstream of the ECal face "
                             f"({ecal.z_front} mm)", field="etag.z", source=source,
                             fix="the ETag must be in front of the ECal")
        magnet = DipoleField(**d["magnet"])
        if magnet.z_end <= magnet.z_start:
            raise InputError(f"magnet.z_end = {magnet.z_end} mm is not downstream of z_start = "
                             f"{magnet.z_start} mm", field="magnet.z_end", source=source,
                             fix="give z_start < z_end")
        first = etag.z if etag is not None else ecal.z_front
        if magnet.z_end > first:
            raise InputError(f"magnet.z_end = {magnet.z_end} mm is beyond the first detector "
                             f"plane ({first} mm)", field="magnet.z_end", source=source,
                             fix="the field region must end upstream of the ETag and ECal")
        return cls(ecal=ecal, response=EcalResponse(**d["response"]), shower=shower,
                   etag=etag, magnet=magnet, name=d["name"], source=source)

    @classmethod
    def from_toml(cls, path: str | Path) -> DetectorConfig:
        """Load and check a detector TOML file (:class:`InputError` on bad input). A file with
        ``base = NAME`` (a :data:`PRESETS` name) holds only what differs from that preset,
        table by table (e.g. a ``[magnet]`` table)."""
        doc, _ = resolve_base(load_toml(path), PRESETS, preset_document, str(path), "detector")
        return cls.from_dict(doc, source=str(path))

    @classmethod
    def preset(cls, name: str) -> DetectorConfig:
        """A shipped configuration by name (:data:`PRESETS`; cached)."""
        return _preset(name)

    @classmethod
    def default_run3(cls) -> DetectorConfig:
        """The shipped PADME Run III-like configuration (``sim/detectors/run3.toml``)."""
        return _preset("run3")

    def replace(self, **changes: Any) -> DetectorConfig:
        """Copy with some top-level fields replaced (``ecal``, ``response``, ...)."""
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        kw.update(changes)
        return DetectorConfig(**kw)

    # -- arrays for the kernels ---------------------------------------------------------------
    @cached_property
    def kernel_params(self) -> NDArray[np.float64]:
        """Flat parameter vector of the numba kernels (indices ``_P_*``)."""
        p = np.zeros(_NPAR)
        g, r, s = self.ecal, self.response, self.shower
        p[_P_PITCH], p[_P_XOFF], p[_P_YOFF], p[_P_ZFACE] = g.pitch, *g.offset, g.z_front
        p[_P_X0], p[_P_EC] = s.radiation_length, s.critical_energy
        p[_P_CG], p[_P_CE], p[_P_VIS] = s.depth_c_photon, s.depth_c_electron, s.visible_fraction
        p[_P_A], p[_P_B], p[_P_C] = r.stochastic, r.noise, r.constant
        p[_P_TRES], p[_P_TOFF] = r.time_resolution, r.time_offset
        p[_P_MERGE], p[_P_THR] = r.merge_window, r.readout_threshold
        p[_P_K], p[_P_NB] = s.block, s.table_bins
        p[_P_ME], p[_P_CLIGHT] = M_E, C_MM_PER_NS
        t = self.etag
        if t is not None:
            p[_P_ETON] = 1.0
            p[_P_ZET], p[_P_ROWP], p[_P_BARH] = t.z, t.row_pitch, t.bar_height
            p[_P_BARL], p[_P_GAP], p[_P_NROWS] = t.bar_length, t.gap_half_width, t.n_rows
            p[_P_ETEFF], p[_P_CONV] = t.efficiency, t.photon_conversion
            p[_P_ETTRES], p[_P_ETMERGE] = t.time_resolution, t.merge_window
        p.setflags(write=False)
        return p

    @cached_property
    def etag_short_mask(self) -> NDArray[np.uint8]:
        """(n_rows,) uint8 short-bar rows (a dummy row when the ETag is disabled)."""
        return self.etag.short_mask() if self.etag is not None else np.zeros(1, np.uint8)

    @cached_property
    def sharing_table(self) -> NDArray[np.float64]:
        """Sharing fractions for this geometry's pitch (see :meth:`ShowerModel.sharing_table`)."""
        return self.shower.sharing_table(self.ecal.pitch)

    @cached_property
    def block_valid(self) -> NDArray[np.uint8]:
        """uint8 [(iy + h + 1) * W + ix + h + 1, dy * K + dx], W = 29 + 2 h + 2, h = K // 2,
        flattened: 1 where cell (iy + dy - h, ix + dx - h) of the K x K block around the impact
        cell (iy, ix) holds a crystal. Impact cells range over -h - 1..29 + h (the kernels keep
        particles whose block can touch the grid), so the kernels need no per-cell checks."""
        k = self.shower.block
        h = k // 2
        pad = 2 * h + 1
        m = np.pad(self.ecal.mask, pad, constant_values=False)
        w = N_SIDE + 2 * h + 2
        out = np.empty((w, w, k, k), dtype=np.uint8)
        # extended impact cell (ey, ex) = (iy + h + 1, ix + h + 1); its block cell (dy, dx) is
        # grid cell (iy + dy - h, ix + dx - h) = padded cell (ey + dy, ex + dx)
        for dy in range(k):
            for dx in range(k):
                out[:, :, dy, dx] = m[dy:dy + w, dx:dx + w]
        return np.ascontiguousarray(out.reshape(-1))

    @cached_property
    def sharing_flat(self) -> NDArray[np.float64]:
        """:attr:`sharing_table` flattened (C order), as the kernels index it."""
        return self.sharing_table.reshape(-1)


PRESETS: tuple[str, ...] = ("run3", "run3-padme-mc")
"""Shipped detector configurations: ``run3`` (``sim/detectors/run3.toml``, the data-like
response) and ``run3-padme-mc`` (the same with the resolution of PADME's simulated clusters,
:data:`PADME_MC_RESOLUTION_SCALE`)."""

PADME_MC_RESOLUTION_SCALE: float = 1.9 / 4.9
"""Energy resolution of PADME's full simulation relative to data: PadmeReco's comment "MC relative
resolution 1.9 %; data 4.9 %" next to its option to deteriorate simulated cluster energies with
the resolution function (padme-fw develop PadmeReco/ECal/src/ECalReconstruction.cc:822,
docs/detector.md §1.4; the option is off by default and absent from the 2022 configuration).
The digitiser stores the true deposited energy next to the photo-electron signal (padme-fw
PadmeMC/ECal/src/ECalDigitizer.cc), so simulated clusters carry only the shower fluctuations.
Only one pair of numbers is public (energy not stated): "run3-padme-mc" scales all three terms of
the resolution function (which describes data) by this ratio."""


def preset_document(name: str) -> dict:
    """The TOML document of a :data:`PRESETS` configuration (a fresh dict)."""
    ref = resources.files("x17scan.sim").joinpath("detectors/run3.toml")
    with resources.as_file(ref) as path:
        doc = load_toml(path)
    if name == "run3-padme-mc":
        r, k = doc["response"], PADME_MC_RESOLUTION_SCALE
        doc["response"] = dict(r, stochastic=r["stochastic"] * k, noise=r["noise"] * k,
                               constant=r["constant"] * k)
        doc["name"] = "padme-run3-mc-resolution"
    elif name != "run3":
        raise InputError(f"unknown detector preset {name!r}", field="detector",
                         fix=f"use {' or '.join(PRESETS)}")
    return doc


@cache
def _preset(name: str) -> DetectorConfig:
    source = "x17scan:sim/detectors/run3.toml" if name == "run3" else f"x17scan:{name}"
    return DetectorConfig.from_dict(preset_document(name), source=source)


# kernel parameter indices
(_P_PITCH, _P_XOFF, _P_YOFF, _P_ZFACE, _P_X0, _P_EC, _P_CG, _P_CE, _P_VIS, _P_A, _P_B, _P_C,
 _P_TRES, _P_TOFF, _P_MERGE, _P_THR, _P_K, _P_NB, _P_ME, _P_CLIGHT, _P_ETON, _P_ZET, _P_ROWP,
 _P_BARH, _P_BARL, _P_GAP, _P_NROWS, _P_ETEFF, _P_CONV, _P_ETTRES, _P_ETMERGE) = range(31)
_NPAR = 31

# =============================================================================================
# Random numbers inside the kernels
# =============================================================================================
_NORM_BITS = 14
_NORM_TABLE = ndtri((np.arange(1 << _NORM_BITS) + 0.5) / (1 << _NORM_BITS))
_NORM_TABLE /= np.sqrt(np.mean(_NORM_TABLE**2))  # unit variance exactly
_NORM_TABLE.setflags(write=False)
"""Equiprobable quantiles of N(0, 1) (2^14 of them, tails to +-3.9 sigma): a table lookup gives
a Gaussian deviate (energy smearing, time jitter) at the cost of one integer draw."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_SNORM = np.uint64(64 - _NORM_BITS)
_INV53 = 1.0 / 9007199254740992.0


@intrinsic
def _cttz(typingctx, x):
    """Number of trailing zero bits of an unsigned integer (LLVM ``cttz``: one instruction,
    ``tzcnt``), the index of its lowest set bit."""
    if not isinstance(x, types.Integer) or x.signed:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return x(x), codegen


@numba.njit(cache=True, error_model="numpy")
def _splitmix(s):
    """SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; passes BigCrush): (new state, output).
    Scalars only, so it inlines into the kernels without reference counting."""
    s = s + _GOLDEN
    z = s
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return s, z ^ (z >> _S31)


def uniform_reference(seed: int, n: int) -> NDArray[np.float64]:
    """Pure-Python SplitMix64 uniforms in [0, 1) (for tests of the kernel generator)."""
    mask = (1 << 64) - 1
    s = seed & mask
    out = np.empty(n)
    for i in range(n):
        s = (s + 0x9E3779B97F4A7C15) & mask
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[i] = (z >> 11) * _INV53
    return out


@numba.njit(cache=True, error_model="numpy")
def _uniform_kernel(seed, n):
    s = np.uint64(seed)
    out = np.empty(n)
    for i in range(n):
        s, z = _splitmix(s)
        out[i] = float(z >> _S11) * _INV53
    return out


# =============================================================================================
# Digitisation kernel
# =============================================================================================
# The bodies below are written out inside the loops on purpose: a numba function that takes
# arrays and is not inlined by LLVM costs an atomic reference-count pair per array and call.
# Array indices in the hot loops go through U (uint64): numba adds a negative-index wraparound
# to every access with a signed index, which costs instructions and stops LLVM from vectorising.
# (Arithmetic stays signed: numba types uint64 (op) int64 as float64.)
U = np.uint64


@numba.njit(cache=True, error_model="numpy")
def _respond_kernel(g0, g1, order, grp, vertex, t0, pdg, p, e, prm, valid, table, short,
                    normtab, state, max_group, h_off, h_crys, h_e, h_t, h_own, x_off, x_bar, x_t,
                    x_own):
    """Hits of the readout events (groups) g0..g1-1, written from index 0 of the hit arrays
    (``h_off`` gets g1 - g0 + 1 entries); the ETag hits are appended to arrays covering the
    whole chunk, from ``x_off[g0]``, and ``x_off[g0 + 1..g1]`` set. ``state[0]`` is the
    SplitMix64 state, read at the start and written back. ``valid`` is
    :attr:`DetectorConfig.block_valid`. Returns (hits written, end of the ETag hits)."""
    k = int(prm[_P_K])
    kk = k * k
    ukk = U(kk)
    h = k // 2
    vw = N_SIDE + 2 * h + 2
    nb = int(prm[_P_NB])
    pitch = prm[_P_PITCH]
    xoff = prm[_P_XOFF]
    yoff = prm[_P_YOFF]
    zf = prm[_P_ZFACE]
    cl = prm[_P_CLIGHT]
    me = prm[_P_ME]
    merge = prm[_P_MERGE]
    et_on = prm[_P_ETON] > 0.0
    zet = prm[_P_ZET]
    etrowp = prm[_P_ROWP]
    etbarh = 0.5 * prm[_P_BARH]
    etbarl = 0.5 * prm[_P_BARL]
    etgap = prm[_P_GAP]
    etnrows = int(prm[_P_NROWS])
    etcen = etnrows // 2
    eteff = prm[_P_ETEFF]
    etconv = prm[_P_CONV]
    ettres = prm[_P_ETTRES]
    etm = prm[_P_ETMERGE]
    a2k = prm[_P_A] * prm[_P_A] * 1000.0
    b2 = prm[_P_B] * prm[_P_B]
    c2 = prm[_P_C] * prm[_P_C]
    x0 = prm[_P_X0]
    ec_crit = prm[_P_EC]
    cg = prm[_P_CG]
    ce = prm[_P_CE]
    vis = prm[_P_VIS]
    toff = prm[_P_TOFF]
    thr = prm[_P_THR]
    tres = prm[_P_TRES]
    cap = max_group * 2 * kk + 1
    head = np.full(N_CELLS, -1, np.int32)
    d_crys = np.empty(cap, np.int32)
    d_e = np.empty(cap)
    d_et = np.empty(cap)
    d_t = np.empty(cap)
    d_own = np.empty(cap, np.int64)
    d_owne = np.empty(cap)
    d_next = np.empty(cap, np.int32)
    npart = 2 * max_group + 1
    p_fx = np.empty(npart)
    p_fy = np.empty(npart)
    p_ix = np.empty(npart, np.int64)
    p_iy = np.empty(npart, np.int64)
    p_e = np.empty(npart)
    p_t = np.empty(npart)
    p_ev = np.empty(npart, np.int64)
    dep = np.empty(kk)
    n_words = (kk + 63) // 64
    coff = np.empty(kk, np.int64)  # crystal id of block cell q relative to the block's corner
    for q in range(kk):
        coff[q] = (q // k) * N_SIDE + q % k
    s = state[0]
    pos = 0
    epos = x_off[U(g0)]
    h_off[0] = 0
    for g in range(g0, g1):
        q0g = grp[U(g)]
        q1g = grp[U(g + 1)]
        m = 0
        ne0 = epos
        for q in range(q0g, q1g):
            ev = order[U(q)]
            uev = U(ev)
            vx = vertex[uev, 0]
            vy = vertex[uev, 1]
            vz = vertex[uev, 2]
            for slot in range(2):
                code = pdg[uev, slot]
                a = abs(code)
                if a != 11 and a != 22:
                    continue
                px = p[uev, slot, 0]
                py = p[uev, slot, 1]
                pz = p[uev, slot, 2]
                en = e[uev, slot]
                if pz <= 0.0 or en <= 0.0:
                    continue
                pm = math.sqrt(px * px + py * py + pz * pz)
                # --- ETag (upstream of the ECal): bar crossed, efficiency, photon conversion
                if et_on and zet > vz:
                    xe = vx + (zet - vz) * px / pz
                    ye = vy + (zet - vz) * py / pz
                    row = math.floor(ye / etrowp + 0.5) + etcen
                    bar = -1
                    if (0 <= row < etnrows and abs(ye - (row - etcen) * etrowp) < etbarh
                            and abs(xe) < etbarl):
                        if short[U(row)]:
                            if abs(xe) > etgap:
                                bar = 10 * row + (1 if xe > 0 else 0)
                        else:
                            bar = 10 * row
                    if bar >= 0:
                        s, z = _splitmix(s)
                        u = float(z >> _S11) * _INV53
                        if a == 11:
                            fire = u < eteff
                        else:
                            fire = False
                            if u < etconv:
                                s, z = _splitmix(s)
                                fire = float(z >> _S11) * _INV53 < eteff
                        if fire:
                            s, z = _splitmix(s)
                            te = t0[uev] + (zet - vz) * pm / pz / cl + ettres * normtab[z >> _SNORM]
                            dup = False
                            for i in range(ne0, epos):  # one hit per bar within the window
                                ui = U(i)
                                if x_bar[ui] == bar and abs(x_t[ui] - te) < etm:
                                    if te < x_t[ui]:
                                        x_t[ui] = te
                                        x_own[ui] = ev
                                    dup = True
                                    break
                            if not dup:
                                ue = U(epos)
                                x_bar[ue] = bar
                                x_t[ue] = te
                                x_own[ue] = ev
                                epos += 1
                # --- ECal: smeared energy, impact at the depth of the shower maximum
                if zf <= vz:
                    continue
                if a == 22:
                    ev0 = en
                    cdepth = cg
                elif code == -11:
                    ev0 = en + me
                    cdepth = ce
                else:
                    ev0 = en - me
                    cdepth = ce
                if ev0 <= 0.0:
                    continue
                s, z = _splitmix(s)
                esm = ev0 + math.sqrt(a2k * ev0 + b2 + c2 * ev0 * ev0) * normtab[z >> _SNORM]
                if esm <= 0.0:
                    continue
                tmax = x0 * max(math.log(ev0 / ec_crit) + cdepth, 0.0)
                path = (zf - vz) * pm / pz
                sp = path + tmax
                fx = (vx + sp * px / pm - xoff) / pitch + CENTRE + 0.5
                fy = (vy + sp * py / pm - yoff) / pitch + CENTRE + 0.5
                if not (-h - 1.0 < fx < N_SIDE + h + 1.0 and -h - 1.0 < fy < N_SIDE + h + 1.0):
                    continue
                um = U(m)
                p_fx[um] = fx
                p_fy[um] = fy
                p_ix[um] = math.floor(fx)
                p_iy[um] = math.floor(fy)
                p_e[um] = esm * vis
                p_t[um] = t0[uev] + path / cl + toff
                p_ev[um] = ev
                m += 1
        # --- share the energy among the K x K cells. A particle whose block overlaps no other
        # block of the readout event makes its hits directly (threshold and time jitter);
        # the others go through the per-crystal merging (pile-up, overlapping showers)
        nd = 0
        for i in range(m):
            ui = U(i)
            ix = p_ix[ui]
            iy = p_iy[ui]
            alone = True
            for j in range(m):
                uj = U(j)
                if j != i and abs(p_ix[uj] - ix) < k and abs(p_iy[uj] - iy) < k:
                    alone = False
                    break
            fu = (p_fx[ui] - ix) * nb
            fv = (p_fy[ui] - iy) * nb
            iu = min(int(fu), nb - 1)
            iv = min(int(fv), nb - 1)
            wu = fu - iu
            wv = fv - iv
            edep = p_e[ui]
            w00 = (1.0 - wu) * (1.0 - wv) * edep
            w10 = wu * (1.0 - wv) * edep
            w01 = (1.0 - wu) * wv * edep
            w11 = wu * wv * edep
            # bilinear interpolation of the sharing table, all K x K cells at once (the four
            # table rows are contiguous in the cell index: LLVM vectorises this loop)
            u00 = U((iu * (nb + 1) + iv) * kk)
            u10 = u00 + U((nb + 1) * kk)
            u01 = u00 + ukk
            u11 = u10 + ukk
            for q in range(ukk):
                dep[q] = (w00 * table[u00 + q] + w10 * table[u10 + q]
                          + w01 * table[u01 + q] + w11 * table[u11 + q])
            # the cells with a crystal (and, alone, above threshold), in block order: a bit mask
            # per 64 cells built without branches (LLVM vectorises it), then its set bits
            uvb = U(((iy + h + 1) * vw + ix + h + 1) * kk)
            cbase = (iy - h) * N_SIDE + ix - h
            thit = p_t[ui]
            ev = p_ev[ui]
            tq = thr if alone else -math.inf
            for wd in range(n_words):
                q0 = U(wd * 64)
                q1 = min(q0 + U(64), ukk)
                mask = U(0)
                for q in range(q0, q1):
                    dq = dep[q]
                    mask |= U((valid[uvb + q] != 0) & (dq >= tq) & (dq > 0.0)) << (q - q0)
                while mask != U(0):
                    q = q0 + _cttz(mask)
                    mask &= mask - U(1)
                    dq = dep[q]
                    cid = cbase + coff[q]
                    if alone:
                        s, z = _splitmix(s)
                        up = U(pos)
                        h_crys[up] = cid
                        h_e[up] = dq
                        h_t[up] = thit + tres * normtab[z >> _SNORM]
                        h_own[up] = ev
                        pos += 1
                        continue
                    # deposits in one crystal within the merge window make one hit
                    ucid = U(cid)
                    j = head[ucid]
                    while j >= 0:
                        uj = U(j)
                        if abs(thit - d_t[uj]) < merge:
                            d_e[uj] += dq
                            d_et[uj] += dq * thit
                            d_t[uj] = d_et[uj] / d_e[uj]
                            if dq > d_owne[uj]:
                                d_owne[uj] = dq
                                d_own[uj] = ev
                            break
                        j = d_next[uj]
                    if j < 0:
                        un = U(nd)
                        d_crys[un] = cid
                        d_e[un] = dq
                        d_et[un] = dq * thit
                        d_t[un] = thit
                        d_own[un] = ev
                        d_owne[un] = dq
                        d_next[un] = head[ucid]
                        head[ucid] = nd
                        nd += 1
        # --- merged hits: time jitter, readout threshold, reset of the per-crystal chains
        for j in range(nd):
            uj = U(j)
            head[U(d_crys[uj])] = -1
            if d_e[uj] >= thr:
                s, z = _splitmix(s)
                up = U(pos)
                h_crys[up] = d_crys[uj]
                h_e[up] = d_e[uj]
                h_t[up] = d_t[uj] + tres * normtab[z >> _SNORM]
                h_own[up] = d_own[uj]
                pos += 1
        h_off[U(g - g0 + 1)] = pos
        x_off[U(g + 1)] = epos
    state[0] = s
    return pos, epos


# =============================================================================================
# Public API
# =============================================================================================
@dataclass(frozen=True, eq=False)
class Hits:
    """Detector hits of one chunk, grouped in readout events (one per distinct ``bunch``).

    Readout event ``i`` owns ECal hits ``offsets[i]:offsets[i+1]`` (crystal id, energy MeV,
    time ns, ``owner`` = index of the truth event that gave the largest deposit) and ETag hits
    ``etag_offsets[i]:etag_offsets[i+1]`` (bar id, time ns, owner). ``readout_of_event[k]`` is
    the readout event of truth event ``k``; ``bunch[i]`` the bunch value of readout event i."""

    offsets: NDArray[np.int64]
    crystal: NDArray[np.int32]
    energy: NDArray[np.float64]
    time: NDArray[np.float64]
    owner: NDArray[np.int64]
    etag_offsets: NDArray[np.int64]
    etag_bar: NDArray[np.int32]
    etag_time: NDArray[np.float64]
    etag_owner: NDArray[np.int64]
    readout_of_event: NDArray[np.int64]
    bunch: NDArray[np.int64]
    config: DetectorConfig

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def n_events(self) -> int:
        """Number of truth events."""
        return int(self.readout_of_event.shape[0])

    def readout(self, i: int) -> dict[str, NDArray]:
        """Hits of readout event ``i`` as a dict of arrays (for displays and tests)."""
        a, b = self.offsets[i], self.offsets[i + 1]
        c, d = self.etag_offsets[i], self.etag_offsets[i + 1]
        return {"crystal": self.crystal[a:b], "energy": self.energy[a:b],
                "time": self.time[a:b], "owner": self.owner[a:b], "etag_bar": self.etag_bar[c:d],
                "etag_time": self.etag_time[c:d], "etag_owner": self.etag_owner[c:d]}

    @classmethod
    def from_arrays(cls, offsets, crystal, energy, time, config: DetectorConfig, owner=None,
                    etag_offsets=None, etag_bar=None, etag_time=None, etag_owner=None,
                    readout_of_event=None, bunch=None) -> Hits:
        """Hand-made hits (e.g. crystal maps in tests); missing parts default to empty / one
        truth event per readout event."""
        offsets = np.asarray(offsets, dtype=np.int64)
        n_ro = offsets.shape[0] - 1
        nh = int(offsets[-1])
        if owner is None:
            owner = np.repeat(np.arange(n_ro), np.diff(offsets))
        if etag_offsets is None:
            etag_offsets = np.zeros(n_ro + 1, np.int64)
            etag_bar, etag_time, etag_owner = (np.zeros(0, np.int32), np.zeros(0),
                                               np.zeros(0, np.int64))
        if readout_of_event is None:
            readout_of_event = np.arange(n_ro)
        if bunch is None:
            bunch = np.arange(n_ro)
        return cls(offsets=offsets, crystal=np.asarray(crystal, np.int32)[:nh],
                   energy=np.asarray(energy, float)[:nh], time=np.asarray(time, float)[:nh],
                   owner=np.asarray(owner, np.int64), etag_offsets=np.asarray(etag_offsets,
                                                                              np.int64),
                   etag_bar=np.asarray(etag_bar, np.int32), etag_time=np.asarray(etag_time,
                                                                                 float),
                   etag_owner=np.asarray(etag_owner, np.int64),
                   readout_of_event=np.asarray(readout_of_event, np.int64),
                   bunch=np.asarray(bunch, np.int64), config=config)


def readout_groups(bunch: NDArray) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Group events by ``bunch``: (order, group offsets into order, bunch value per group,
    readout index per event). Groups are in ascending bunch order; events keep their order
    inside a group (a stable sort). The layouts of the pipeline are grouped without sorting:
    ascending bunches, and a strictly ascending head (the primaries) followed by a tail whose
    bunches all occur in the head (their pile-up, :func:`x17scan.sim.pipeline.add_pileup`)."""
    b = np.asarray(bunch, dtype=np.int64)
    n = b.shape[0]
    if n == 0:
        z = np.zeros(0, np.int64)
        return z, np.zeros(1, np.int64), z, z
    up = b[1:] > b[:-1]
    if n == 1 or bool(np.all(up)):
        ar = np.arange(n, dtype=np.int64)
        return ar, np.arange(n + 1, dtype=np.int64), b.copy(), ar
    head = int(np.argmin(up)) + 1  # b[:head] strictly ascending
    tail = b[head:]
    gi = np.minimum(np.searchsorted(b[:head], tail), head - 1)
    if bool(np.all(b[gi] == tail)):
        sizes = np.bincount(gi, minlength=head) + 1
        grp = np.zeros(head + 1, np.int64)
        np.cumsum(sizes, out=grp[1:])
        order = np.empty(n, np.int64)
        order[grp[:-1]] = np.arange(head)
        # the s-th tail event in (group, index) order lands after s earlier tail events and
        # the heads of groups 0..g
        ts = np.argsort(gi, kind="stable")
        order[np.arange(tail.shape[0]) + gi[ts] + 1] = ts + head
        ro = np.empty(n, np.int64)
        ro[:head] = np.arange(head)
        ro[head:] = gi
        return order, grp, b[:head].copy(), ro
    order = np.argsort(b, kind="stable").astype(np.int64)
    bs = b[order]
    starts = np.flatnonzero(np.concatenate(([True], bs[1:] != bs[:-1])))
    grp = np.concatenate((starts, [n])).astype(np.int64)
    ro = np.empty(n, np.int64)
    ro[order] = np.repeat(np.arange(starts.shape[0], dtype=np.int64), np.diff(grp))
    return order, grp, bs[starts], ro


def kernel_inputs(events, config: DetectorConfig | None = None) -> tuple:
    """Contiguous arrays of a TruthEvents chunk as the kernels take them; with a dipole field
    in ``config``, the e+- momenta are the straight-line equivalents of :func:`bend`."""
    vertex = np.ascontiguousarray(events.vertex, dtype=np.float64)
    pdg = np.ascontiguousarray(events.pdg, dtype=np.int32)
    p = np.ascontiguousarray(events.p, dtype=np.float64)
    if config is not None and config.magnet.on:
        p = bend(vertex, pdg, p, config.magnet, config.ecal.z_front)
    return (vertex, np.ascontiguousarray(events.t0, dtype=np.float64), pdg, p,
            np.ascontiguousarray(events.e, dtype=np.float64))


def draw_seed(rng: np.random.Generator | int | None) -> np.uint64:
    """One 64-bit kernel seed from a Generator (or an integer seed)."""
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return np.uint64(g.integers(0, 2**63, dtype=np.int64))


BLOCK_GROUPS = 2048
"""Readout events per kernel call: bounds the temporary hit buffers (about 1.4 kB per event of
the block) and keeps them in cache when the clustering follows block by block."""


class DigitizerRun:
    """The state of one :func:`respond`-like pass over a chunk: the grouping of its events in
    readout events, the kernel inputs, the generator state, reusable hit buffers for one block
    and the ETag hits of the whole chunk (few: at most one per particle). ``block`` digitises
    readout events g0..g1-1 (see :func:`_respond_kernel`); the ETag hits of readout event g are
    ``etag_offsets[g]:etag_offsets[g + 1]`` of ``etag_bar``, ``etag_time``, ``etag_owner``."""

    def __init__(self, events, config: DetectorConfig, rng, groups=None) -> None:
        self.config = config
        self.order, self.grp, self.bunch, self.readout_of_event = (
            readout_groups(events.bunch) if groups is None else groups)
        self.n_groups = self.grp.shape[0] - 1
        sizes = np.diff(self.grp)
        self.max_group = int(sizes.max()) if sizes.size else 0
        self.arrays = kernel_inputs(events, config)
        self.state = np.array([draw_seed(rng)], dtype=np.uint64)
        kk = config.shower.block ** 2
        starts = np.arange(0, self.n_groups + 1, BLOCK_GROUPS)
        ends = np.minimum(starts + BLOCK_GROUPS, self.n_groups)
        ev_per_block = self.grp[ends] - self.grp[starts] if self.n_groups else np.zeros(1, int)
        cap_ev = int(ev_per_block.max()) if ev_per_block.size else 0
        cap = cap_ev * 2 * kk + 1
        self.h_off = np.zeros(BLOCK_GROUPS + 1, np.int64)
        self.h_crys = np.empty(cap, np.int32)
        self.h_e = np.empty(cap)
        self.h_t = np.empty(cap)
        self.h_own = np.empty(cap, np.int64)
        n_ev = self.arrays[1].shape[0]
        self.etag_offsets = np.zeros(self.n_groups + 1, np.int64)
        self.etag_bar = np.empty(2 * n_ev + 1, np.int32)
        self.etag_time = np.empty(2 * n_ev + 1)
        self.etag_owner = np.empty(2 * n_ev + 1, np.int64)

    def blocks(self):
        """(g0, g1) of the successive blocks."""
        for g0 in range(0, self.n_groups, BLOCK_GROUPS):
            yield g0, min(g0 + BLOCK_GROUPS, self.n_groups)

    def block(self, g0: int, g1: int) -> int:
        """Digitise readout events g0..g1-1 (in order, after g0 - 1); returns the number of
        hits in the block buffers (``h_off`` relative to the block)."""
        c = self.config
        pos, _ = _respond_kernel(g0, g1, self.order, self.grp, *self.arrays, c.kernel_params,
                                 c.block_valid, c.sharing_flat, c.etag_short_mask, _NORM_TABLE,
                                 self.state, self.max_group, self.h_off, self.h_crys, self.h_e,
                                 self.h_t, self.h_own, self.etag_offsets, self.etag_bar,
                                 self.etag_time, self.etag_owner)
        return pos

    def etag(self) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """(offsets, bar, time, owner) of the ETag hits digitised so far (views)."""
        n = int(self.etag_offsets[-1])
        return self.etag_offsets, self.etag_bar[:n], self.etag_time[:n], self.etag_owner[:n]


def respond(events, config: DetectorConfig | None = None,
            rng: np.random.Generator | int | None = None) -> Hits:
    """Detector hits of a chunk of truth events (MeV, ns; see the module docstring).

    ``events`` is a :class:`~x17scan.sim.events.TruthEvents`; ``config`` defaults to
    :meth:`DetectorConfig.default_run3`; ``rng`` a Generator or integer seed (one draw)."""
    cfg = config or DetectorConfig.default_run3()
    run = DigitizerRun(events, cfg, rng)
    offs, parts = [np.zeros(1, np.int64)], []
    nh = 0
    for g0, g1 in run.blocks():
        pos = run.block(g0, g1)
        offs.append(run.h_off[1:g1 - g0 + 1] + nh)
        parts.append((run.h_crys[:pos].copy(), run.h_e[:pos].copy(), run.h_t[:pos].copy(),
                      run.h_own[:pos].copy()))
        nh += pos

    def cat(k, dtype):
        return np.concatenate([it[k] for it in parts]) if parts else np.zeros(0, dtype)

    x_off, x_bar, x_t, x_own = run.etag()
    return Hits(offsets=np.concatenate(offs), crystal=cat(0, np.int32), energy=cat(1, float),
                time=cat(2, float), owner=cat(3, np.int64), etag_offsets=x_off,
                etag_bar=x_bar, etag_time=x_t, etag_owner=x_own,
                readout_of_event=run.readout_of_event, bunch=run.bunch, config=cfg)
