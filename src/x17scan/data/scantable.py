"""The scan table: the one type in which real and simulated scans meet.

One row per scan point (a beam energy). Columns and units:

============== ======================================================= =========
column          meaning                                                  unit
============== ======================================================= =========
sqrt_s          centre-of-mass energy of the point                       MeV
e_beam          total positron beam energy                               MeV
n_obs           observed (selected) events; may be a corrected,          counts
                non-integer yield
pot             positrons on target                                      positrons
pot_err         uncorrelated uncertainty on ``pot``                      positrons
bkg_per_pot     expected SM background yield per positron on target      1/positron
bkg_per_pot_err its uncertainty                                          1/positron
sig_eff         signal efficiency (fraction of produced X -> e+e-        fraction
                that is selected)
sig_eff_err     its uncertainty                                          fraction
scan_part       sub-scan index (optional, default 0; -1 = not a scan     -
                part, e.g. off-resonance)
period          data-taking period / order (optional, default row index) -
used            point enters the fit (optional, default True)           bool
============== ======================================================= =========

Rows are sorted by ``sqrt_s``; the data-taking order lives in ``period``. A table is validated
on construction and immutable afterwards; every violation raises
:class:`x17scan.errors.InputError` naming the field, the row and the fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.errors import InputError
from x17scan.physics.kinematics import e_beam as _e_beam_of

REQUIRED_COLUMNS: tuple[str, ...] = (
    "sqrt_s", "e_beam", "n_obs", "pot", "pot_err",
    "bkg_per_pot", "bkg_per_pot_err", "sig_eff", "sig_eff_err",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("scan_part", "period", "used")
COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

UNITS: dict[str, str] = {
    "sqrt_s": "MeV", "e_beam": "MeV", "n_obs": "counts", "pot": "positrons",
    "pot_err": "positrons", "bkg_per_pot": "1/positron", "bkg_per_pot_err": "1/positron",
    "sig_eff": "fraction", "sig_eff_err": "fraction", "scan_part": "", "period": "", "used": "",
}

OBSERVABLES: tuple[str, ...] = ("2cl", "ee", "gg")
"""Observables a table can hold: two-cluster (ee + gamma gamma), ee-tagged, gamma-gamma-tagged."""

# sqrt(s) outside this window cannot be a light-boson resonance scan in MeV; values below it
# are almost always GeV.
_SQRT_S_RANGE = (1.0, 1000.0)
# e_beam must follow from sqrt_s; the tolerance accepts other electron-mass conventions (PADME's
# 0.511 MeV shifts E_beam by 2e-6) and rounded beam energies, not a wrong unit or point.
_E_BEAM_RTOL = 2e-3

MIN_POT: float = 1e3
"""Smallest PoT a point may hold: below it the numbers are almost always in units of 1e10."""
MIN_POT_ERR: float = 1.0
"""Smallest non-zero PoT uncertainty (positrons): below one it is almost always relative."""


def _fail(msg: str, field_: str, fix: str, row: int | None = None) -> InputError:
    return InputError(msg, field=field_, fix=fix, row=row)


def _first_bad(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


@dataclass(frozen=True, eq=False)
class ScanTable:
    """Per-point inputs of a resonance scan (see the module docstring for columns and units).

    Build one with :meth:`from_columns` (validates and fills the optional columns); the
    readers in :mod:`x17scan.data` return ScanTables. ``meta`` holds provenance: ``name``,
    ``source``, ``observable`` (one of :data:`OBSERVABLES`), checksums, notes.
    """

    sqrt_s: NDArray[np.float64]
    e_beam: NDArray[np.float64]
    n_obs: NDArray[np.float64]
    pot: NDArray[np.float64]
    pot_err: NDArray[np.float64]
    bkg_per_pot: NDArray[np.float64]
    bkg_per_pot_err: NDArray[np.float64]
    sig_eff: NDArray[np.float64]
    sig_eff_err: NDArray[np.float64]
    scan_part: NDArray[np.int64]
    period: NDArray[np.int64]
    used: NDArray[np.bool_]
    meta: Mapping[str, Any] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_columns(cls, columns: Mapping[str, ArrayLike], meta: Mapping[str, Any] | None = None,
                     source: str | None = None) -> ScanTable:
        """Validate ``columns`` (a mapping column -> 1-D values) and build a table.

        Optional columns get their defaults (``scan_part`` 0, ``period`` = row, ``used`` True).
        Unknown columns are refused. ``source`` (a file name) is added to error messages.
        """
        try:
            return cls._from_columns(columns, dict(meta or {}))
        except InputError as err:
            raise (err.with_source(source) if source else err) from None

    @classmethod
    def _from_columns(cls, columns: Mapping[str, ArrayLike], meta: dict[str, Any]) -> ScanTable:
        names = list(columns)
        unknown = [c for c in names if c not in COLUMNS]
        if unknown:
            raise _fail(f"unknown column(s) {', '.join(map(repr, unknown))}", unknown[0],
                        f"use only the columns {', '.join(COLUMNS)}")
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise _fail(f"missing required column(s) {', '.join(missing)}", missing[0],
                        f"a scan table needs the columns {', '.join(REQUIRED_COLUMNS)}")
        n = None
        arrays: dict[str, np.ndarray] = {}
        for c in names:
            raw = np.asarray(columns[c])
            if raw.ndim != 1:
                raise _fail(f"column must be one-dimensional, got shape {raw.shape}", c,
                            "give one value per scan point")
            if n is None:
                n = raw.size
            elif raw.size != n:
                raise _fail(f"column has {raw.size} rows, expected {n}", c,
                            "give every column one value per scan point")
            arrays[c] = raw
        if not n:
            raise _fail("the table has no rows", "rows", "give at least one scan point")

        for c in REQUIRED_COLUMNS:
            try:
                arrays[c] = arrays[c].astype(float)
            except (TypeError, ValueError):
                bad = _first_non_number(arrays[c])
                shown = _py(arrays[c][bad]) if bad is not None else arrays[c].dtype
                raise _fail(f"value {shown!r} is not a number", c,
                            "give a number in the unit of the column", bad) from None
            finite = np.isfinite(arrays[c])
            if not finite.all():
                i = _first_bad(~finite)
                raise _fail(f"value {arrays[c][i]} is not finite", c,
                            "replace NaN/inf by a number, or drop the point", i)

        arrays["scan_part"] = _int_column(arrays.get("scan_part"), n, "scan_part", 0)
        arrays["period"] = _int_column(arrays.get("period"), n, "period", None)
        arrays["used"] = _bool_column(arrays.get("used"), n)

        _validate(arrays)
        for c in COLUMNS:
            arrays[c] = np.ascontiguousarray(arrays[c])
            arrays[c].setflags(write=False)
        meta.setdefault("observable", "2cl")
        if meta["observable"] not in OBSERVABLES:
            raise _fail(f"unknown observable {meta['observable']!r}", "observable",
                        f"use one of {', '.join(OBSERVABLES)}")
        return cls(**{c: arrays[c] for c in COLUMNS}, meta=dict(meta))

    # -- views ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.sqrt_s.size)

    @property
    def n_used(self) -> int:
        """Number of points that enter the fit."""
        return int(self.used.sum())

    @property
    def name(self) -> str:
        """Data set name from the provenance (``"unnamed"`` if none)."""
        return str(self.meta.get("name", "unnamed"))

    @property
    def observable(self) -> str:
        """Which events ``n_obs`` counts: ``"2cl"``, ``"ee"`` or ``"gg"``."""
        return str(self.meta.get("observable", "2cl"))

    def columns(self) -> dict[str, np.ndarray]:
        """All columns as a dict of (read-only) numpy arrays, in :data:`COLUMNS` order."""
        return {c: getattr(self, c) for c in COLUMNS}

    def select(self, mask: ArrayLike) -> ScanTable:
        """A new table with the rows where ``mask`` is true (same metadata)."""
        m = np.asarray(mask, dtype=bool)
        return ScanTable.from_columns({c: v[m] for c, v in self.columns().items()}, self.meta)

    def fit_points(self) -> ScanTable:
        """The rows with ``used`` true."""
        return self.select(self.used)

    def replace(self, meta: Mapping[str, Any] | None = None, **columns: ArrayLike) -> ScanTable:
        """A validated copy with some columns (and/or the metadata) replaced."""
        cols = self.columns()
        cols.update(columns)
        return ScanTable.from_columns(cols, self.meta if meta is None else meta)

    @property
    def ratio(self) -> NDArray[np.float64]:
        """R = n_obs / (pot * bkg_per_pot): observed over expected background (~1 if SM)."""
        return self.n_obs / (self.pot * self.bkg_per_pot)

    @property
    def ratio_rel_err(self) -> NDArray[np.float64]:
        """Relative error of :attr:`ratio`, sqrt((pot_err/pot)^2 + 1/n_obs + (bkg_err/bkg)^2)
        (dimensionless; inf where n_obs = 0). PADME's sigma_rel (method doc section 2)."""
        with np.errstate(divide="ignore"):
            inv_n = 1.0 / self.n_obs
        return np.sqrt((self.pot_err / self.pot) ** 2 + inv_n
                       + (self.bkg_per_pot_err / self.bkg_per_pot) ** 2)

    def checksum(self) -> str:
        """sha256 (hex) of the columns' values in :data:`COLUMNS` order (metadata ignored):
        identifies the numbers a result was computed from."""
        import hashlib

        h = hashlib.sha256()
        for c in COLUMNS:
            v = getattr(self, c)
            h.update(c.encode())
            h.update(np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("<")).tobytes())
        return h.hexdigest()

    @classmethod
    def read(cls, path: Any) -> ScanTable:
        """Read a table from a ``.csv``, ``.parquet`` or ``.root`` file
        (:func:`x17scan.data.io.read_table`)."""
        from x17scan.data.io import read_table

        return read_table(path)

    def write(self, path: Any) -> None:
        """Write the table (atomically) to a ``.csv``, ``.parquet`` or ``.root`` file
        (:func:`x17scan.data.io.write_table`)."""
        from x17scan.data.io import write_table

        write_table(self, path)

    def to_dataframe(self):
        """A pandas DataFrame with one row per point (metadata in ``df.attrs``)."""
        import pandas as pd

        df = pd.DataFrame(self.columns())
        df.attrs.update(dict(self.meta))
        return df

    def __repr__(self) -> str:
        return (f"ScanTable(name={self.name!r}, observable={self.observable!r}, "
                f"points={len(self)}, used={self.n_used}, "
                f"sqrt_s={self.sqrt_s.min():.4f}..{self.sqrt_s.max():.4f} MeV, "
                f"PoT={self.pot[self.used].sum():.4g})")

    def equals(self, other: ScanTable) -> bool:
        """True if all columns are identical (metadata ignored)."""
        return all(np.array_equal(getattr(self, c), getattr(other, c)) for c in COLUMNS)

    def with_meta(self, **meta: Any) -> ScanTable:
        """The same table with metadata entries added or replaced."""
        return dataclasses.replace(self, meta={**self.meta, **meta})


def _is_number(v: Any) -> bool:
    if isinstance(v, np.ndarray | list | tuple | dict):
        return False
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _py(v: Any) -> Any:
    """A numpy scalar as the Python value (for readable messages)."""
    return v.item() if isinstance(v, np.generic) else v


def _first_non_number(raw: np.ndarray) -> int | None:
    return next((i for i, v in enumerate(raw) if not _is_number(v)), None)


def _int_column(raw: np.ndarray | None, n: int, name: str, default: int | None) -> np.ndarray:
    if raw is None:
        return np.arange(n, dtype=np.int64) if default is None else np.full(n, default, np.int64)
    try:
        f = raw.astype(float)
    except (TypeError, ValueError):
        bad = _first_non_number(raw)
        shown = _py(raw[bad]) if bad is not None else raw.dtype
        raise _fail(f"value {shown!r} is not an integer", name, "give integers", bad) from None
    # beyond 2**53 a float no longer holds every integer (and int64 would overflow)
    bad = ~np.isfinite(f) | (f != np.round(f)) | (np.abs(f) > 2.0**53)
    if bad.any():
        i = _first_bad(bad)
        raise _fail(f"value {_py(raw[i])!r} is not an integer", name, "give integers", i)
    return f.astype(np.int64)


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _bool_column(raw: np.ndarray | None, n: int) -> np.ndarray:
    if raw is None:
        return np.ones(n, dtype=bool)
    if raw.dtype == bool:
        return raw.copy()
    if raw.dtype.kind in "iuf":
        bad = ~np.isin(raw, (0, 1))
        if bad.any():
            i = _first_bad(bad)
            raise _fail(f"value {_py(raw[i])!r} is not a boolean", "used",
                        "use true/false (or 1/0)", i)
        return raw == 1
    out = np.empty(n, dtype=bool)
    for i, v in enumerate(raw):
        s = str(v).strip().lower()
        if s in _TRUE or (s.replace(".", "", 1).isdigit() and float(s) == 1.0):
            out[i] = True
        elif s in _FALSE or (s.replace(".", "", 1).isdigit() and float(s) == 0.0):
            out[i] = False
        else:
            raise _fail(f"value {_py(v)!r} is not a boolean", "used", "use true/false (or 1/0)",
                        i)
    return out


def _validate(a: dict[str, np.ndarray]) -> None:
    s = a["sqrt_s"]
    lo, hi = _SQRT_S_RANGE
    if (s < lo).any():
        i = _first_bad(s < lo)
        hint = "values look like GeV: multiply by 1000" if s[i] > 0 else "give sqrt(s) in MeV"
        raise _fail(f"sqrt(s) = {s[i]} MeV is below {lo} MeV", "sqrt_s", hint, i)
    if (s > hi).any():
        i = _first_bad(s > hi)
        raise _fail(f"sqrt(s) = {s[i]} MeV is above {hi} MeV", "sqrt_s",
                    "give sqrt(s) in MeV (values look like keV: divide by 1000)", i)
    if (np.diff(s) < 0).any():
        i = _first_bad(np.diff(s) < 0) + 1
        raise _fail(f"points are not sorted by sqrt(s) ({s[i - 1]} then {s[i]} MeV)", "sqrt_s",
                    "sort the rows by sqrt_s (keep the data-taking order in 'period')", i)
    used = a["used"]
    su = s[used]
    if (np.diff(su) == 0).any():
        j = _first_bad(np.diff(su) == 0) + 1
        i = int(np.flatnonzero(used)[j])
        raise _fail(f"duplicated sqrt(s) = {s[i]} MeV among the used points", "sqrt_s",
                    "merge repeated points (sum n_obs and pot) or set used=false on all but one", i)

    eb = a["e_beam"]
    expected = _e_beam_of(s)
    if (eb <= 0).any():
        i = _first_bad(eb <= 0)
        raise _fail(f"e_beam = {eb[i]} MeV is not positive", "e_beam",
                    "give the total positron energy in MeV", i)
    off = np.abs(eb / expected - 1.0) > _E_BEAM_RTOL
    if off.any():
        i = _first_bad(off)
        ratio = eb[i] / expected[i]
        hint = ("values look like GeV: multiply by 1000" if 5e-4 < ratio < 2e-3 else
                f"e_beam must equal (s - 2 m_e^2)/(2 m_e) = {expected[i]:.3f} MeV for this sqrt_s")
        raise _fail(f"e_beam = {eb[i]} MeV does not match sqrt_s = {s[i]} MeV", "e_beam", hint, i)

    def positive(name: str, allow_zero: bool, fix: str) -> None:
        v = a[name]
        bad = v < 0 if allow_zero else v <= 0
        if bad.any():
            i = _first_bad(bad)
            kind = "negative" if v[i] < 0 else "zero"
            raise _fail(f"{name} = {v[i]} is {kind}", name, fix, i)

    positive("n_obs", True, "n_obs counts selected events and cannot be negative")
    positive("pot", False, "give the number of positrons on target (> 0), or drop the point")
    positive("pot_err", True, "uncertainties are non-negative")
    positive("bkg_per_pot", False,
             "the background per PoT must be > 0 (a resonance scan always has Bhabha background)")
    positive("bkg_per_pot_err", True, "uncertainties are non-negative")
    positive("sig_eff", True, "efficiencies are fractions in [0, 1]")
    positive("sig_eff_err", True, "uncertainties are non-negative")

    pot = a["pot"]
    if (pot < MIN_POT).any():
        i = _first_bad(pot < MIN_POT)
        raise _fail(f"pot = {pot[i]} is implausibly small for a count of positrons", "pot",
                    "give the absolute number of positrons (e.g. 1e10), not units of 1e10", i)
    pe = a["pot_err"]
    if ((pe > 0) & (pe < MIN_POT_ERR)).any():
        i = _first_bad((pe > 0) & (pe < MIN_POT_ERR))
        raise _fail(f"pot_err = {pe[i]} is below one positron: it looks like a relative error",
                    "pot_err", "give the absolute uncertainty (pot x relative error)", i)
    if (a["pot_err"] >= pot).any():
        i = _first_bad(a["pot_err"] >= pot)
        raise _fail(f"pot_err = {a['pot_err'][i]} is not smaller than pot = {pot[i]}", "pot_err",
                    "give the absolute (not relative) uncertainty on the PoT", i)
    b = a["bkg_per_pot"]
    if (b >= 1).any():
        i = _first_bad(b >= 1)
        raise _fail(f"bkg_per_pot = {b[i]} is not a yield per positron", "bkg_per_pot",
                    "divide the expected background count by the PoT of the point", i)
    if (a["bkg_per_pot_err"] > b).any():
        i = _first_bad(a["bkg_per_pot_err"] > b)
        raise _fail(f"bkg_per_pot_err = {a['bkg_per_pot_err'][i]} exceeds bkg_per_pot = {b[i]}",
                    "bkg_per_pot_err", "give the absolute uncertainty of the background per PoT "
                    "(bkg_per_pot x relative error)", i)
    eff = a["sig_eff"]
    if (eff > 1).any():
        i = _first_bad(eff > 1)
        raise _fail(f"sig_eff = {eff[i]} is above 1", "sig_eff",
                    "give the efficiency as a fraction (percent / 100)", i)
    if (a["sig_eff_err"] > 1).any():
        i = _first_bad(a["sig_eff_err"] > 1)
        raise _fail(f"sig_eff_err = {a['sig_eff_err'][i]} is above 1", "sig_eff_err",
                    "give the uncertainty as a fraction (percent / 100)", i)
    if not a["used"].any():
        raise _fail("no point is marked used", "used", "set used=true on the points to fit")
