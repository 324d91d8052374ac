"""What an analysis found, with stable keys: the contents of ``result.json``.

Blocks (all arrays as lists in JSON; masses in MeV, couplings g_ve dimensionless):

* ``method``: name of the statistical method (``"profile"``, ``"padme-run3"``);
* ``limits``: ``{"mass_MeV": [...], "observed": [...]}`` upper limits on g_ve at ``cl``;
* ``expected``: ``{"mass_MeV", "median", "minus2", "minus1", "plus1", "plus2"}``;
* ``local``: ``{"mass_MeV": [...], "p": [...]}`` local p-value vs mass (``"z"`` optional);
* ``excess``: ``{"mass_MeV", "p_local", "z_local", "p_global", "z_global"}`` for the largest
  excess (plus method-specific extras, e.g. the global p-value's uncertainty);
* ``bestfit``: best-fit (M, g) and uncertainties, where the method provides one; the
  ``profile`` method adds ``profile_mass = {"mass_MeV": [...], "q": [...]}`` (-2 Delta ln L
  versus M, profiled over g and all nuisances: the input of mass combinations) and
  ``profile_mu`` (versus g at the best mass);
* ``fits``: per-point curves for the figures (``sqrt_s``, ``ratio``, ``ratio_err``,
  ``b_only``, ``s_plus_b``);
* ``cls_scan``: CLs vs g at the most significant mass (``g``, ``cls``, ``cls_err``, ``cl``;
  where the method has them ``g_limit`` and the interpolation ``g_fit``, ``cls_fit``,
  ``fit_label``);
* ``control``: control-region stability fits;
* ``sensitivity``: projections (``x17scan sensitivity``/``plan``): discovery reach, systematic
  variations, line shapes, planning proposal;
* ``diagnostics``: failed/retried fit counts, toy counts;
* ``options``: every option the analysis ran with; ``provenance``: versions, input checksums,
  seeds.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from x17scan import atomic

EXPECTED_KEYS = ("mass_MeV", "median", "minus2", "minus1", "plus1", "plus2")
EXCESS_KEYS = ("mass_MeV", "p_local", "z_local", "p_global", "z_global")


def _jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain JSON types; NaN/inf -> None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


@dataclass
class Result:
    """Everything an analysis found; serialises to ``result.json`` (see module docstring)."""

    method: str
    cl: float = 0.90
    dataset: str = ""
    limits: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)
    excess: dict[str, Any] = field(default_factory=dict)
    bestfit: dict[str, Any] = field(default_factory=dict)
    fits: dict[str, Any] = field(default_factory=dict)
    cls_scan: dict[str, Any] = field(default_factory=dict)
    control: dict[str, Any] = field(default_factory=dict)
    sensitivity: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary (numpy converted, NaN -> null)."""
        return _jsonable(asdict(self))

    def to_json(self, path: str | Path | None = None, indent: int = 1) -> str:
        """JSON text; written atomically to ``path`` if given. Keys sorted: stable diffs."""
        text = json.dumps(self.to_dict(), indent=indent, sort_keys=True) + "\n"
        if path is not None:
            atomic.write_text(path, text)
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def from_json(cls, path: str | Path) -> Result:
        """Read a ``result.json``."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __repr__(self) -> str:
        ex = self.excess or {}
        n = len(self.limits.get("mass_MeV", []))
        parts = [f"method={self.method!r}", f"dataset={self.dataset!r}", f"cl={self.cl}",
                 f"masses={n}"]
        obs = [v for v in self.limits.get("observed", []) if v is not None]
        if obs:
            parts.append(f"g_limit={min(obs):.3g}..{max(obs):.3g}")
        if ex.get("mass_MeV") is not None:
            z = ", ".join(f"{k}={ex[k]:.2f}" for k in ("z_local", "z_global")
                          if ex.get(k) is not None)
            parts.append(f"excess at {ex['mass_MeV']:.3f} MeV ({z})")
        return f"Result({', '.join(parts)})"

    def to_dataframe(self):
        """Per-mass table: observed limit, expected quantiles, local p (pandas DataFrame).

        Blocks on different mass grids (e.g. PADME's coarser band grid) are joined on the
        mass; missing entries are NaN.
        """
        import pandas as pd

        frames = []
        for block, cols, prefix in ((self.limits, ("observed",), ""),
                                    (self.expected, EXPECTED_KEYS[1:], "expected_"),
                                    (self.local, ("p", "z"), "local_")):
            if block.get("mass_MeV") is None:
                continue
            data = {f"{prefix}{c}": np.asarray([np.nan if v is None else v
                                                for v in block[c]], dtype=float)
                    for c in cols if c in block}
            masses = np.round(np.asarray(block["mass_MeV"], dtype=float), 6)
            frames.append(pd.DataFrame(data, index=pd.Index(masses, name="mass_MeV")))
        if not frames:
            return pd.DataFrame(index=pd.Index([], name="mass_MeV"))
        return pd.concat(frames, axis=1).sort_index()

    def plot(self, kind: str = "limits", ax=None):
        """Draw one of the analysis figures on ``ax``: ``"limits"`` (default), ``"local_p"``,
        ``"ratio"``, ``"cls_scan"`` or ``"control"``; returns the matplotlib figure."""
        # a convenience entry point: drawing lives in the report stage, imported only here
        from x17scan.report import figures

        plotters = {"limits": figures.plot_limits, "local_p": figures.plot_local_p,
                    "ratio": figures.plot_ratio, "cls_scan": figures.plot_cls_scan,
                    "control": figures.plot_control}
        if kind not in plotters:
            raise ValueError(f"unknown figure {kind!r}; use one of {', '.join(plotters)}")
        res = Result.from_dict(self.to_dict())  # plain lists, as in result.json
        if kind == "ratio":
            return plotters[kind](res, axes=None if ax is None else (ax, None))
        return plotters[kind](res, ax=ax)
