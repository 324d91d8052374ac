"""Reproducibility records: versions, input checksums, the command that ran."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from x17scan import __version__

DEPENDENCIES = ("numpy", "scipy", "iminuit", "uproot", "awkward", "pyarrow", "pandas", "hist",
                "mplhep", "matplotlib", "typer", "rich", "xraylib", "pyhf", "hepdata_lib",
                "dask", "distributed", "numba")


def versions() -> dict[str, str]:
    """x17scan, Python and dependency versions."""
    out = {"x17scan": __version__, "python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_arrays(columns: dict[str, np.ndarray]) -> str:
    """Hex SHA-256 of a set of named arrays (order-independent in the names)."""
    h = hashlib.sha256()
    for name in sorted(columns):
        a = np.ascontiguousarray(columns[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def record(**extra: Any) -> dict[str, Any]:
    """A deterministic provenance block (versions plus ``extra`` entries) for ``result.json``.

    Nothing here depends on the machine's state, the executor or the time, so the same inputs
    and seed give a bit-identical ``result.json``; see :func:`run_info` for the rest.
    """
    return {"versions": versions(), **extra}


def run_info(**extra: Any) -> dict[str, Any]:
    """Facts about one execution (command line, platform, executor, timings): ``run.json``."""
    return {
        "command": " ".join(["x17scan", *sys.argv[1:]]),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        **extra,
    }
