"""Expected sensitivity of a scan: expected CLs limits and discovery reach, before any data.

A scan (plain arrays: nominal beam energies, PoT per point, beam spread; see
:class:`ScanInputs`) is turned into an *expected* scan table (:func:`asimov_table`): the
observed count of every point is its expected background PoT_i x B(sqrt s_i), with the
background per PoT B and the signal efficiency eps interpolated in sqrt(s) from a reference
table (:class:`ReferenceCurves`: the shipped PADME Run III inputs, or a simulated table).
The statistics then see an ordinary :class:`~x17scan.data.ScanTable`.

Two signal/likelihood models (:func:`expected_sensitivity`):

* ``"profile"``: the profile method's Poisson likelihood (:mod:`x17scan.stats.likelihood`)
  with the :class:`~x17scan.stats.signal.SignalModel` of the chosen line shape
  (free / atomic / sto / voigt) and spin;
* ``"padme-run3"``: PADME's chi-square of docs/padme-run3-method.md §3 (K constraint, eps/B
  line, Voigt nuisances; :mod:`x17scan.stats.padme_run3`).

Asymptotic results (default) use the Asimov data sets and the CCGV formulae (Cowan, Cranmer,
Gross, Vitells, EPJC 71 (2011) 1554), the variant PADME itself coded for its Asimov bands
(padme-run3-method §8): the expected CLs limit of band N (N = -2..2, +N = higher limits)
solves sqrt(q_mu,A) = N + Phi^-1(1 - alpha Phi(N)) with q_mu,A the test statistic on the
background-only Asimov data set. Discovery reach: the coupling whose median local significance
is Z solves sqrt(q0,A(mu)) = Z, q0,A on the signal-plus-background Asimov data set (CCGV eq.
97). The global reach over the mass window uses the Gross-Vitells formula with the Rice
up-crossing density of the whitened signal templates (:mod:`x17scan.stats.lee`):
p_global(u) = p_local(u) + N1 exp(-u/2); the local q0 threshold u* with p_global(u*) =
Phi(-Z) then plays the role of Z^2. Toys (on request) reuse the profile method's
:class:`~x17scan.stats.calculators.ToyCalculator` or PADME's pseudo-experiments.

Roots in mu are found for all (band, mass) rows at once by a safeguarded secant iteration in
(log mu, log sqrt q) (sqrt q is close to proportional to mu), a handful of batched fits instead
of the ~30 of a bisection.

Pseudoscalar (and scalar) X: half the vector rate at equal coupling (physics.md §4, in the
yield functions), and a flat CM angular distribution instead of 1 + cos^2: the vector
efficiency of the reference table is scaled by the acceptance ratio
c / [(3/8)(2c + 2c^3/3)] with c = c(sqrt s) the Run III acceptance in |cos theta*| for e+e-
(physics.md §5.2, §9; 1.32 at 17 MeV). This assumes the selection efficiency inside the
acceptance does not depend on the angular distribution (not checked with the simulation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from x17scan.data.scantable import ScanTable
from x17scan.errors import InputError
from x17scan.physics.constants import BES_PADME, BES_PADME_ERR, M_E
from x17scan.stats import teststat as ts
from x17scan.stats.calculators import BAND_KEYS, BANDS

Array = NDArray[np.float64]

MODELS: tuple[str, ...] = ("profile", "padme-run3")
"""Signal/likelihood models of :func:`expected_sensitivity`."""
G_MAX = 1.0e-2
"""Couplings above this are reported as 'no sensitivity' (NaN): the signal is negligible there
(masses outside the scan)."""
Z_DISCOVERY: tuple[float, ...] = (3.0, 5.0)

_V_LIKE = ("vector", "axial")
_S_LIKE = ("scalar", "pseudoscalar")


# ---------------------------------------------------------------------------------------------
# inputs: the scan and the reference curves
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReferenceCurves:
    """Background per PoT and signal efficiency versus sqrt(s), for interpolation.

    ``sqrt_s`` (MeV, increasing), ``bkg`` (per positron) and ``bkg_rel_err`` (relative),
    ``eff`` (fraction) and ``eff_rel_err`` (relative); ``spin`` is the spin the efficiency
    was computed for (PADME's table: vector). Build one with :meth:`from_table`.
    """

    sqrt_s: Array
    bkg: Array
    bkg_rel_err: Array
    eff: Array
    eff_rel_err: Array
    name: str = "reference"
    spin: str = "vector"

    @classmethod
    def from_table(cls, table: ScanTable, name: str | None = None) -> ReferenceCurves:
        """Curves from every row of ``table`` (used or not: all carry a B and an efficiency);
        rows at the same sqrt(s) are averaged. Rows with sig_eff = 0 are dropped."""
        s = np.asarray(table.sqrt_s, float)
        keep = np.asarray(table.sig_eff) > 0
        if keep.sum() < 2:
            raise InputError("the reference table needs at least two points with sig_eff > 0",
                             field="sig_eff", source=table.name,
                             fix="give a table with signal efficiencies (e.g. from x17scan "
                                 "simulate)")
        s = s[keep]
        cols = {"bkg": np.asarray(table.bkg_per_pot)[keep],
                "bkg_rel_err": (np.asarray(table.bkg_per_pot_err)
                                / np.asarray(table.bkg_per_pot))[keep],
                "eff": np.asarray(table.sig_eff)[keep],
                "eff_rel_err": (np.asarray(table.sig_eff_err) / np.asarray(table.sig_eff))[keep]}
        us, inv = np.unique(s, return_inverse=True)
        cnt = np.bincount(inv)
        out = {k: np.bincount(inv, v) / cnt for k, v in cols.items()}
        sim = table.meta.get("simulation") if isinstance(table.meta, Mapping) else None
        spin = str(sim.get("spin", "vector")) if isinstance(sim, Mapping) else "vector"
        return cls(sqrt_s=us, name=name or table.name, spin=spin, **out)

    @property
    def range(self) -> tuple[float, float]:
        """sqrt(s) range (MeV) covered."""
        return float(self.sqrt_s[0]), float(self.sqrt_s[-1])

    def at(self, sqrt_s: ArrayLike, field_name: str = "e_beam",
           extrapolate: bool = False) -> dict[str, Array]:
        """Linear interpolation in sqrt(s) (MeV) of every curve. Outside the covered range:
        InputError naming ``field_name`` unless ``extrapolate`` (then the end values)."""
        s = np.asarray(sqrt_s, float)
        lo, hi = self.range
        tol = 1e-6
        out_of = (s < lo - tol) | (s > hi + tol)
        if out_of.any() and not extrapolate:
            i = int(np.flatnonzero(out_of)[0])
            e = (s[i] ** 2 - 2.0 * M_E ** 2) / (2.0 * M_E)
            raise InputError(
                f"the point at E_beam = {e:.2f} MeV (sqrt(s) = {s[i]:.4f} MeV) lies outside the "
                f"reference table {self.name!r} (sqrt(s) {lo:.3f}-{hi:.3f} MeV)",
                field=field_name,
                fix="keep the points inside the reference range, or give --bkg-table with a "
                    "simulated scan table that covers them (x17scan simulate)")
        return {k: np.interp(s, self.sqrt_s, getattr(self, k))
                for k in ("bkg", "bkg_rel_err", "eff", "eff_rel_err")}


@dataclass(frozen=True)
class ScanInputs:
    """A planned scan as plain arrays: nominal beam energies ``e_beam`` (MeV), positrons on
    target ``pot`` and their uncorrelated errors ``pot_err`` (positrons), the relative beam
    spread ``bes`` and the energy-scale offset ``energy_offset`` (MeV, true minus nominal).
    Only points that enter the resonance fit belong here (the CLI drops the others)."""

    e_beam: Array
    pot: Array
    pot_err: Array
    bes: float = BES_PADME
    energy_offset: float = 0.0
    name: str = "plan"

    def __post_init__(self) -> None:
        e = np.atleast_1d(np.asarray(self.e_beam, float))
        p = np.atleast_1d(np.asarray(self.pot, float))
        pe = np.broadcast_to(np.asarray(self.pot_err, float), p.shape).copy()
        object.__setattr__(self, "e_beam", e)
        object.__setattr__(self, "pot", p)
        object.__setattr__(self, "pot_err", pe)
        if e.shape != p.shape:
            raise InputError(f"{e.size} energies but {p.size} PoT values", field="pot",
                             fix="give one PoT per point")
        if e.size < 3:
            raise InputError(f"only {e.size} scan points", field="points",
                             fix="a scan fit needs at least 3 points (the background line)")
        if not np.isfinite(e).all() or (e <= 0).any():
            i = int(np.flatnonzero(~(e > 0))[0])
            raise InputError(f"e_beam = {e[i]} MeV is not a positive energy",
                             field=f"points[{i}].e_beam", row=i, fix="give energies in MeV")
        if (np.diff(e) <= 0).any():
            i = int(np.flatnonzero(np.diff(e) <= 0)[0]) + 1
            raise InputError(f"points are not in increasing e_beam ({e[i - 1]} then {e[i]} MeV)",
                             field=f"points[{i}].e_beam", row=i,
                             fix="sort the points by energy and merge repeated energies")
        if not np.isfinite(p).all() or (p <= 0).any():
            i = int(np.flatnonzero(~(p > 0))[0])
            raise InputError(f"pot = {p[i]} is not positive", field=f"points[{i}].pot", row=i,
                             fix="give every point a positive number of positrons, or drop it")
        if not (np.isfinite(self.bes) and 0 < self.bes < 0.1):
            raise InputError(f"bes = {self.bes} is not a relative spread in (0, 0.1)",
                             field="bes", fix="give e.g. 0.0025 for 0.25 %")

    @property
    def sqrt_s(self) -> Array:
        """Nominal CM energies (MeV), CODATA m_e, electron at rest."""
        return np.sqrt(2.0 * M_E * (self.e_beam + M_E))

    @property
    def total_pot(self) -> float:
        return float(self.pot.sum())

    def table(self, ref: ReferenceCurves, *, energy_offset: float | None = None,
              bkg_extra_err: float = 0.0, spin: str = "vector",
              extrapolate: bool = False) -> ScanTable:
        """The expected (Asimov) scan table: :func:`asimov_table` at the true energies
        (nominal + ``energy_offset``, default the plan's)."""
        off = self.energy_offset if energy_offset is None else energy_offset
        return asimov_table(self.e_beam + off, self.pot, self.pot_err, ref,
                            bkg_extra_err=bkg_extra_err, spin=spin, name=self.name,
                            extrapolate=extrapolate)


def spin_efficiency_factor(sqrt_s: ArrayLike, spin: str, ref_spin: str = "vector") -> Array:
    """Factor turning an efficiency computed for ``ref_spin`` into one for ``spin`` (module
    docstring): c/[(3/8)(2c + 2c^3/3)] from a 1 + cos^2 to a flat CM distribution (its inverse
    the other way, 1 within a class). ``sqrt_s`` in MeV; c from the Run III acceptance."""
    from x17scan.physics.kinematics import acceptance_cos
    from x17scan.physics.resonance import check_spin

    try:
        check_spin(spin)
        check_spin(ref_spin)
    except ValueError as err:
        raise InputError(str(err), field="--spin",
                         fix="use vector, axial, scalar or pseudoscalar") from None
    s = np.asarray(sqrt_s, float)
    if (spin in _V_LIKE) == (ref_spin in _V_LIKE):
        return np.ones_like(s)
    c = acceptance_cos(s, mass=M_E)
    flat_over_v = c / (0.375 * (2.0 * c + 2.0 * c ** 3 / 3.0))
    return flat_over_v if spin in _S_LIKE else 1.0 / flat_over_v


def asimov_table(e_beam: ArrayLike, pot: ArrayLike, pot_err: ArrayLike, ref: ReferenceCurves, *,
                 bkg_extra_err: float = 0.0, spin: str = "vector", name: str = "plan",
                 extrapolate: bool = False) -> ScanTable:
    """Expected scan table of points at (true) beam energies ``e_beam`` (MeV) with ``pot``
    positrons (errors ``pot_err``): n_obs = PoT x B, B and eps (and their relative errors)
    interpolated in sqrt(s) from ``ref``; ``bkg_extra_err`` (relative) is added in quadrature
    to the per-point background error (background-shape uncertainty); the efficiency is
    converted to ``spin`` (:func:`spin_efficiency_factor`)."""
    e = np.asarray(e_beam, float)
    s = np.sqrt(2.0 * M_E * (e + M_E))
    c = ref.at(s, "e_beam", extrapolate)
    p = np.asarray(pot, float)
    bkg = c["bkg"]
    brel = np.hypot(c["bkg_rel_err"], bkg_extra_err)
    eff = c["eff"] * spin_efficiency_factor(s, spin, ref.spin)
    meta = {"name": name, "observable": "2cl", "source": "expected (Asimov) table",
            "reference": ref.name, "spin": spin, "bkg_extra_err": bkg_extra_err}
    return ScanTable.from_columns(
        {"sqrt_s": s, "e_beam": e, "n_obs": p * bkg, "pot": p,
         "pot_err": np.broadcast_to(np.asarray(pot_err, float), p.shape),
         "bkg_per_pot": bkg, "bkg_per_pot_err": bkg * brel, "sig_eff": np.minimum(eff, 1.0),
         "sig_eff_err": np.minimum(eff, 1.0) * c["eff_rel_err"]}, meta=meta)


# ---------------------------------------------------------------------------------------------
# line shapes
# ---------------------------------------------------------------------------------------------
def lineshape_peaks(mass: float = 17.0, bes: float = 0.0022,
                    shapes: Sequence[str] = ("free", "atomic", "voigt")) -> dict[str, float]:
    """Peak signal yield per PoT per g^2 of each line shape at ``mass`` (MeV) and relative
    beam spread ``bes`` (100 um diamond; voigt with PADME's A_peak and Gamma_L), and the
    reduction factors free/shape (physics.md §6.4: free/atomic = 3.1 at 0.22 %)."""
    from x17scan.physics.lineshape import kernel_peak
    from x17scan.physics.resonance import integrated_yield

    out: dict[str, float] = {}
    norm = float(integrated_yield(mass, 1.0))
    for sh in shapes:
        _, k = kernel_peak(mass, bes, sh)
        if sh == "voigt":
            from x17scan.physics.constants import A_PEAK_PADME

            out[sh] = A_PEAK_PADME * k
        else:
            out[sh] = norm * k
    if "free" in out:
        for sh in shapes:
            if sh != "free":
                out[f"reduction_free_over_{sh}"] = out["free"] / out[sh]
    return out


# ---------------------------------------------------------------------------------------------
# root finding
# ---------------------------------------------------------------------------------------------
def solve_increasing(fn: Callable[[NDArray[np.intp], Array], Array], target: ArrayLike,
                     x0: ArrayLike, *, x_max: ArrayLike = np.inf, rtol: float = 2e-4,
                     max_iter: int = 40) -> tuple[Array, NDArray[np.bool_], int]:
    """Solve fn(rows, x) = target for x > 0, row by row, with fn increasing in x from 0.

    Secant steps in (log x, log fn) (exact in one step if fn is a power law), kept inside the
    bracket found so far (geometric bisection otherwise). ``fn(rows, x)`` evaluates the rows
    ``rows`` (indices) at ``x`` (same length). Rows whose solution exceeds ``x_max`` get NaN.
    Returns (x, converged flags, number of fn calls).
    """
    tgt = np.asarray(target, float)
    x = np.array(x0, float)
    n = x.size
    tgt = np.broadcast_to(tgt, (n,)).copy()
    xmax = np.broadcast_to(np.asarray(x_max, float), (n,)).copy()
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    f = fn(np.arange(n), x)
    calls = 1
    slope = np.ones(n)
    xp = np.full(n, np.nan)
    fp = np.full(n, np.nan)
    conv = np.zeros(n, bool)
    dead = np.zeros(n, bool)
    tiny = 1e-300
    for _ in range(max_iter):
        below = f < tgt
        lo = np.where(below, np.maximum(lo, x), lo)
        hi = np.where(~below, np.minimum(hi, x), hi)
        conv |= (np.abs(f / tgt - 1.0) < rtol) | (hi / np.maximum(lo, tiny) - 1.0 < rtol)
        dead |= below & (x >= xmax)
        act = np.flatnonzero(~conv & ~dead)
        if act.size == 0:
            break
        # secant slope from the last two evaluations (d log f / d log x), clipped
        with np.errstate(divide="ignore", invalid="ignore"):
            sl = (np.log(np.maximum(f, tiny)) - np.log(np.maximum(fp, tiny))) / (
                np.log(x) - np.log(xp))
        good = np.isfinite(sl) & (f > 0) & (fp > 0)
        slope = np.where(good, np.clip(sl, 0.25, 4.0), slope)
        with np.errstate(divide="ignore"):
            step = np.where(f > 0, (np.log(tgt) - np.log(np.maximum(f, tiny))) / slope,
                            np.log(100.0))
        xn = x * np.exp(np.clip(step, -np.log(1e3), np.log(1e3)))
        outside = (xn <= lo) | (xn >= hi)
        both = np.isfinite(hi) & (lo > 0)
        xn = np.where(outside & both, np.sqrt(lo * np.where(both, hi, 1.0)), xn)
        xn = np.where(outside & ~both & (hi < np.inf), 0.5 * hi, xn)
        xn = np.where(outside & ~both & (hi == np.inf), 2.0 * np.maximum(lo, x), xn)
        xn = np.minimum(xn, np.where(below, np.maximum(xmax, x), np.inf))
        xp[act], fp[act] = x[act], f[act]
        x[act] = xn[act]
        f[act] = fn(act, x[act])
        calls += 1
    out = np.where(dead, np.nan, x)
    return out, conv & ~dead, calls


def _gv_threshold(z: float, n1: float) -> float:
    """Local q0 threshold u with p_local(u) + n1 exp(-u/2) = Phi(-z) (Gross-Vitells, u0 = 0)."""
    from scipy.optimize import brentq

    p = float(ndtr(-z))
    if n1 <= 0:
        return z * z

    def f(u: float) -> float:
        return float(ts.p0_asymptotic(u) + n1 * np.exp(-u / 2.0)) - p

    return float(brentq(f, z * z * 0.5, z * z + 2.0 * np.log(max(n1, 1.0) / p) + 50.0))


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass
class Sensitivity:
    """Expected sensitivity on a mass grid (all couplings g_ve, dimensionless; masses MeV).

    ``bands``: (5, n_masses) expected CLs upper limits at ``cl`` in :data:`BAND_KEYS` order
    (minus2, minus1, median, plus1, plus2; NaN = no sensitivity below :data:`G_MAX`).
    ``discovery_local[z]`` / ``discovery_global[z]``: couplings with median local / global
    significance z. ``lee``: the look-elsewhere ingredients. ``info``: model description,
    timings and fit counts.
    """

    masses: Array
    bands: Array
    cl: float
    discovery_local: dict[float, Array] = field(default_factory=dict)
    discovery_global: dict[float, Array] = field(default_factory=dict)
    lee: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    source: str = "asymptotic (Asimov data set, CCGV formulae)"

    @property
    def median(self) -> Array:
        return self.bands[2]

    def expected_block(self) -> dict[str, Any]:
        """The ``expected`` block of ``result.json`` (keys of ``Result``'s EXPECTED_KEYS)."""
        out: dict[str, Any] = {"mass_MeV": self.masses}
        out.update({k: self.bands[i] for i, k in enumerate(BAND_KEYS)})
        out["source"] = self.source
        return out

    def discovery_block(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mass_MeV": self.masses}
        for z, g in self.discovery_local.items():
            out[f"g_{z:g}sigma_local"] = g
        for z, g in self.discovery_global.items():
            out[f"g_{z:g}sigma_global"] = g
        out["lee"] = self.lee
        out["note"] = ("coupling whose median significance is Z: local from q0 on the "
                       "signal-plus-background Asimov data set (CCGV), global with the "
                       "Gross-Vitells formula and Rice up-crossings over the LEE window")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"expected": self.expected_block(), "discovery": self.discovery_block(),
                "cl": self.cl, "info": self.info}


# ---------------------------------------------------------------------------------------------
# the models
# ---------------------------------------------------------------------------------------------
def _check_masses(masses: ArrayLike) -> Array:
    m = np.atleast_1d(np.asarray(masses, float))
    if m.ndim != 1 or m.size == 0 or not np.isfinite(m).all():
        raise InputError("the mass grid must be a non-empty list of finite masses",
                         field="--mass-grid", fix="give MIN:MAX:STEP in MeV, e.g. "
                         "16.3:17.5:0.02")
    if (m <= 2 * M_E).any() or (np.diff(m) <= 0).any():
        raise InputError("masses must be increasing and above 2 m_e", field="--mass-grid",
                         fix="give MIN:MAX:STEP in MeV with MIN > 1.022")
    return m


class _ProfileAsimov:
    """q_mu,A and q0,A of the profile likelihood on Asimov data (batched over rows)."""

    def __init__(self, table: ScanTable, signal: Any, masses: Array, *, background: str,
                 k_prior: Any, efficiency: str, cl: float) -> None:
        from x17scan.stats.calculators import AsymptoticCalculator
        from x17scan.stats.likelihood import ScanModel

        self.model = ScanModel.from_table(table, signal, masses, background=background,
                                          k_prior=k_prior, efficiency=efficiency)
        self.calc = AsymptoticCalculator(self.model, cl=cl)
        self.g0 = self.calc.bonly.glob
        self.l0 = self.calc.bonly.loc
        self.fits = 0

    def sigma0(self) -> Array:
        """Unprofiled 1-sigma scale of mu per mass (a start value)."""
        return np.asarray(self.model.mu_scale(), float)

    def q_mu(self, midx: NDArray[np.intp], mu: Array) -> Array:
        self.fits += mu.size
        return self.calc.q_asimov(midx, mu)

    def q0(self, midx: NDArray[np.intp], mu: Array) -> Array:
        from x17scan.stats.fit import minimize

        n = mu.size
        glob = np.repeat(self.g0, n, 0)
        glob[:, 0] = mu
        loc = np.repeat(self.l0, n, 0)
        data = self.model.asimov(glob, loc, midx)
        # the free fit of an Asimov data set sits at its truth, where the deviance (and every
        # constraint term) vanishes: q0 = 2 x the background-only deviance
        res = minimize(self.model, data, midx, 0.0, init=(glob, loc))
        self.calc.counter.add(res, "asimov_discovery")
        self.fits += n
        return np.maximum(2.0 * res.deviance, 0.0)

    def rice_n1(self, window: NDArray[np.bool_]) -> float:
        from x17scan.stats.lee import rice_n1

        t, dirs = self.model.whitened(self.g0[0])
        return rice_n1(t[window], np.ones(t.shape[1]), dirs)

    def fit_counts(self) -> dict[str, Any]:
        return self.calc.counter.as_dict()


class _PadmeAsimov:
    """PADME's chi-square (padme-run3-method §3) on Asimov data: Q_A(g) = chi2_SB,min(g) -
    chi2_B,min on the nominal background-only data set (R_i = K(sqrt s_i) with PADME's central
    K, weights from the expected N_i), and q0,A = chi2_B,min on the S+B Asimov data set."""

    def __init__(self, table: ScanTable, masses: Array, config: Any) -> None:
        from x17scan.stats.padme_run3.model import PadmeProblem, fit_b

        self.pr = PadmeProblem.from_table(table, config)
        pr = self.pr
        self.masses = masses
        self.eres = pr.e_res(masses)
        self.kprec = pr.k_prec()
        k = pr.center[0] + pr.center[1] * pr.x
        self.r, self.w = self._weights(k[None, :])
        _, chi2_b = fit_b(self.r, self.w, pr.x, pr.center[:2], self.kprec)
        self.chi2_b = float(chi2_b[0])
        self.fits = 0
        self.failed = 0

    def _weights(self, rel: Array) -> tuple[Array, Array]:
        pr = self.pr
        n = pr.pot * pr.bkg * rel
        rel2 = (pr.pot_err / pr.pot) ** 2 + 1.0 / n + (pr.bkg_err / pr.bkg) ** 2
        return rel, 1.0 / (rel * rel * rel2)

    def sigma0(self) -> Array:
        pr = self.pr
        from x17scan.stats.padme_run3.model import signal_yield

        eff = pr.center[5] + pr.center[6] * pr.x
        s = np.stack([signal_yield(pr, float(m)) * eff for m in self.masses])   # per g^2
        return 1.0 / np.sqrt(np.maximum((s * s * self.w[0][None, :]).sum(1), 1e-300))

    def q_mu(self, midx: NDArray[np.intp], mu: Array) -> Array:
        from x17scan.stats.padme_run3.fit import fit_sb

        pr = self.pr
        res = fit_sb(pr, self.r, self.w, self.eres[midx], mu, pr.center, pr.center,
                     data_index=np.zeros(mu.size, np.int64))
        self.fits += mu.size
        self.failed += res.n_failed
        return np.where(res.converged, np.maximum(res.chi2 - self.chi2_b, 0.0), np.nan)

    def q0(self, midx: NDArray[np.intp], mu: Array) -> Array:
        from x17scan.stats.padme_run3.model import fit_b
        from x17scan.stats.padme_run3.toys import rel_model_sb

        pr = self.pr
        rel = rel_model_sb(pr, np.repeat(pr.center[None], mu.size, 0), self.masses[midx],
                           np.sqrt(mu))
        r, w = self._weights(rel)
        _, chi2 = fit_b(r, w, pr.x, pr.center[:2], self.kprec)
        self.fits += mu.size
        return np.maximum(chi2, 0.0)

    def rice_n1(self, window: NDArray[np.bool_]) -> float:
        from x17scan.stats.lee import rice_n1

        pr = self.pr
        eff = pr.center[5] + pr.center[6] * pr.x
        from x17scan.stats.padme_run3.model import signal_yield

        t = np.stack([signal_yield(pr, float(m)) * eff for m in self.masses[window]])
        # K is constrained, not free: no background direction is projected out
        return rice_n1(t, np.sqrt(self.w[0]), None)

    def fit_counts(self) -> dict[str, Any]:
        return {"fits": self.fits, "failed_fits": self.failed}


def padme_config(spin: str = "vector", bes: float | None = None, bes_err: float | None = None,
                 norm_err_extra: float = 0.0, base: Any = None) -> Any:
    """PADME's configuration (:class:`~x17scan.stats.padme_run3.PadmeRun3Config`) for a spin,
    a beam spread and an extra relative normalisation uncertainty (e.g. the PoT scale, added
    in quadrature to Y0's 0.18/13.56): Y0 is scaled by the spin's rate relative to a vector
    (1/2 for a pseudoscalar, physics.md §4)."""
    from x17scan.physics.resonance import integrated_xsec_s
    from x17scan.stats.padme_run3.config import PadmeRun3Config

    cfg = base or PadmeRun3Config()
    f = float(integrated_xsec_s(17.0, 1.0, spin) / integrated_xsec_s(17.0, 1.0, "vector"))
    y0 = cfg.y0 * f
    y0_err = y0 * float(np.hypot(cfg.y0_err / cfg.y0, norm_err_extra))
    return cfg.replace(y0=y0, y0_err=y0_err, bes=cfg.bes if bes is None else bes,
                       bes_err=cfg.bes_err if bes_err is None else bes_err)


def signal_model(lineshape: str = "voigt", spin: str = "vector", bes: float = BES_PADME,
                 bes_err: float = BES_PADME_ERR, norm_err_extra: float = 0.0) -> Any:
    """The profile method's :class:`~x17scan.stats.signal.SignalModel` with an extra relative
    normalisation uncertainty (PoT scale) added in quadrature to the line shape's own."""
    from x17scan.stats.signal import VOIGT_A_PEAK, SignalModel

    if spin not in _V_LIKE + _S_LIKE:
        raise InputError(f"unknown spin {spin!r}", field="--spin",
                         fix="use vector, axial, scalar or pseudoscalar")
    base = VOIGT_A_PEAK[1] / VOIGT_A_PEAK[0] if lineshape == "voigt" else 0.0
    norm = float(np.hypot(base, norm_err_extra))
    return SignalModel(lineshape=lineshape, spin=spin, bes=bes,
                       bes_err=min(bes_err, 0.5 * bes), norm_err=norm if norm > 0 else None)


def expected_sensitivity(table: ScanTable, masses: ArrayLike, *, model: str = "profile",
                         signal: Any = None, padme: Any = None, cl: float = 0.90,
                         background: str = "free", k_prior: Any = None,
                         efficiency: str = "per-point",
                         lee_window: tuple[float, float] | None = None,
                         z_discovery: Sequence[float] = Z_DISCOVERY,
                         g_max: float = G_MAX) -> Sensitivity:
    """Asymptotic expected limits and discovery reach of an expected scan table.

    ``table``: an expected scan table (:func:`asimov_table`; its ``n_obs`` must be the
    expected background). ``masses`` (MeV). ``model``: ``"profile"`` (``signal``: a
    :class:`~x17scan.stats.signal.SignalModel`, default :func:`signal_model`; ``background``,
    ``k_prior``, ``efficiency`` as in :class:`~x17scan.stats.likelihood.ScanModel`) or
    ``"padme-run3"`` (``padme``: a PadmeRun3Config, default :func:`padme_config`).
    ``lee_window`` (MeV): masses of the global significance (default: all). Returns a
    :class:`Sensitivity` (module docstring for the method).
    """
    t0 = time.perf_counter()
    m = _check_masses(masses)
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}", field="--model",
                         fix=f"use one of {', '.join(MODELS)}")
    if not 0.5 <= cl < 1.0:
        raise InputError(f"confidence level {cl} outside [0.5, 1)", field="--cl",
                         fix="give e.g. 0.90")
    window = np.ones(m.size, bool)
    if lee_window is not None:
        window = (m >= lee_window[0] - 1e-9) & (m <= lee_window[1] + 1e-9)
        if not window.any():
            raise InputError(f"no mass of the grid inside the LEE window {lee_window}",
                             field="--lee-window", fix="widen the window or the mass grid")
    if model == "profile":
        sig = signal if signal is not None else signal_model()
        calc: Any = _ProfileAsimov(table, sig, m, background=background, k_prior=k_prior,
                                   efficiency=efficiency, cl=cl)
        descr = {"model": "profile", "signal_model": sig.describe(), "background": background,
                 "efficiency": efficiency}
    else:
        cfg = padme if padme is not None else padme_config()
        calc = _PadmeAsimov(table, m, cfg)
        descr = {"model": "padme-run3", "y0": cfg.y0, "y0_err": cfg.y0_err,
                 "gamma_l": cfg.gamma_l, "bes": cfg.bes, "bes_err": cfg.bes_err,
                 "effb_line": calc.pr.effb}
    nm = m.size
    mu_max = g_max ** 2
    sig0 = calc.sigma0()
    alpha = 1.0 - cl

    # expected limits: sqrt(q_mu,A) = N + Phi^-1(1 - alpha Phi(N)) for the five bands
    tgt = np.repeat(ts.expected_sqrt_qa(np.array(BANDS), alpha), nm)
    midx = np.tile(np.arange(nm), len(BANDS))

    def f_lim(rows: NDArray[np.intp], mu: Array) -> Array:
        return np.sqrt(np.nan_to_num(calc.q_mu(midx[rows], mu), nan=0.0))

    x0 = np.minimum(tgt * np.tile(sig0, len(BANDS)) * 1.2, mu_max)
    mu_lim, ok_lim, n_lim = solve_increasing(f_lim, tgt, x0, x_max=mu_max)
    t1 = time.perf_counter()

    # discovery reach: sqrt(q0,A(mu)) = Z (local); Gross-Vitells threshold (global)
    zs = [float(z) for z in z_discovery]
    n1 = float(calc.rice_n1(window)) if window.sum() > 1 else 0.0
    u_star = {z: _gv_threshold(z, n1) for z in zs}
    targets = [z for z in zs] + [float(np.sqrt(u_star[z])) for z in zs]
    tgt_d = np.repeat(np.array(targets), nm)
    midx_d = np.tile(np.arange(nm), len(targets))

    def f_disc(rows: NDArray[np.intp], mu: Array) -> Array:
        return np.sqrt(calc.q0(midx_d[rows], mu))

    x0d = np.minimum(tgt_d * np.tile(sig0, len(targets)) * 1.1, mu_max)
    mu_d, ok_d, n_d = solve_increasing(f_disc, tgt_d, x0d, x_max=mu_max)
    mu_d = mu_d.reshape(len(targets), nm)
    t2 = time.perf_counter()

    g = np.sqrt(mu_lim.reshape(len(BANDS), nm))
    disc_l = {z: np.sqrt(mu_d[i]) for i, z in enumerate(zs)}
    disc_g = {z: np.sqrt(mu_d[len(zs) + i]) for i, z in enumerate(zs)}
    lee = {"window_MeV": [float(m[window][0]), float(m[window][-1])], "rice_n1": n1,
           "method": "Gross-Vitells, p_global(u) = p_local(u) + N1 exp(-u/2), N1 from the "
                     "Rice formula on the whitened signal templates",
           "z_local_equivalent": {f"{z:g}": float(np.sqrt(u_star[z])) for z in zs},
           "trials_factor": {f"{z:g}": float(ndtr(-z) / ndtr(-np.sqrt(u_star[z])))
                             for z in zs}}
    info = {**descr, "cl": cl, "n_masses": nm,
            "converged": {"limits": bool(ok_lim[np.isfinite(mu_lim)].all()),
                          "discovery": bool(ok_d[np.isfinite(mu_d.ravel())].all())},
            "no_sensitivity_masses": m[~np.isfinite(g[2])],
            "solver_calls": {"limits": n_lim, "discovery": n_d},
            "fits": calc.fit_counts(),
            "timings_s": {"limits": t1 - t0, "discovery": t2 - t1, "total": t2 - t0}}
    return Sensitivity(masses=m, bands=g, cl=cl, discovery_local=disc_l,
                       discovery_global=disc_g, lee=lee, info=info)


# ---------------------------------------------------------------------------------------------
# toys (on request)
# ---------------------------------------------------------------------------------------------
def expected_toys(table: ScanTable, masses: ArrayLike, *, model: str = "profile",
                  signal: Any = None, padme: Any = None, cl: float = 0.90,
                  background: str = "free", k_prior: Any = None, efficiency: str = "per-point",
                  toys: int = 500, pseudo_experiments: int = 1000, n_mu: int = 8,
                  seed: Any = None, workers: int = 1, scheduler: str | None = None,
                  checkpoint_dir: str | None = None, fresh: bool = False,
                  progress: bool = False) -> dict[str, Any]:
    """Expected band from toys on the expected table.

    ``profile``: the profile method's :class:`~x17scan.stats.calculators.ToyCalculator` on
    the background-only Asimov data (``pseudo_experiments`` background-only toys, ``toys``
    signal-plus-background toys per (mass, mu) grid point; the quantiles of q~_mu under the
    background-only hypothesis give the band). ``padme-run3``: PADME's own band
    (padme-run3-method §5 kind 2, §8): ``pseudo_experiments`` background-only pseudo-experiments
    with all auxiliary observables re-sampled, each with ``toys`` toys per (M, g) and its own
    CLs limits (adaptive g lattice), then 200-bin histogram quantiles.
    Returns {"bands": (5, n_masses) in g, "bands_err" (profile only), "info"}.
    """
    from x17scan.parallel import make_executor

    m = _check_masses(masses)
    t0 = time.perf_counter()
    if model == "profile":
        from x17scan.stats.calculators import AsymptoticCalculator, ToyCalculator, ToySettings
        from x17scan.stats.likelihood import ScanModel

        sig = signal if signal is not None else signal_model()
        sm = ScanModel.from_table(table, sig, m, background=background, k_prior=k_prior,
                                  efficiency=efficiency)
        asym = AsymptoticCalculator(sm, cl=cl)
        settings = ToySettings(n_b=int(pseudo_experiments), n_sb=int(toys), n_mu=n_mu,
                               chunk_b=min(100, int(pseudo_experiments)),
                               chunk_sb=min(1000, int(toys)))
        with make_executor(workers, scheduler) as ex:
            tc = ToyCalculator(asym, settings, seed=seed, executor=ex,
                               checkpoint_dir=checkpoint_dir, fresh=fresh, progress=progress)
            tc.run()
        lim = tc.upper_limits()
        mu = lim["expected"]
        bands = np.sqrt(mu)
        err = 0.5 * lim["expected_err"] / np.sqrt(np.maximum(mu, 1e-300))
        return {"bands": bands, "bands_err": err, "info": {
            "model": "profile", "toys_signal_plus_background": int(toys),
            "toys_background_only": int(pseudo_experiments), "n_mu": n_mu,
            "flags": lim["expected_flag"], "fits": tc.counter.as_dict(),
            "wall_s": time.perf_counter() - t0}}
    if model != "padme-run3":
        raise InputError(f"unknown model {model!r}", field="--model",
                         fix=f"use one of {', '.join(MODELS)}")
    import os

    from x17scan.parallel import Checkpoint, job_fingerprint, root_seed_sequence, task_seeds
    from x17scan.stats.padme_run3 import PadmeRun3Method
    from x17scan.stats.padme_run3.bands import expected_band

    cfg = padme if padme is not None else padme_config()
    meth = PadmeRun3Method(table, cfg)
    root = root_seed_sequence(seed)
    seeds = task_seeds(root, 1 + int(pseudo_experiments))[1:]
    ck = None
    if checkpoint_dir:
        fp = job_fingerprint({"kind": "sensitivity-padme-band", "table": table.checksum(),
                              "config": cfg.to_dict(), "masses": m.tolist(), "toys": toys,
                              "seed": str(root.entropy), "cl": cl})
        ck = Checkpoint(os.path.join(checkpoint_dir, "padme-band"), fp, fresh=fresh)
    out = meth.pseudo_limits(seeds, m, int(toys), "adaptive", 1.0 - cl, workers, scheduler,
                             ck, progress)
    lim = np.array([d["limit"] for d in out])
    band = expected_band(m, lim, cfg.hist_bins, cfg.quantiles)
    bands = np.stack([band.quantiles[k] for k in BAND_KEYS])
    return {"bands": bands, "pseudo_limits": lim, "info": {
        "model": "padme-run3", "toys_per_hypothesis": int(toys),
        "pseudo_experiments": int(pseudo_experiments), "n_missing": band.n_missing,
        "n_failed_fits": int(sum(d["n_failed"] for d in out)),
        "wall_s": time.perf_counter() - t0}}


# ---------------------------------------------------------------------------------------------
# fixed-coupling significance, variations
# ---------------------------------------------------------------------------------------------
def asimov_z(table: ScanTable, masses: ArrayLike, g: ArrayLike, *, model: str = "profile",
             signal: Any = None, padme: Any = None, background: str = "free",
             k_prior: Any = None, efficiency: str = "per-point") -> Array:
    """Median expected local significance sqrt(q0,A) of a signal of coupling ``g`` at each mass
    of ``masses`` (MeV) for the expected table ``table`` (same models as
    :func:`expected_sensitivity`)."""
    m = _check_masses(masses)
    gg = np.broadcast_to(np.asarray(g, float), m.shape)
    if model == "profile":
        calc: Any = _ProfileAsimov(table, signal if signal is not None else signal_model(), m,
                                   background=background, k_prior=k_prior,
                                   efficiency=efficiency, cl=0.9)
    elif model == "padme-run3":
        calc = _PadmeAsimov(table, m, padme if padme is not None else padme_config())
    else:
        raise InputError(f"unknown model {model!r}", field="--model",
                         fix=f"use one of {', '.join(MODELS)}")
    return np.sqrt(calc.q0(np.arange(m.size), gg ** 2))


VARIATIONS: tuple[str, ...] = ("bes", "offset", "pot-scale", "bkg-shape")
"""Systematic variations of :func:`run_variations` (the seeds' sensitivity systematics)."""


@dataclass(frozen=True)
class VariationSpec:
    """Which variations to run and their sizes: beam spreads ``bes_values`` (relative),
    energy-scale offset ``energy_offset`` (MeV, applied with both signs), PoT-scale uncertainty
    ``pot_scale_err`` (relative, profiled as a signal-normalisation nuisance: with the free
    background normalisation a common PoT scale changes only the signal), point-to-point
    background-shape uncertainty ``bkg_shape_err`` (relative, added to every B error)."""

    names: tuple[str, ...] = VARIATIONS
    bes_values: tuple[float, ...] = (0.0025, 0.0030, 0.0035)
    energy_offset: float = 1.5
    pot_scale_err: float = 0.021
    bkg_shape_err: float = 0.005

    def __post_init__(self) -> None:
        bad = [n for n in self.names if n not in VARIATIONS]
        if bad:
            raise InputError(f"unknown variation {bad[0]!r}", field="--variations",
                             fix=f"use 'none', 'all' or a comma list of {', '.join(VARIATIONS)}")
        for b in self.bes_values:
            if not 0 < b < 0.1:
                raise InputError(f"beam spread {b} is not a relative spread in (0, 0.1)",
                                 field="--bes-values", fix="give e.g. 0.0025,0.003,0.0035")
        if not (np.isfinite(self.energy_offset) and abs(self.energy_offset) < 50):
            raise InputError(f"energy offset {self.energy_offset} MeV is implausible",
                             field="--energy-offset", fix="give |offset| < 50 MeV, e.g. 1.5")
        for name in ("pot_scale_err", "bkg_shape_err"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 <= v < 1):
                raise InputError(f"{name} = {v} is not a relative uncertainty in [0, 1)",
                                 field="--" + name.replace("_", "-"), fix="give e.g. 0.02")


def mass_shift(mass: ArrayLike, energy_offset: float) -> Array:
    """Shift (MeV) of the mass probed at fixed nominal beam energy when the true beam energy is
    higher by ``energy_offset`` (MeV): M' - M with E_res(M') = E_res(M) + offset, E_res =
    (M^2 - 2 m_e^2)/(2 m_e) (about offset x m_e/M: 45 keV for 1.5 MeV at 17 MeV)."""
    m = np.asarray(mass, float)
    return np.sqrt(m * m + 2.0 * M_E * energy_offset) - m


def run_variations(inputs: ScanInputs, ref: ReferenceCurves, masses: ArrayLike,
                   spec: VariationSpec, *, model: str = "profile", lineshape: str = "voigt",
                   spin: str = "vector", bes_err: float = BES_PADME_ERR, cl: float = 0.90,
                   background: str = "free", bkg_extra_err: float = 0.0, pot_scale_err: float = 0.0
                   ) -> list[dict[str, Any]]:
    """Expected limits and local 3 sigma reach under each variation of ``spec`` (module
    docstring of :class:`VariationSpec`). Each entry: ``name``, ``label``, ``value``,
    ``median``, ``minus1``, ``plus1``, ``g_3sigma_local`` (arrays over ``masses``)."""
    m = _check_masses(masses)
    out: list[dict[str, Any]] = []

    def one(name: str, label: str, value: Any, *, bes: float | None = None,
            offset: float | None = None, norm_extra: float = pot_scale_err,
            bkg_extra: float = bkg_extra_err) -> None:
        b = inputs.bes if bes is None else bes
        table = inputs.table(ref, energy_offset=offset, bkg_extra_err=bkg_extra, spin=spin)
        kw: dict[str, Any] = {"model": model, "cl": cl, "background": background,
                              "z_discovery": (3.0,)}
        if model == "profile":
            kw["signal"] = signal_model(lineshape, spin, b, bes_err, norm_extra)
        else:
            kw["padme"] = padme_config(spin, b, bes_err, norm_extra)
        r = expected_sensitivity(table, m, **kw)
        out.append({"name": name, "label": label, "value": value, "median": r.bands[2],
                    "minus1": r.bands[1], "plus1": r.bands[3],
                    "g_3sigma_local": r.discovery_local[3.0]})

    for name in spec.names:
        if name == "bes":
            for b in spec.bes_values:
                nominal = " (nominal)" if abs(b - inputs.bes) < 1e-12 else ""
                one("bes", f"BES {100 * b:.2f} %{nominal}", b, bes=b)
        elif name == "offset":
            d = spec.energy_offset
            for sgn in (+1.0, -1.0):
                off = inputs.energy_offset + sgn * d
                dm = 1e3 * float(mass_shift(17.0, sgn * d))
                one("offset", f"E scale {sgn * d:+.1f} MeV ($\\Delta M$ = {dm:+.0f} keV)", off,
                    offset=off)
        elif name == "pot-scale":
            tot = float(np.hypot(pot_scale_err, spec.pot_scale_err))
            one("pot-scale", f"PoT scale $\\pm${100 * spec.pot_scale_err:.1f} %", tot,
                norm_extra=tot)
        elif name == "bkg-shape":
            tot = float(np.hypot(bkg_extra_err, spec.bkg_shape_err))
            one("bkg-shape", f"B point-to-point $\\pm${100 * spec.bkg_shape_err:.1f} %", tot,
                bkg_extra=tot)
    return out
