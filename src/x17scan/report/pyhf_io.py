"""pyhf workspaces of a scan at one mass: export (with a sidecar) and import back to a ScanTable.

The workspace is the ``profile`` method's Poisson model in HistFactory JSON
(:mod:`x17scan.stats.pyhf_model` documents the mapping and where it is approximate). The pyhf
schema admits no extra keys, so what a scan table needs beyond the likelihood (sqrt(s), PoT,
efficiencies, the signal-model settings) travels in a sidecar ``<name>.x17scan.json`` next to
the workspace. ``import`` rebuilds the table from the pair, taking ``n_obs`` from the
workspace's observations (so pseudo-data written into a workspace come back), and checks that
the workspace's background matches the sidecar's PoT x B.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from x17scan import atomic
from x17scan.errors import InputError

SIDECAR_SUFFIX = ".x17scan.json"
SIDECAR_FORMAT = "x17scan-pyhf-sidecar/1"


def signal_model_of(result) -> Any:
    """The profile-method SignalModel matching a result's options (line shape, spin)."""
    from x17scan.stats.signal import SignalModel

    mopts = (result.options or {}).get("method_options") or {}
    return SignalModel(lineshape=mopts.get("lineshape") or "voigt",
                       spin=mopts.get("spin") or "vector")


def sidecar_path(workspace_path: str | Path) -> Path:
    p = Path(workspace_path)
    return p.with_name(p.name.removesuffix(".json") + SIDECAR_SUFFIX)


def export_workspace(table, signal_model, mass: float, path: str | Path) -> tuple[Path, Path]:
    """Write the pyhf workspace of ``table`` at ``mass`` (MeV) to ``path`` plus its sidecar."""
    from x17scan.data.io import to_json_dict
    from x17scan.stats.pyhf_model import workspace

    ws, info = workspace(table, signal_model, float(mass), with_info=True)
    fit = table.fit_points()
    side = {"format": SIDECAR_FORMAT, "info": info, "table": to_json_dict(fit),
            "note": "x17scan metadata of the workspace next to it (pyhf's schema has no room "
                    "for it): the scan points and the signal model; see "
                    "x17scan.report.pyhf_io."}
    path = Path(path)
    atomic.write_text(path, json.dumps(ws, indent=1) + "\n")
    spath = sidecar_path(path)
    atomic.write_text(spath, json.dumps(side, indent=1, default=float) + "\n")
    return path, spath


def _read_json(path: Path, field: str) -> Any:
    if not path.exists():
        raise InputError(f"{str(path)!r} not found", field=field,
                         fix="give the path of a workspace written by `x17scan export pyhf`")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{str(path)!r} is not valid JSON ({err.__class__.__name__})",
                         field=field, fix="give a pyhf workspace JSON file") from None


def import_workspace(path: str | Path):
    """Rebuild the ScanTable of a workspace written by :func:`export_workspace`.

    Raises InputError (naming the file) when the file is not a valid pyhf workspace, lacks its
    x17scan sidecar (sqrt(s) and PoT cannot be recovered from a likelihood alone), or
    disagrees with it.
    """
    try:
        return _import_workspace(Path(path))
    except InputError as err:
        raise (err if err.source else err.with_source(str(path))) from None


def _import_workspace(path: Path):
    import pyhf

    from x17scan.data import ScanTable

    ws = _read_json(path, "WORKSPACE")
    try:
        w = pyhf.Workspace(ws)
    except Exception as err:  # pyhf raises several exception types for schema problems
        msg = " ".join(str(err).split())[:160]
        raise InputError(f"{str(path)!r} is not a valid pyhf workspace: {msg}",
                         field="WORKSPACE", fix="give a HistFactory JSON workspace (pyhf schema "
                         "1.0.0)") from None
    spath = sidecar_path(path)
    if not spath.exists():
        raise InputError(f"no x17scan sidecar {spath.name!r} next to the workspace",
                         field="WORKSPACE",
                         fix="a likelihood alone has no sqrt(s) or PoT: keep the "
                         f"'{SIDECAR_SUFFIX}' file that `x17scan export pyhf` writes")
    side = _read_json(spath, "sidecar")
    if not isinstance(side, dict) or side.get("format") != SIDECAR_FORMAT:
        raise InputError(f"{spath.name!r} is not an x17scan sidecar ({SIDECAR_FORMAT})",
                         field="sidecar", fix="re-export the workspace with `x17scan export pyhf`")
    cols = dict(side.get("table", {}).get("columns", {}))
    meta = dict(side.get("table", {}).get("meta", {}))
    try:
        obs = np.asarray(w.data(w.model(), include_auxdata=False), dtype=float)
    except Exception as err:
        raise InputError(f"cannot read the observations of {str(path)!r}: {err}",
                         field="observations", fix="give one observation per scan point") from None
    n = len(cols.get("sqrt_s", []))
    if obs.size != n:
        raise InputError(f"the workspace has {obs.size} bins but the sidecar {n} points",
                         field="observations", fix="keep the workspace and its sidecar together")
    samples = {s["name"]: np.asarray(s["data"], float)
               for ch in ws["channels"] for s in ch["samples"]}
    if {"bkg_lo", "bkg_hi"} <= samples.keys():
        b = samples["bkg_lo"] + samples["bkg_hi"]
        expected = np.asarray(cols["pot"], float) * np.asarray(cols["bkg_per_pot"], float)
        bad = ~np.isclose(b, expected, rtol=1e-9, atol=0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"background {b[i]:.6g} in bin {i} disagrees with the sidecar's "
                             f"PoT x B = {expected[i]:.6g}", field="bkg_lo+bkg_hi", row=i,
                             fix="the workspace was edited: edit only the observations")
    cols["n_obs"] = obs
    meta.update({"source": str(path), "imported_from": "pyhf workspace"})
    return ScanTable.from_columns(cols, meta, source=str(path))
