"""Shipped scan tables (package data, each with a provenance note).

``load("padme-run3")`` returns PADME's Run III per-point inputs as a :class:`ScanTable`;
:func:`list_datasets` describes what is shipped. The files live next to this module:
``<name>.csv`` (the table, metadata in its comment header) and ``<name>.PROVENANCE.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from x17scan.data.scantable import ScanTable
from x17scan.errors import InputError

_REGISTRY: dict[str, str] = {
    "padme-run3": "PADME Run III beam-energy scan (arXiv:2505.24797): 52 periods, 42 used in "
                  "the fit; two-cluster yields, PoT, SM background per PoT, X17 efficiency "
                  "(PADME's 0.3 % systematic terms included)",
}
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".root")


@dataclass(frozen=True)
class DatasetInfo:
    """A shipped data set: ``name``, ``description``, ``points`` (rows), ``used`` (fit
    points), ``observable`` and the path of its table and of its provenance note."""

    name: str
    description: str
    points: int
    used: int
    observable: str
    path: Path
    provenance: Path


def names() -> list[str]:
    """Names of the shipped data sets."""
    return sorted(_REGISTRY)


def _dir() -> Path:
    return Path(str(resources.files(__name__)))


def path_of(name: str) -> Path:
    """The shipped CSV file of data set ``name``."""
    _check_name(name)
    return _dir() / f"{name}.csv"


def provenance_of(name: str) -> Path:
    """The provenance note (Markdown) of data set ``name``."""
    _check_name(name)
    return _dir() / f"{name}.PROVENANCE.md"


def _exists(key: str) -> bool:
    try:
        return Path(key).exists()
    except (OSError, ValueError):  # not a usable file name (too long, NUL byte): not a file
        return False


def load(name: str | os.PathLike[str]) -> ScanTable:
    """The shipped scan table ``name`` (e.g. ``"padme-run3"``).

    For convenience a path to a table file (.csv, .parquet, .root) is read with
    :func:`x17scan.data.io.read_table`. An unknown name raises :class:`InputError` listing the
    available data sets.
    """
    from x17scan.data.io import read_table

    key = os.fspath(name)
    if key in _REGISTRY:
        return read_table(path_of(key))
    if Path(key).suffix.lower() in _TABLE_SUFFIXES or os.sep in key or _exists(key):
        return read_table(key)
    _check_name(key)
    raise AssertionError("unreachable")


def list_datasets() -> list[DatasetInfo]:
    """Describe every shipped data set (reads each table to count its points)."""
    out = []
    for name in names():
        t = load(name)
        out.append(DatasetInfo(name=name, description=_REGISTRY[name], points=len(t),
                               used=t.n_used, observable=t.observable, path=path_of(name),
                               provenance=provenance_of(name)))
    return out


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        raise InputError(f"unknown data set {name!r}", field="dataset",
                         fix=f"use one of: {', '.join(names())} (or give a path to a .csv, "
                         ".parquet or .root scan table)")
