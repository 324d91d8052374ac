"""Read the parts of an x17scan ``result.json`` that the constraint figures use, with checks.

Keys (see :mod:`x17scan.stats.result`): ``limits.mass_MeV/observed``,
``expected.mass_MeV/median/minus2/minus1/plus1/plus2``, ``bestfit.mass_MeV/g`` (optional
errors ``bestfit.mass_err_low/high``, ``bestfit.g_err_low/high``, as written by the profile
method),
``bestfit.profile_mass.mass_MeV/q`` and ``cl``. Masses in MeV, couplings g_ve. A block that is
present must be complete; null entries (failed points) become NaN and leave gaps in the lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from x17scan.errors import InputError
from x17scan.stats.result import EXPECTED_KEYS

BESTFIT_ERRORS = ("mass_err_low", "mass_err_high", "g_err_low", "g_err_high")


def read_result_json(path: str | Path, option: str = "--overlay") -> dict[str, Any]:
    """The JSON object of a result file; InputError (naming the command-line ``option``) if
    the file is missing or not a JSON object."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", source=str(p), field=option,
                         fix="give the path of a result.json written by x17scan")
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"not valid JSON ({err})", source=str(p), field=option,
                         fix="give a result.json written by x17scan") from None
    if not isinstance(d, dict):
        raise InputError("the top level is not a JSON object", source=str(p), field=option,
                         fix="give a result.json written by x17scan")
    return d


def _array(block: dict[str, Any], key: str, prefix: str, source: str,
           nonneg: bool = True) -> NDArray[np.float64]:
    if key not in block:
        raise InputError("missing key", field=f"{prefix}.{key}", source=source,
                         fix=f"the '{prefix}' block needs the keys of x17scan.stats.result")
    v = block[key]
    if not isinstance(v, list):
        raise InputError("expected a list of numbers", field=f"{prefix}.{key}",
                         fix="write the values as a JSON list of numbers", source=source)
    out = np.empty(len(v))
    for i, x in enumerate(v):
        if x is None:
            out[i] = np.nan
        elif isinstance(x, bool) or not isinstance(x, int | float):
            raise InputError(f"not a number: {x!r}", field=f"{prefix}.{key}", row=i,
                             fix="write numbers without quotes (null for a missing value)",
                             source=source)
        elif not np.isfinite(x) or (nonneg and x < 0):
            raise InputError(f"invalid value {x!r}", field=f"{prefix}.{key}", row=i,
                             source=source, fix="values must be finite and >= 0 (null if "
                             "missing)")
        else:
            out[i] = float(x)
    return out


def _masses(block, prefix, source):
    m = _array(block, "mass_MeV", prefix, source)
    if m.size == 0:
        raise InputError("empty mass list", field=f"{prefix}.mass_MeV",
                         fix="give at least one mass in MeV", source=source)
    bad = np.flatnonzero(~(m > 0))
    if bad.size:
        raise InputError("masses must be > 0 MeV (no nulls)", field=f"{prefix}.mass_MeV",
                         fix="give every mass as a positive number in MeV",
                         row=int(bad[0]), source=source)
    return m


def _same_length(arrays: dict[str, NDArray[np.float64]], prefix: str, source: str) -> None:
    n = len(arrays["mass_MeV"])
    for k, a in arrays.items():
        if len(a) != n:
            raise InputError(f"{len(a)} values for {n} masses", field=f"{prefix}.{k}",
                             source=source, fix="one value per mass")


@dataclass(frozen=True)
class Overlay:
    """A scan result to draw on the exclusion plot (any block may be None)."""

    label: str
    cl: float
    observed: dict[str, NDArray[np.float64]] | None
    expected: dict[str, NDArray[np.float64]] | None
    bestfit: tuple[float, float] | None
    bestfit_err: dict[str, float] = field(default_factory=dict)
    """Optional asymmetric errors of the best fit: mass_err_low/high (MeV), g_err_low/high."""


def load_overlay(path: str | Path, label: str | None = None) -> Overlay:
    """Read the observed limit, expected band and best-fit point of a ``result.json``.

    At least one of ``limits``, ``expected``, ``bestfit`` (with ``mass_MeV`` and ``g``) must be
    present; a present block with missing keys, non-numeric or negative values, or lengths that
    differ raises :class:`InputError`.
    """
    src = str(path)
    d = read_result_json(path)
    obs = exp = best = None
    errs: dict[str, float] = {}
    lim = d.get("limits") or {}
    if not isinstance(lim, dict):
        raise InputError("expected an object", field="limits", source=src,
                         fix="use the output of `x17scan analyze` or `x17scan sensitivity`")
    if lim:
        obs = {"mass_MeV": _masses(lim, "limits", src),
               "observed": _array(lim, "observed", "limits", src)}
        _same_length(obs, "limits", src)
    ex = d.get("expected") or {}
    if not isinstance(ex, dict):
        raise InputError("expected an object", field="expected", source=src,
                         fix="use the output of `x17scan analyze` or `x17scan sensitivity`")
    if ex:
        exp = {"mass_MeV": _masses(ex, "expected", src)}
        for k in EXPECTED_KEYS[1:]:
            exp[k] = _array(ex, k, "expected", src)
        _same_length(exp, "expected", src)
    bf = d.get("bestfit") or {}
    if not isinstance(bf, dict):
        raise InputError("expected an object", field="bestfit", source=src,
                         fix="use the output of `x17scan analyze` or `x17scan sensitivity`")
    if bf.get("mass_MeV") is not None or bf.get("g") is not None:
        for k in ("mass_MeV", "g"):
            v = bf.get(k)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) \
                    or v < 0:
                raise InputError(f"missing or invalid value {v!r}", field=f"bestfit.{k}",
                                 source=src, fix="a finite number >= 0")
        best = (float(bf["mass_MeV"]), float(bf["g"]))
        for k in BESTFIT_ERRORS:
            v = bf.get(k)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) \
                    or v < 0:
                raise InputError(f"invalid value {v!r}", field=f"bestfit.{k}", source=src,
                                 fix="a finite number >= 0, or null")
            errs[k] = float(v)
    if obs is None and exp is None and best is None:
        raise InputError("nothing to overlay: no 'limits', 'expected' or 'bestfit' block",
                         field="limits", source=src,
                         fix="give a result.json of `x17scan analyze`")
    cl = d.get("cl", 0.90)
    if isinstance(cl, bool) or not isinstance(cl, int | float) or not 0 < cl < 1:
        raise InputError(f"invalid confidence level {cl!r}", field="cl", source=src,
                         fix="a number in (0, 1), e.g. 0.90")
    if label is None:
        parts = [str(d.get("dataset") or ""), str(d.get("method") or "")]
        label = " ".join(p for p in parts if p) or Path(path).stem
    return Overlay(label=label, cl=float(cl), observed=obs, expected=exp, bestfit=best,
                   bestfit_err=errs)


def load_profile_mass(path: str | Path
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[str, Any]]:
    """``bestfit.profile_mass`` (mass_MeV, q) of a ``result.json`` and the ``bestfit`` block.

    q may contain nulls (dropped later, with a note); the lengths must agree."""
    src = str(path)
    d = read_result_json(path, "--result")
    bf = d.get("bestfit")
    if not isinstance(bf, dict) or "profile_mass" not in bf:
        raise InputError("missing key", field="bestfit.profile_mass", source=src,
                         fix="run the scan with a method that writes the mass profile "
                         "(the profile-likelihood method)")
    pm = bf["profile_mass"]
    if not isinstance(pm, dict):
        raise InputError("expected an object with mass_MeV and q", field="bestfit.profile_mass",
                         source=src)
    arrays = {"mass_MeV": _masses(pm, "bestfit.profile_mass", src),
              "q": _array(pm, "q", "bestfit.profile_mass", src, nonneg=False)}
    _same_length(arrays, "bestfit.profile_mass", src)
    return arrays["mass_MeV"], arrays["q"], bf
