"""Read and write scan tables: CSV, Parquet and ROOT, chosen by the file suffix.

Formats (all carry the columns of :mod:`x17scan.data.scantable`, the units and the metadata):

* **CSV** (``.csv``): ``#`` comment lines first, ``# key: value`` for metadata (values that are
  not plain one-line strings are JSON; keys that are not simple names go into one
  ``# x17scan-meta: {json}`` line), ``# units: sqrt_s=MeV e_beam=MeV ...``; then one header
  line of column names and one comma-separated line per point. Floats are written with the
  shortest representation that round-trips exactly.
* **Parquet** (``.parquet``, ``.pq``): one column per table column; the schema metadata key
  ``x17scan`` holds JSON ``{"format": ..., "meta": {...}, "units": {...}}``.
* **ROOT** (``.root``, written with uproot): a TTree ``scan`` with one branch per column,
  TObjStrings ``meta`` and ``units`` holding JSON, and for ROOT users two TH1D with one bin per
  point (bin i+1 = row i, rows sorted by sqrt(s)): ``h_n_obs`` (errors sqrt(n_obs)) and
  ``h_ratio`` (R = n_obs/(pot bkg_per_pot), errors R sigma_rel).

Every reading problem -- missing file, corrupt or truncated file, wrong delimiter, ragged rows,
non-numeric cell, declared units other than the table's, and every validation failure of
:class:`~x17scan.data.scantable.ScanTable` -- raises one :class:`~x17scan.errors.InputError`
naming the file. Writers are atomic (:mod:`x17scan.atomic`).
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from x17scan.atomic import atomic_path, write_text
from x17scan.data.scantable import COLUMNS, UNITS, ScanTable
from x17scan.errors import InputError

FORMAT = "x17scan-scantable/1"
"""Format tag written into every file (CSV comment ``format``, Parquet/ROOT metadata)."""

SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
                            ".root": "root"}
"""File suffix -> format."""

TREE_NAME = "scan"

# metadata keys written as "# key: value" in CSV; others go into one JSON comment line
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_META_JSON_KEY = "x17scan-meta"
_RESERVED_KEYS = {"format", "units", _META_JSON_KEY}

# unit spellings accepted as equivalent to the canonical ones of UNITS (lower case)
_UNIT_ALIASES: dict[str, set[str]] = {
    "MeV": {"mev"},
    "counts": {"counts", "count", "events", "1"},
    "positrons": {"positrons", "positron", "pot", "1"},
    "1/positron": {"1/positron", "1/positrons", "1/pot", "per pot", "per positron"},
    "fraction": {"fraction", "1"},
}
# hints for the usual wrong units
_UNIT_FIX: dict[str, str] = {
    "gev": "multiply the values by 1000 and declare MeV",
    "kev": "divide the values by 1000 and declare MeV",
    "%": "divide the values by 100 and declare fraction",
    "percent": "divide the values by 100 and declare fraction",
    "1e10": "multiply the values by 1e10 and declare positrons",
    "1e10 positrons": "multiply the values by 1e10 and declare positrons",
}


# -- public API ------------------------------------------------------------------------------
def format_of(path: str | os.PathLike[str]) -> str:
    """The format (``"csv"``, ``"parquet"`` or ``"root"``) of ``path`` from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES and Path(path).is_dir():
        raise InputError("is a folder, not a scan-table file", field="path", source=str(path),
                         fix=f"give a file name ending in {', '.join(SUFFIXES)}, e.g. "
                         f"{Path(path) / 'scan_table.parquet'}")
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported file type {suffix or '(no suffix)'!r}", field="path",
                         fix=f"use one of {', '.join(SUFFIXES)}", source=str(path))
    return SUFFIXES[suffix]


def read_table(path: str | os.PathLike[str]) -> ScanTable:
    """Read a scan table from ``path`` (format from the suffix: .csv, .parquet/.pq, .root).

    Columns in the units of :data:`~x17scan.data.scantable.UNITS` (MeV, positrons, ...).
    Raises :class:`InputError` naming the file for any problem.
    """
    p = Path(path)
    src = str(path)
    try:
        is_dir, exists = p.is_dir(), p.exists()
    except (OSError, ValueError) as err:  # e.g. a name too long for the file system
        raise InputError(f"not a usable file name ({getattr(err, 'strerror', None) or err})",
                         field="path", fix="give the path of a scan-table file",
                         source=src) from None
    if is_dir:
        raise InputError("is a directory, not a scan-table file", field="path", source=src,
                         fix="give a .csv, .parquet or .root file (PADME's folder of ROOT "
                         "files: `x17scan data import-padme DIR`)")
    fmt = format_of(path)
    if not exists:
        raise InputError("file not found", field="path", fix="check the file name",
                         source=src)
    if p.stat().st_size == 0:
        raise InputError("the file is empty", field="file",
                         fix="write a scan table into it (see `x17scan data show`)", source=src)
    reader = {"csv": _read_csv, "parquet": _read_parquet, "root": _read_root}[fmt]
    try:
        return reader(p, src)
    except InputError as err:
        raise (err if err.source else err.with_source(src)) from None


def write_table(table: ScanTable, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``path`` atomically, format from the suffix; returns the path."""
    fmt = format_of(path)
    {"csv": _write_csv, "parquet": _write_parquet, "root": _write_root}[fmt](table, Path(path))
    return Path(path)


def read_csv_string(text: str, source: str = "<string>") -> ScanTable:
    """Parse the CSV form of a scan table from a string (see the module docstring)."""
    try:
        columns, meta, units = _parse_csv(text)
        _check_units(units)
        return ScanTable.from_columns(columns, meta)
    except InputError as err:
        raise (err if err.source else err.with_source(source)) from None


def to_csv_string(table: ScanTable) -> str:
    """The CSV form of ``table`` (what :func:`write_table` writes to a ``.csv``)."""
    out = _io.StringIO()
    out.write(f"# format: {FORMAT}\n")
    awkward: dict[str, Any] = {}
    for key, value in table.meta.items():
        if key in _RESERVED_KEYS or not _KEY_RE.match(key):
            awkward[key] = value
            continue
        out.write(f"# {key}: {_meta_value_to_text(value)}\n")
    if awkward:  # keys that cannot be written as "# key: value"
        out.write(f"# {_META_JSON_KEY}: {json.dumps(_jsonable(awkward), ensure_ascii=False)}\n")
    out.write("# units: " + " ".join(f"{c}={UNITS[c]}" for c in COLUMNS if UNITS[c]) + "\n")
    out.write(",".join(COLUMNS) + "\n")
    cols = table.columns()
    for i in range(len(table)):
        out.write(",".join(_cell(cols[c][i]) for c in COLUMNS) + "\n")
    return out.getvalue()


def to_json_dict(table: ScanTable) -> dict[str, Any]:
    """A JSON-serialisable dict: ``{"format", "meta", "units", "columns": {name: list}}``."""
    return {
        "format": FORMAT,
        "meta": _jsonable(dict(table.meta)),
        "units": {c: UNITS[c] for c in COLUMNS},
        "columns": {c: v.tolist() for c, v in table.columns().items()},
    }


# -- CSV -------------------------------------------------------------------------------------
def _cell(v: Any) -> str:
    if isinstance(v, np.bool_ | bool):
        return "true" if v else "false"
    if isinstance(v, np.integer | int):
        return str(int(v))
    return repr(float(v))


def _meta_value_to_text(value: Any) -> str:
    # plain one-line strings stay readable; anything that would not read back identically
    # (numbers, lists, strings that look like JSON) is written as JSON
    if isinstance(value, str) and value == value.strip() and "\n" not in value \
            and "\r" not in value and value:
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _meta_value_from_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_csv(text: str) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, str]]:
    if not text.strip():
        raise InputError("the file is empty", field="file",
                         fix="write a header line of column names and one line per point")
    meta: dict[str, Any] = {}
    units: dict[str, str] = {}
    lines = text.splitlines()
    body_start = None
    for k, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, sep, value = stripped[1:].partition(":")
            key = key.strip()
            if sep and _KEY_RE.match(key):
                if key == "units":
                    units = _parse_units(value.strip())
                elif key == _META_JSON_KEY:
                    extra = _meta_value_from_text(value.strip())
                    if not isinstance(extra, dict):
                        raise InputError(f"'{_META_JSON_KEY}' comment is not a JSON object",
                                         field="meta", fix="re-write the file with x17scan")
                    meta.update(extra)
                elif key != "format":
                    meta[key] = _meta_value_from_text(value.strip())
            continue
        body_start = k
        break
    if body_start is None:
        raise InputError("no header line (only comments)", field="header",
                         fix=f"add a header line: {','.join(COLUMNS)}")
    body = [ln for ln in lines[body_start:] if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.reader(body, skipinitialspace=True)
    try:
        rows = list(reader)
    except csv.Error as err:
        raise InputError(f"malformed CSV ({err})", field="file",
                         fix="write plain comma-separated values") from None
    header = [h.strip() for h in rows[0]]
    if len(header) == 1:
        for delim, name in ((";", "semicolon"), ("\t", "tab"), ("|", "'|'"), (" ", "space")):
            if delim in rows[0][0].strip():
                raise InputError(f"the header line is {name}-separated", field="delimiter",
                                 fix="separate the columns with commas")
    seen: set[str] = set()
    for h in header:
        if not h:
            raise InputError("empty column name in the header line", field="header",
                             fix="name every column (or remove trailing commas)")
        if h in seen:
            raise InputError("column appears twice in the header line", field=h,
                             fix="keep one column of each name")
        seen.add(h)
    data = rows[1:]
    if not data:
        raise InputError("the file has a header line but no data rows", field="rows",
                         fix="add one line per scan point")
    for r, row in enumerate(data):
        if len(row) != len(header):
            raise InputError(f"row has {len(row)} cells but the header has {len(header)} "
                             "columns", field="columns", row=r,
                             fix="give every row one value per header column (check for a "
                             "missing or extra comma)")
    columns = {h: np.array([row[j].strip() for row in data], dtype=str)
               for j, h in enumerate(header)}
    return columns, meta, units


def _parse_units(text: str) -> dict[str, str]:
    units = {}
    for item in text.replace(",", " ").split():
        name, sep, unit = item.partition("=")
        if sep:
            units[name.strip()] = unit.strip()
    return units


def _check_units(units: Mapping[str, str]) -> None:
    """Refuse declared units that differ from the table's (no silent conversion)."""
    for name, unit in units.items():
        expected = UNITS.get(name)
        if expected is None or not expected:
            continue
        u = unit.strip().lower()
        if u == expected.lower() or u in _UNIT_ALIASES.get(expected, set()):
            continue
        fix = _UNIT_FIX.get(u, f"convert the column to {expected}")
        raise InputError(f"declared unit {unit!r}, scan tables use {expected}", field=name,
                         fix=fix)


def _read_csv(path: Path, src: str) -> ScanTable:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not a UTF-8 text file (byte {err.start})", field="file",
                         fix="give a comma-separated text file (or a .parquet/.root file "
                         "with the matching suffix)") from None
    if "\x00" in text:
        raise InputError("binary data in a .csv file", field="file",
                         fix="give a comma-separated text file (or use the matching suffix)")
    return read_csv_string(text, src)


def _write_csv(table: ScanTable, path: Path) -> None:
    write_text(path, to_csv_string(table))


# -- Parquet ---------------------------------------------------------------------------------
def _read_parquet(path: Path, src: str) -> ScanTable:
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(path)
    except Exception as err:  # any reader failure means a bad file
        raise InputError(f"not a readable Parquet file ({_short(err)})", field="file",
                         fix="re-write the file (x17scan data convert) or check the suffix"
                         ) from None
    try:
        info = _json_metadata((t.schema.metadata or {}).get(b"x17scan"),
                              "Parquet schema metadata")
        columns = _parquet_columns(t)
    except InputError:
        raise
    except Exception as err:  # damaged pages/metadata that only fail when decoded
        raise InputError(f"cannot decode the Parquet file ({_short(err)})", field="file",
                         fix="the file is corrupt: re-write it (x17scan data convert)") from None
    _check_units(info.get("units") or {})
    return ScanTable.from_columns(columns, info.get("meta") or {})


def _parquet_columns(t: Any) -> dict[str, np.ndarray]:
    import pyarrow as pa

    names = t.column_names
    dup = _first_duplicate(names)
    if dup:
        raise InputError("column appears twice", field=dup, fix="keep one column of each name")
    columns: dict[str, np.ndarray] = {}
    for name in names:
        col = t.column(name)
        typ = col.type
        if not (pa.types.is_integer(typ) or pa.types.is_floating(typ)
                or pa.types.is_boolean(typ) or pa.types.is_string(typ)
                or pa.types.is_large_string(typ) or pa.types.is_null(typ)):
            raise InputError(f"column has type {typ}, expected one number per row", field=name,
                             fix="store plain numeric columns")
        if col.null_count:
            r = _first_null(col)
            raise InputError("missing value (null)", field=name, row=r,
                             fix="fill every cell, or drop the point")
        columns[name] = col.to_numpy(zero_copy_only=False)
    return columns


def _write_parquet(table: ScanTable, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field(c, pa.from_numpy_dtype(v.dtype),
                       metadata={"unit": UNITS[c]} if UNITS[c] else None)
              for c, v in table.columns().items()]
    info = {"format": FORMAT, "meta": _jsonable(dict(table.meta)),
            "units": {c: UNITS[c] for c in COLUMNS}}
    schema = pa.schema(fields, metadata={"x17scan": json.dumps(info)})
    t = pa.Table.from_arrays([pa.array(v) for v in table.columns().values()], schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(t, tmp)


# -- ROOT ------------------------------------------------------------------------------------
def _read_root(path: Path, src: str) -> ScanTable:
    import uproot

    try:
        f = uproot.open(path)
    except Exception as err:  # any reader failure means a bad file
        raise InputError(f"not a readable ROOT file ({_short(err)})", field="file",
                         fix="re-write the file (x17scan data convert) or check the suffix"
                         ) from None
    with f:
        try:
            classes = f.classnames(recursive=False)
            cls = next((c for k, c in classes.items() if k.split(";")[0] == TREE_NAME), None)
            if cls is None:
                hint = (" (PADME's per-point graphs: use `x17scan data import-padme DIR`)"
                        if any(c.startswith("TGraph") for c in classes.values()) else "")
                raise InputError(f"no TTree {TREE_NAME!r} in the file{hint}", field=TREE_NAME,
                                 fix=f"write the table as a TTree {TREE_NAME!r} with one "
                                 "branch per column (x17scan data convert)")
            if cls != "TTree":
                raise InputError(f"{TREE_NAME!r} is a {cls}, not a TTree", field=TREE_NAME,
                                 fix=f"store the table as a TTree named {TREE_NAME!r}")
            tree = f[TREE_NAME]
            arrays = tree.arrays(library="np")
            meta = _root_json(f, "meta", classes)
            units = _root_json(f, "units", classes)
        except InputError:
            raise
        except Exception as err:  # truncated or corrupt content
            raise InputError(f"cannot read the ROOT file ({_short(err)})", field="file",
                             fix="the file is corrupt or truncated: re-write it") from None
    columns: dict[str, np.ndarray] = {}
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if arr.dtype == object or arr.ndim != 1:
            raise InputError("branch does not hold one number per entry", field=name,
                             fix="store one scalar per scan point in each branch")
        columns[name] = arr
    _check_units(units)
    return ScanTable.from_columns(columns, meta)


def _root_json(f: Any, name: str, classes: Mapping[str, str]) -> dict[str, Any]:
    if not any(k.split(";")[0] == name for k in classes):
        return {}
    return _json_metadata(str(f[name]), f"ROOT object {name!r}")


def _write_root(table: ScanTable, path: Path) -> None:
    import uproot

    cols = table.columns()
    r = table.ratio
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            tree = f.mktree(TREE_NAME, {c: v.dtype for c, v in cols.items()},
                            title=f"x17scan scan table {table.name}")
            tree.extend({c: np.ascontiguousarray(v) for c, v in cols.items()})
            f["meta"] = json.dumps(_jsonable(dict(table.meta)))
            f["units"] = json.dumps({c: UNITS[c] for c in COLUMNS})
            f["h_n_obs"] = _th1("h_n_obs", "n_obs vs point (rows sorted by sqrt(s))",
                                table.n_obs, table.n_obs, "events")
            f["h_ratio"] = _th1("h_ratio", "R = n_obs/(PoT B) vs point (rows sorted by sqrt(s))",
                                r, (r * table.ratio_rel_err) ** 2, "R")


def _th1(name: str, title: str, values: np.ndarray, variances: np.ndarray, ytitle: str) -> Any:
    """A TH1D with one bin per point (bin i+1 = row i), errors sqrt(variances)."""
    from uproot.writing.identify import to_TAxis, to_TH1x

    n = len(values)
    x = np.arange(n, dtype=float)
    data = np.zeros(n + 2)
    data[1:-1] = values
    sumw2 = np.zeros(n + 2)
    sumw2[1:-1] = np.where(np.isfinite(variances), variances, 0.0)
    return to_TH1x(
        name, title, data, fEntries=float(n), fTsumw=float(values.sum()),
        fTsumw2=float(sumw2.sum()), fTsumwx=float((values * x).sum()),
        fTsumwx2=float((values * x * x).sum()), fSumw2=sumw2,
        fXaxis=to_TAxis("xaxis", "point (row, sorted by sqrt(s))", n, -0.5, n - 0.5),
        fYaxis=to_TAxis("yaxis", ytitle, 1, 0.0, 1.0),
    )


# -- helpers ---------------------------------------------------------------------------------
def _json_metadata(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise InputError(f"{where} is not valid JSON", field="meta",
                         fix="re-write the file with x17scan (data convert)") from None
    if not isinstance(value, dict):
        raise InputError(f"{where} is not a JSON object", field="meta",
                         fix="re-write the file with x17scan (data convert)")
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _first_duplicate(names: list[str]) -> str | None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


def _first_null(col: Any) -> int:
    import pyarrow.compute as pc

    mask = pc.is_null(col).to_numpy(zero_copy_only=False)
    return int(np.flatnonzero(mask)[0])


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 120 else text[:117] + "..."
