"""External limits on a light vector boson coupled to electrons, 1-100 MeV.

The curves are DarkCast digitisations (package data ``data/limits/``, GPL-2.0-or-later, see
``data/README.md``) for a dark photon: coupling ε·e to electrons, ε = g_ve/e. Two-sided curves
(beam dumps) exclude the band between ``eps_lower`` and ``eps_upper``; one-sided curves (prompt,
collider, (g-2)) exclude everything above ``eps_lower``.

Cleaning on load: DarkCast's "no constraint" marker (ε = 1e5) is dropped; repeated masses
(vertical steps of a digitised line) are kept for drawing and reduced to a strictly increasing
abscissa for interpolation (first and last point of each step, the last moved up by one part
in 10^12, so that the step stays a step).

Applicability (``index.csv``): limits whose production needs quark or proton couplings (NA48/2,
CHARM, NuCAL, NOMAD, PS191, KLOE φ → ηU) or a muon coupling ((g-2)_μ) do not constrain a vector
X17 coupled only to electrons: ``model_dependent`` is True for them and plots hatch them.
Masses in MeV; ε and g_ve dimensionless.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.errors import InputError
from x17scan.physics.constants import E_CHARGE

NO_CONSTRAINT_EPS = 1.0
"""ε at or above which a DarkCast value is the "no constraint" marker (the files use 1e5)."""

INTERPOLATION_METHODS = ("loglog", "linear")

# Short plot labels (the experiment column of index.csv is longer).
LABELS: dict[str, str] = {
    "NA64_Banerjee2019hmi": "NA64 (2017+2018)",
    "NA64_Banerjee2018vgk": "NA64 (2017)",
    "E141_Riordan1987aw": "E141",
    "E137_Andreas2012mt": "E137",
    "E137_Bjorken2009mm": "E137 (Bjorken+ 2009)",
    "E774_Bross1989mp": "E774",
    "KEK_Konaka1986cb": "KEK",
    "Orsay_Davier1989wz": "Orsay",
    "KLOE_Anastasi2015qla": r"KLOE ($ee\to U\gamma$)",
    "KLOE_Babusci2012cr": r"KLOE ($\phi\to\eta U$)",
    "BaBar_Lees2014xha": "BaBar",
    "A1_Merkel2014avp": "A1 (MAMI)",
    "HPS_Adrian2018scb": "HPS (2015)",
    "NA48_Batley2015lha": r"NA48/2 ($\pi^0\to\gamma X$)",
    "CHARM_Bergsma1985qz": "CHARM",
    "CHARM_Tsai2019mtm": "CHARM (Tsai+ 2019)",
    "NOMAD_Astier2001ck": "NOMAD",
    "NuCAL_Blumlein1990ay": r"$\nu$-Cal I ($\pi^0$)",
    "NuCAL_Blumlein1991xh": r"$\nu$-Cal I ($p$ brem.)",
    "NuCAL_Tsai2019mtm": r"$\nu$-Cal I (Tsai+ 2019)",
    "PS191_Bernardi1985ny": "PS191",
    "AMMe_Bodas2021fsy_rb": r"$(g-2)_e$ Rb, $|\Delta a|+3\sigma$ (DarkCast)",
    "AMMe_Bodas2021fsy_cs": r"$(g-2)_e$ Cs, $|\Delta a|+3\sigma$ (DarkCast)",
    "AMMmu_Bodas2021fsy": r"$(g-2)_\mu$ $5\sigma$ (2021)",
    "AMMmu_Bodas2021fsy_2l": r"$(g-2)_\mu$ $2\sigma$ band, lower edge (2021)",
    "AMMmu_Bodas2021fsy_2u": r"$(g-2)_\mu$ $2\sigma$ band, upper edge (2021)",
}

DEFAULT_PLOT_LIMITS: tuple[str, ...] = (
    "E137_Andreas2012mt", "KEK_Konaka1986cb", "Orsay_Davier1989wz", "E774_Bross1989mp",
    "E141_Riordan1987aw", "NA64_Banerjee2019hmi", "KLOE_Anastasi2015qla", "BaBar_Lees2014xha",
    "A1_Merkel2014avp", "HPS_Adrian2018scb", "NA48_Batley2015lha",
)
"""Curves drawn by default: every electron-coupling limit (the 2017-only NA64 curve and the
2009 E137 reanalysis are superseded by the ones listed; the (g-2)_e bound is computed by
:mod:`x17scan.constraints.g2` instead of taken from DarkCast) plus NA48/2, the model-dependent
limit most often quoted for the X17, hatched."""


def _data_dir():
    return resources.files("x17scan.constraints") / "data" / "limits"


@dataclass(frozen=True, eq=False)
class ExternalLimit:
    """One external exclusion curve.

    Attributes
    ----------
    name
        DarkCast name, e.g. ``"NA64_Banerjee2019hmi"``.
    label, experiment
        Short plot label; experiment description from ``index.csv``.
    kind
        ``"visible"`` or ``"g-2"``.
    production, decay
        DarkCast production and decay channels.
    two_sided
        True for beam dumps (excluded band between ``eps_lower`` and ``eps_upper``).
    band_edge
        True for curves that are not limits (edges of the (g-2)_μ preferred band).
    applicability
        The ``applies_to_electron_only_vector_X17`` text of ``index.csv``.
    reference
        Journal reference and arXiv number of the experimental paper.
    digitised_from
        Figure the curve was digitised from.
    mass
        Masses (MeV) after dropping the "no constraint" markers, in file order.
    eps_lower, eps_upper
        ε of the curve at ``mass``; ``eps_upper`` is None for one-sided limits.
    """

    name: str
    label: str
    experiment: str
    kind: str
    production: str
    decay: str
    two_sided: bool
    band_edge: bool
    applicability: str
    reference: str
    digitised_from: str
    mass: NDArray[np.float64]
    eps_lower: NDArray[np.float64]
    eps_upper: NDArray[np.float64] | None

    @property
    def model_dependent(self) -> bool:
        """True if the limit does not apply as it stands to a vector coupled only to electrons
        (it needs quark, proton or muon couplings)."""
        return not self.applicability.strip().lower().startswith("yes")

    @property
    def gve_lower(self) -> NDArray[np.float64]:
        """Lower edge in g_ve = ε e."""
        return self.eps_lower * E_CHARGE

    @property
    def gve_upper(self) -> NDArray[np.float64] | None:
        """Upper edge in g_ve (None for one-sided limits)."""
        return None if self.eps_upper is None else self.eps_upper * E_CHARGE

    @property
    def mass_range(self) -> tuple[float, float]:
        """(smallest, largest) mass of the curve (MeV)."""
        return float(self.mass.min()), float(self.mass.max())

    def eps_at(self, mass: ArrayLike, method: str = "loglog"
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Edges (lower, upper) of the excluded ε range at ``mass`` (MeV).

        ``method``: ``"loglog"`` (linear in log ε vs log M: the curves were digitised from
        log-log figures) or ``"linear"`` (linear in ε vs M, the convention of the table in
        docs/physics.md §11). One-sided limits return upper = +inf. Both are NaN outside the
        mass range of the curve.
        """
        if method not in INTERPOLATION_METHODS:
            raise InputError(f"unknown interpolation method {method!r}", field="method",
                             fix=f"use one of {', '.join(INTERPOLATION_METHODS)}")
        m = np.asarray(mass, dtype=float)
        lo = self._interp(self.eps_lower, m, method)
        if self.eps_upper is None:
            hi = np.where(np.isnan(lo), np.nan, np.inf)
        else:
            hi = self._interp(self.eps_upper, m, method)
        return lo, hi

    def gve_at(self, mass: ArrayLike, method: str = "loglog"
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Edges (lower, upper) of the excluded g_ve range at ``mass`` (MeV); see :meth:`eps_at`."""
        lo, hi = self.eps_at(mass, method)
        return lo * E_CHARGE, hi * E_CHARGE

    def excludes(self, mass: ArrayLike, gve: ArrayLike, method: str = "loglog"
                 ) -> NDArray[np.bool_]:
        """True where the point (``mass`` MeV, ``gve``) lies in the excluded region (broadcasts);
        False outside the mass range of the curve and for band edges (not limits)."""
        if self.band_edge:
            return np.zeros(np.broadcast(np.asarray(mass), np.asarray(gve)).shape, dtype=bool)
        lo, hi = self.gve_at(mass, method)
        g = np.asarray(gve, dtype=float)
        with np.errstate(invalid="ignore"):
            return (g >= lo) & (g <= hi)

    def _interp(self, y: NDArray[np.float64], m: NDArray[np.float64], method: str):
        x, yy = _increasing(self.mass, y)
        inside = (m >= x[0]) & (m <= x[-1])
        if x.size == 1:
            out = np.where(m == x[0], yy[0], np.nan)
        elif method == "loglog":
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.exp(np.interp(np.log(m), np.log(x), np.log(yy)))
        else:
            out = np.interp(m, x, yy)
        return np.where(inside, out, np.nan)

    def __repr__(self) -> str:
        lo, hi = self.mass_range
        side = "two-sided" if self.two_sided else "one-sided"
        flag = ", model-dependent" if self.model_dependent else ""
        return f"ExternalLimit({self.name!r}, {side}, {lo:g}-{hi:g} MeV{flag})"


def _increasing(x: NDArray[np.float64], y: NDArray[np.float64]):
    """Strictly increasing abscissa: of each run of equal masses keep the first and the last
    point, the last moved up by 1e-12 relative (a vertical step stays a step)."""
    if x.size < 2 or np.all(np.diff(x) > 0):
        return x, y
    keep = np.ones(x.size, dtype=bool)
    same_prev = np.r_[False, x[1:] == x[:-1]]
    same_next = np.r_[x[:-1] == x[1:], False]
    keep &= ~(same_prev & same_next)  # interior points of a run
    xs = x.astype(float).copy()
    last_of_run = same_prev & ~same_next
    xs[last_of_run] *= 1.0 + 1e-12
    return xs[keep], y[keep]


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, str]]:
    with (_data_dir() / "index.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r["darkcast_name"]: r for r in rows if r["darkcast_name"]}


def available_limits() -> list[str]:
    """Names of the bundled external limits (DarkCast names), sorted."""
    return sorted(_index())


def _read_curve(name: str):
    row = _index()[name]
    path = _data_dir() / row["file"]
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        data = np.array([[float(v) for v in r] for r in reader if r], dtype=float)
    cols = {h: data[:, i] for i, h in enumerate(header)}
    lower = cols["eps_lower"]
    upper = cols.get("eps_upper")
    keep = lower < NO_CONSTRAINT_EPS
    if upper is not None:
        keep &= upper < NO_CONSTRAINT_EPS
    return (cols["mass_MeV"][keep], lower[keep], None if upper is None else upper[keep])


@functools.cache
def _load(name: str) -> ExternalLimit:
    row = _index()[name]
    mass, lower, upper = _read_curve(name)
    eprint = row["eprint"].strip()
    journal = row["journal"].strip()
    # journal entries like "(2019)" are only a year: the arXiv number is the reference
    parts = [journal] if journal and not journal.startswith("(") else []
    if eprint:
        parts.append(f"arXiv:{eprint}")
    ref = ", ".join(parts) or journal
    return ExternalLimit(
        name=name, label=LABELS.get(name, name), experiment=row["experiment"],
        kind=row["kind"], production=row["production"], decay=row["decay"],
        two_sided=upper is not None, band_edge="not a limit" in row["excluded_region"],
        applicability=row["applies_to_electron_only_vector_X17"], reference=ref,
        digitised_from=row["digitised_from"], mass=mass, eps_lower=lower, eps_upper=upper)


def resolve_names(names: str | Iterable[str] | None) -> list[str]:
    """Turn a user selection into DarkCast names.

    ``names``: None or ``"default"`` (:data:`DEFAULT_PLOT_LIMITS`), ``"all"``, ``"electron"``
    (every limit that applies to an electron-only vector), ``"none"``, or a comma-separated
    string / iterable of names (case-insensitive). Unknown names raise :class:`InputError`
    listing the available ones.
    """
    if names is None:
        return list(DEFAULT_PLOT_LIMITS)
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    items = [n for n in items if n]
    lookup = {n.lower(): n for n in available_limits()}
    out: list[str] = []
    for item in items:
        key = item.lower()
        if key == "default":
            new = list(DEFAULT_PLOT_LIMITS)
        elif key == "all":
            new = available_limits()
        elif key == "electron":
            new = [n for n in available_limits() if not _load(n).model_dependent]
        elif key == "none":
            new = []
        elif key in lookup:
            new = [lookup[key]]
        else:
            raise InputError(
                f"unknown limit name {item!r}", field="--limits",
                fix="use 'default', 'all', 'electron', 'none' or names from: "
                + ", ".join(available_limits()))
        out.extend(n for n in new if n not in out)
    return out


def get_limit(name: str) -> ExternalLimit:
    """The external limit called ``name`` (DarkCast name, case-insensitive)."""
    resolved = resolve_names([name])
    if len(resolved) != 1:
        raise InputError(f"{name!r} is not a single limit", field="name",
                         fix="give one DarkCast name, e.g. NA64_Banerjee2019hmi")
    return _load(resolved[0])


def load_limits(names: str | Iterable[str] | None = None) -> dict[str, ExternalLimit]:
    """The selected external limits (see :func:`resolve_names`), keyed by DarkCast name."""
    return {n: _load(n) for n in resolve_names(names)}
