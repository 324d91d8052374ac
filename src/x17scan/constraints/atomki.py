"""ATOMKI nuclear measurements of the X17 mass, their combination, and the combination with a
scan's mass profile.

Data: ``data/atomki.toml`` (every value with its reference and its open checks; see the file's
header). Masses and energies in MeV, angles in degrees unless the name says ``rad``.

**Opening angle.** For N* -> N + X, X -> e+e-, the minimum (symmetric) opening angle is
sin(θ_min/2) = sqrt(m_X² - 4m_e²)/sqrt(E_X² - 4m_e²), with E_X = ΔE (recoil neglected) or
E_X = (M*² - M_N² + m_X²)/(2M*) (with recoil); computed by
:func:`x17scan.physics.kinematics.atomki_theta_min` and inverted by
:func:`x17scan.physics.kinematics.atomki_mass`. ATOMKI's masses come from a simulation fit of the
full angular distribution, not from this formula.

**Mass combination** (:func:`combine`): generalised least squares with covariance C,
m = 1ᵀC⁻¹x / 1ᵀC⁻¹1, σ² = 1/1ᵀC⁻¹1, χ² = (x - m)ᵀC⁻¹(x - m) with n - 1 degrees of freedom.
Correlation models (``CORRELATIONS``):

* ``uncorrelated``: C = diag(stat² + syst²) (the naive average of docs/physics.md §13);
* ``stat-only``: C = diag(stat²) (values with only a total error keep it);
* ``nucleus`` / ``setup`` / ``common``: systematic errors correlated with coefficient ``rho``
  between measurements on the same nucleus / with the same spectrometer / all of them (all
  ATOMKI values share one group and one fit method).

In every model except ``stat-only`` the systematic errors of values from the same paper
(``syst_group``: the per-proton-energy values) are fully correlated, since they are one
systematic of one measurement. Values quoted with only a total error (⁸Be 2020) are treated as
uncorrelated with everything. These are assumptions: ATOMKI publishes no correlations.

**Combination with a scan** (:func:`combine_with_scan`): the scan's profile
q_scan(M) = -2Δln L(M) (profiled over g) plus χ²_nuc(M) of the nuclear combination; the combined
mass is the minimum of the sum, its errors the Δ = 1 crossings, and the consistency of the two is
Δχ² = min(q_scan + χ²_nuc) - min q_scan - min χ²_nuc, a χ² with 1 degree of freedom when both
are Gaussian in M.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import interpolate, optimize
from scipy import stats as sps

from x17scan.errors import InputError
from x17scan.physics import kinematics
from x17scan.physics.constants import M_BE8_NUCLEUS, M_C12_NUCLEUS, M_HE4_NUCLEUS

NUCLEUS_MASS: dict[str, float] = {"4He": M_HE4_NUCLEUS, "8Be": M_BE8_NUCLEUS,
                                  "12C": M_C12_NUCLEUS}
"""Ground-state nuclear masses (MeV) of the final nuclei, from :mod:`x17scan.physics.constants`."""

CORRELATIONS = ("uncorrelated", "stat-only", "nucleus", "setup", "common")
DATASETS = ("published", "per-energy")
HE4_2019_VALUES = ("arxiv", "epj")


# --- data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """One ATOMKI mass measurement (MeV). ``stat``/``syst`` are None when only ``total`` is
    published. ``info`` keeps the remaining fields of the data file (branching ratio, proton
    energy, peak angle, alternative values)."""

    id: str
    nucleus: str
    final_nucleus: str
    transition: str
    delta_e: float
    mass: float
    stat: float | None
    syst: float | None
    total: float | None
    setup: str
    syst_group: str
    datasets: tuple[str, ...]
    reference: str
    checks: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def error(self) -> float:
        """Total error (MeV): the published total, else stat ⊕ syst."""
        if self.total is not None:
            return self.total
        return math.hypot(self.stat or 0.0, self.syst or 0.0)

    @property
    def stat_error(self) -> float:
        """Statistical error (MeV); the total where only a total is published."""
        return self.stat if self.stat is not None else self.error

    @property
    def syst_error(self) -> float:
        """Systematic error (MeV); 0 where only a total is published (it is then uncorrelated)."""
        return self.syst if (self.syst is not None and self.total is None) else 0.0


def _data() -> dict[str, Any]:
    path = resources.files("x17scan.constraints") / "data" / "atomki.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


_KNOWN = {"id", "nucleus", "final_nucleus", "transition", "delta_E_MeV", "mass_MeV", "stat_MeV",
          "syst_MeV", "total_MeV", "setup", "syst_group", "datasets", "reference", "checks"}


@functools.lru_cache(maxsize=1)
def all_measurements() -> tuple[Measurement, ...]:
    """Every mass measurement of the data file (both selections)."""
    out = []
    for r in _data()["measurement"]:
        out.append(Measurement(
            id=r["id"], nucleus=r["nucleus"], final_nucleus=r["final_nucleus"],
            transition=r["transition"], delta_e=float(r["delta_E_MeV"]),
            mass=float(r["mass_MeV"]), stat=r.get("stat_MeV"), syst=r.get("syst_MeV"),
            total=r.get("total_MeV"), setup=r["setup"], syst_group=r["syst_group"],
            datasets=tuple(r["datasets"]), reference=r["reference"],
            checks=tuple(r.get("checks", ())),
            info={k: v for k, v in r.items() if k not in _KNOWN}))
    return tuple(out)


def load_measurements(dataset: str = "published", he4_2019: str = "arxiv",
                      ids: Sequence[str] | None = None) -> list[Measurement]:
    """The measurements of a selection.

    ``dataset``: ``"published"`` (one mass per paper: ⁸Be 2016, ⁸Be 2020, ⁴He 2019, ⁴He 2021,
    ¹²C 2022) or ``"per-energy"`` (the ⁴He 2021 and ¹²C 2022 averages replaced by their
    per-proton-energy values). ``he4_2019``: ``"arxiv"`` (16.84, arXiv:1910.10459) or ``"epj"``
    (16.98, EPJ Web Conf. 232 (2020) 04005); which one is the reference is to be checked.
    ``ids``: an explicit list of measurement ids instead of a selection.
    """
    if he4_2019 not in HE4_2019_VALUES:
        raise InputError(f"unknown 4He 2019 value {he4_2019!r}", field="--he4-2019",
                         fix=f"use one of {', '.join(HE4_2019_VALUES)}")
    every = all_measurements()
    if ids is not None:
        by_id = {m.id.lower(): m for m in every}
        chosen = []
        for i in ids:
            if i.strip().lower() not in by_id:
                raise InputError(f"unknown measurement id {i!r}", field="--measurements",
                                 fix="use ids from: " + ", ".join(m.id for m in every))
            chosen.append(by_id[i.strip().lower()])
    else:
        if dataset not in DATASETS:
            raise InputError(f"unknown data set {dataset!r}", field="--dataset",
                             fix=f"use one of {', '.join(DATASETS)}")
        chosen = [m for m in every if dataset in m.datasets]
    if he4_2019 == "epj":
        chosen = [replace(m, mass=float(m.info["alternative_mass_MeV"]),
                          reference=m.info["alternative_source"])
                  if m.id == "He4_2019" else m for m in chosen]
    return chosen


def null_results() -> list[dict[str, Any]]:
    """Searches without a signal (⁸Be 17.64 in 2016, MEG II), with references."""
    return list(_data()["null_result"])


def external_combinations() -> list[dict[str, Any]]:
    """Published combinations not reproduced here (Denton & Gehrlein 2023)."""
    return list(_data()["external_combination"])


@dataclass(frozen=True)
class CouplingBand:
    """A range of ε = g_ve/e called "ATOMKI-favoured", with its source and open checks."""

    key: str
    eps_min: float
    eps_max: float
    label: str
    reference: str
    checks: tuple[str, ...]


def coupling_bands() -> dict[str, CouplingBand]:
    """The ε ranges of the data file: ``feng2016`` and ``seed`` (source unverified)."""
    return {k: CouplingBand(key=k, eps_min=float(v["eps_min"]), eps_max=float(v["eps_max"]),
                            label=v["label"], reference=v["reference"],
                            checks=tuple(v.get("checks", ())))
            for k, v in _data()["coupling_band"].items()}


# --- opening angle ------------------------------------------------------------------------------
def _nucleus_mass(nucleus: str | None) -> float | None:
    if nucleus is None:
        return None
    if nucleus not in NUCLEUS_MASS:
        raise InputError(f"unknown nucleus {nucleus!r}", field="nucleus",
                         fix=f"use one of {', '.join(NUCLEUS_MASS)} or None (no recoil)")
    return NUCLEUS_MASS[nucleus]


def x_energy(m_x: ArrayLike, delta_e: ArrayLike, nucleus: str | None = None
             ) -> NDArray[np.float64]:
    """Energy E_X (MeV) of the boson: ΔE without recoil (``nucleus`` None), else
    (M*² - M_N² + m_X²)/(2M*) with M_N the ground-state mass of ``nucleus`` and M* = M_N + ΔE."""
    mn = _nucleus_mass(nucleus)
    de = np.asarray(delta_e, dtype=float)
    if mn is None:
        return np.broadcast_to(de, np.broadcast(de, np.asarray(m_x)).shape).astype(float)
    mx = np.asarray(m_x, dtype=float)
    ms = mn + de
    return (ms * ms - mn * mn + mx * mx) / (2 * ms)


def opening_angle(m_x: ArrayLike, delta_e: ArrayLike, nucleus: str | None = None
                  ) -> NDArray[np.float64]:
    """Minimum e+e- opening angle θ_min (degrees) for a boson of mass ``m_x`` (MeV) emitted in a
    transition of energy ``delta_e`` (MeV); with recoil of the final ``nucleus`` ("4He", "8Be",
    "12C") if given. NaN where the decay is forbidden."""
    th = kinematics.atomki_theta_min(m_x, delta_e, _nucleus_mass(nucleus))
    return np.degrees(th)


def mass_from_angle(theta_deg: ArrayLike, delta_e: ArrayLike, nucleus: str | None = None
                    ) -> NDArray[np.float64]:
    """Boson mass (MeV) whose θ_min is ``theta_deg`` (degrees) for a transition of energy
    ``delta_e`` (MeV); inverse of :func:`opening_angle` (same recoil option)."""
    return kinematics.atomki_mass(np.radians(np.asarray(theta_deg, dtype=float)), delta_e,
                                  _nucleus_mass(nucleus))


# --- mass combination ---------------------------------------------------------------------------
def covariance(measurements: Sequence[Measurement], correlation: str = "uncorrelated",
               rho: float = 1.0) -> NDArray[np.float64]:
    """Covariance matrix (MeV²) of the masses under a correlation model (module docstring)."""
    if correlation not in CORRELATIONS:
        raise InputError(f"unknown correlation model {correlation!r}", field="--correlation",
                         fix=f"use one of {', '.join(CORRELATIONS)}")
    if not (np.isfinite(rho) and -1.0 <= rho <= 1.0):
        raise InputError(f"correlation coefficient must be in [-1, 1], got {rho}", field="--rho",
                         fix="give a correlation coefficient between -1 and 1")
    ms = list(measurements)
    if correlation == "stat-only":
        return np.diag([m.stat_error ** 2 for m in ms])
    if correlation == "uncorrelated":
        # only the shared systematic of one paper's per-energy values is correlated
        coef = _same(ms, "syst_group").astype(float)
    else:
        attr = {"nucleus": "nucleus", "setup": "setup", "common": None}[correlation]
        same = np.ones((len(ms), len(ms)), bool) if attr is None else _same(ms, attr)
        coef = np.where(_same(ms, "syst_group"), 1.0, np.where(same, rho, 0.0))
    syst = np.array([m.syst_error for m in ms])
    uncorr = np.array([m.error ** 2 - m.syst_error ** 2 for m in ms])
    cov = coef * np.outer(syst, syst)
    np.fill_diagonal(cov, syst ** 2 + uncorr)
    return cov


def _same(ms: Sequence[Measurement], attr: str) -> NDArray[np.bool_]:
    v = np.array([getattr(m, attr) for m in ms], dtype=object)
    return v[:, None] == v[None, :]


@dataclass(frozen=True)
class MassCombination:
    """A combined mass (MeV) with its error, χ², degrees of freedom, p-value, the weights of the
    inputs and the assumptions it was made with."""

    mass: float
    error: float
    chi2: float
    ndof: int
    p_value: float
    ids: tuple[str, ...]
    values: NDArray[np.float64]
    cov: NDArray[np.float64]
    weights: NDArray[np.float64]
    correlation: str
    rho: float

    def chi2_at(self, mass: ArrayLike) -> NDArray[np.float64]:
        """χ²_nuc(M) = (x - M)ᵀC⁻¹(x - M) at the masses ``mass`` (MeV); equal to
        chi2 + ((M - mass)/error)² exactly (a parabola)."""
        m = np.asarray(mass, dtype=float)
        return self.chi2 + ((m - self.mass) / self.error) ** 2

    @property
    def assumptions(self) -> str:
        """One sentence stating the correlation assumptions."""
        base = {
            "uncorrelated": "stat (+) syst, uncorrelated between papers",
            "stat-only": "statistical errors only (totals where no split is published)",
            "nucleus": f"systematics correlated with rho = {self.rho:g} within each nucleus",
            "setup": f"systematics correlated with rho = {self.rho:g} within each spectrometer "
                     "(set-up assignment to be checked)",
            "common": f"systematics correlated with rho = {self.rho:g} between all measurements",
        }[self.correlation]
        extra = ("; per-energy values of one paper share its systematic (rho = 1)"
                 if self.correlation != "stat-only" else "")
        return base + extra + "; values with only a total error are uncorrelated"


def combine(measurements: Sequence[Measurement], correlation: str = "uncorrelated",
            rho: float = 1.0) -> MassCombination:
    """Generalised-least-squares average of the masses (see the module docstring)."""
    ms = list(measurements)
    if len(ms) < 1:
        raise InputError("no measurements to combine", field="--measurements",
                         fix="select at least one measurement (see `x17scan atomki --json`)")
    x = np.array([m.mass for m in ms])
    cov = covariance(ms, correlation, rho)
    try:
        cinv = np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise InputError("the covariance of the selected measurements is singular",
                         field="--rho", fix="use |rho| < 1 or fewer measurements") from None
    ones = np.ones(len(ms))
    norm = ones @ cinv @ ones
    if not norm > 0:
        raise InputError("the covariance of the selected measurements is not positive definite",
                         field="--rho", fix="use a smaller |rho|")
    w = cinv @ ones / norm
    mean = float(w @ x)
    r = x - mean
    chi2 = float(r @ cinv @ r)
    ndof = len(ms) - 1
    p = float(sps.chi2.sf(chi2, ndof)) if ndof > 0 else float("nan")
    return MassCombination(mass=mean, error=float(1 / math.sqrt(norm)), chi2=chi2, ndof=ndof,
                           p_value=p, ids=tuple(m.id for m in ms), values=x, cov=cov, weights=w,
                           correlation=correlation, rho=float(rho))


# --- combination with a scan --------------------------------------------------------------------
@dataclass(frozen=True)
class ScanCombination:
    """The scan's mass profile combined with the nuclear χ² (masses in MeV).

    ``mass``, ``err_low``, ``err_high``: combined minimum and its Δ = 1 errors (None if the
    crossing lies outside the scan range). ``scan_*``: the same for the scan alone.
    ``delta_chi2``, ``p_value``, ``z``: consistency of the scan with the nuclear masses
    (1 degree of freedom; z = sqrt(Δχ²)). ``grid``, ``q_scan``, ``chi2_nuc``: curves for plots.
    """

    mass: float
    err_low: float | None
    err_high: float | None
    scan_mass: float
    scan_err_low: float | None
    scan_err_high: float | None
    q_scan_min: float
    chi2_nuc_min: float
    total_min: float
    delta_chi2: float
    p_value: float
    z: float
    grid: NDArray[np.float64]
    q_scan: NDArray[np.float64]
    chi2_nuc: NDArray[np.float64]
    notes: tuple[str, ...] = ()

    @property
    def error(self) -> float | None:
        """Symmetrised error (MeV), None if a crossing is missing."""
        if self.err_low is None or self.err_high is None:
            return None
        return 0.5 * (self.err_low + self.err_high)


def scan_profile(mass_mev: ArrayLike, q: ArrayLike, source: str | None = None
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[str]]:
    """Validate a profile q(M): finite increasing masses (sorted here), at least 3 finite q >= 0
    points. Non-finite q (failed fits, null in JSON) are dropped and counted in the notes."""
    m = np.asarray([np.nan if v is None else v for v in np.atleast_1d(mass_mev)], dtype=float)
    qq = np.asarray([np.nan if v is None else v for v in np.atleast_1d(q)], dtype=float)
    fld = "bestfit.profile_mass"
    if m.shape != qq.shape or m.ndim != 1:
        raise InputError(f"mass_MeV ({m.size}) and q ({qq.size}) have different lengths",
                         field=fld, source=source, fix="write one q per mass")
    if not np.all(np.isfinite(m)):
        raise InputError("non-finite mass in the profile", field=f"{fld}.mass_MeV",
                         fix="give finite masses in MeV", source=source,
                         row=int(np.flatnonzero(~np.isfinite(m))[0]))
    notes = []
    neg = np.flatnonzero(qq < -1e-6)  # NaN compares False
    if neg.size:
        raise InputError("negative q = -2 delta lnL in the profile", field=f"{fld}.q",
                         source=source, row=int(neg[0]), fix="q must be -2 ln(L/L_max) >= 0")
    bad = ~np.isfinite(qq)
    if bad.any():
        notes.append(f"{int(bad.sum())} profile point(s) without q (null) dropped")
    m, qq = m[~bad], qq[~bad]
    order = np.argsort(m, kind="stable")
    m, qq = m[order], qq[order]
    if m.size < 3:
        raise InputError(f"the profile has {m.size} usable points, need >= 3", field=fld,
                         fix="use a result whose mass profile has at least 3 masses",
                         source=source)
    if np.any(np.diff(m) <= 0):
        raise InputError("repeated mass in the profile", field=f"{fld}.mass_MeV", source=source,
                         fix="one q per mass")
    return m, qq, notes


def _crossings(f, x0: float, lo: float, hi: float, level: float):
    """Points left and right of x0 where f = f(x0) + level (None if not inside [lo, hi])."""
    f0 = f(x0)

    def g(x):
        return f(x) - f0 - level

    left = right = None
    if x0 > lo and g(lo) > 0:
        left = optimize.brentq(g, lo, x0, xtol=1e-10)
    if x0 < hi and g(hi) > 0:
        right = optimize.brentq(g, x0, hi, xtol=1e-10)
    return left, right


def _minimum(f, grid: NDArray[np.float64], values: NDArray[np.float64]) -> float:
    i = int(np.nanargmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if a == b:
        return float(grid[i])
    res = optimize.minimize_scalar(f, bounds=(a, b), method="bounded",
                                   options={"xatol": 1e-10})
    return float(res.x) if res.fun <= values[i] else float(grid[i])


def combine_with_scan(mass_mev: ArrayLike, q: ArrayLike, nuclear: MassCombination,
                      interp: str = "cubic", n_grid: int = 4001, source: str | None = None
                      ) -> ScanCombination:
    """Combine a scan's profile q_scan(M) (−2Δln L profiled over g, at masses ``mass_mev`` MeV)
    with the nuclear χ²_nuc(M) of ``nuclear`` (see the module docstring).

    ``interp``: interpolation of q_scan between its points, ``"cubic"`` (not-a-knot spline:
    exact for parabolas, O(h⁴) for smooth profiles; default) or ``"pchip"`` (shape-preserving,
    no overshoot at kinks where the profiled g reaches 0, but biased at the minimum when there
    are few points per σ). The combined fit is restricted to the scan's mass range, where q_scan
    is known; a minimum at its edge is noted.
    """
    m, qq, notes = scan_profile(mass_mev, q, source)
    if interp == "pchip":
        spline = interpolate.PchipInterpolator(m, qq, extrapolate=False)
    elif interp == "cubic":
        spline = interpolate.CubicSpline(m, qq, bc_type="not-a-knot", extrapolate=False)
    else:
        raise InputError(f"unknown interpolation {interp!r}", field="interp",
                         fix="use 'pchip' or 'cubic'")
    lo, hi = float(m[0]), float(m[-1])

    def q_scan(x):
        return spline(np.clip(x, lo, hi))

    def total(x):
        return q_scan(x) + nuclear.chi2_at(x)

    grid = np.linspace(lo, hi, n_grid)
    qs, cn = q_scan(grid), nuclear.chi2_at(grid)
    m_tot = _minimum(lambda x: float(total(x)), grid, qs + cn)
    m_scan = _minimum(lambda x: float(q_scan(x)), grid, qs)
    t_min, q_min = float(total(m_tot)), float(q_scan(m_scan))
    dchi2 = max(t_min - q_min - nuclear.chi2, 0.0)
    tl, th = _crossings(lambda x: float(total(x)), m_tot, lo, hi, 1.0)
    sl, sh = _crossings(lambda x: float(q_scan(x)), m_scan, lo, hi, 1.0)
    width = hi - lo
    if min(m_tot - lo, hi - m_tot) < 1e-6 * width:
        notes.append("combined minimum at the edge of the scan range: the scan says nothing "
                     "beyond it")
    if tl is None or th is None:
        notes.append("a Δχ² = 1 crossing of the combination lies outside the scan range")
    if not nuclear.mass - 3 * nuclear.error >= lo or not nuclear.mass + 3 * nuclear.error <= hi:
        notes.append("the nuclear ±3σ range extends beyond the scan range; only the overlap "
                     "enters the combination")
    return ScanCombination(
        mass=m_tot, err_low=None if tl is None else m_tot - tl,
        err_high=None if th is None else th - m_tot, scan_mass=m_scan,
        scan_err_low=None if sl is None else m_scan - sl,
        scan_err_high=None if sh is None else sh - m_scan, q_scan_min=q_min,
        chi2_nuc_min=nuclear.chi2, total_min=t_min, delta_chi2=dchi2,
        p_value=float(sps.chi2.sf(dchi2, 1)), z=math.sqrt(dchi2), grid=grid, q_scan=qs,
        chi2_nuc=cn, notes=tuple(notes))
