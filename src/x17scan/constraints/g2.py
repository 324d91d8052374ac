"""(g-2)_e bounds and preferred bands for a vector boson coupled to electrons.

The one-loop contribution Δa_V(M, g_ve) comes from the physics core,
:func:`x17scan.physics.g2.delta_a`; it is proportional to g_ve^2, so a bound B on Δa_V gives
g_ve < sqrt(B / Δa_V(M, 1)). The inputs Δa_e = a_e(exp) - a_e(SM) and their references live in
``data/g2_inputs.toml`` (keys ``rb``, ``cs``; approximate 2023 variants ``rb2023``, ``cs2023``).

Conventions (``CONVENTIONS``), bound B on a positive contribution:

* ``abs+3sig``: |Δa| + 3σ (DarkCast's; reproduces its AMMe curves);
* ``onesided90`` / ``onesided95``: Δa + z σ with z = Φ⁻¹(0.90) = 1.2816, Φ⁻¹(0.95) = 1.6449;
* ``2sig``: Δa + 2σ.

A convention that leaves B ≤ 0 (Cs, where Δa < 0, except ``abs+3sig``) gives no bound: NaN,
because then every positive contribution already worsens the disagreement.

**Default: α(Rb), |Δa| + 3σ.** Why: (1) |Δa| + 3σ is the convention of DarkCast and of most
dark-photon exclusion plots, so our figures compare one-to-one with the literature's; (2) it is
deliberately conservative: with the Cs and Rb determinations of α disagreeing by more than
5σ, a tighter convention (Δa + 2σ, one-sided) would turn a contested sign of Δa_e into an
exclusion or a preference; (3) α(Rb) (Morel et al. 2020) is the most precise determination of
α, and the only one with which a vector contribution (Δa_V > 0) can be consistent. Figures state
the α input and the convention in the legend (:func:`convention_label`); the Rb-favoured band
(Δa ± 1σ, 2σ) is drawn separately (:func:`favoured_band`).
Masses in MeV, g_ve dimensionless.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from x17scan.errors import InputError

DEFAULT_ALPHA = "rb"
DEFAULT_CONVENTION = "abs+3sig"

CONVENTIONS: dict[str, str] = {
    "abs+3sig": r"$|\Delta a|+3\sigma$",
    "onesided90": r"$\Delta a+1.28\sigma$ (90% one-sided)",
    "onesided95": r"$\Delta a+1.64\sigma$ (95% one-sided)",
    "2sig": r"$\Delta a+2\sigma$",
}
"""Conventions for the bound, with their legend text."""


@dataclass(frozen=True)
class G2Input:
    """One Δa_e input: value and 1σ (dimensionless), label and references."""

    key: str
    label: str
    delta_a: float
    sigma: float
    alpha_reference: str
    a_e_exp_reference: str
    status: str


@functools.lru_cache(maxsize=1)
def g2_inputs() -> dict[str, G2Input]:
    """The Δa_e inputs of ``data/g2_inputs.toml``, keyed ``rb``, ``cs``, ``rb2023``, ``cs2023``."""
    path = resources.files("x17scan.constraints") / "data" / "g2_inputs.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    aexp = raw["a_e_exp"]
    return {k: G2Input(key=k, label=v["label"], delta_a=float(v["delta_a"]),
                       sigma=float(v["sigma"]), alpha_reference=v["alpha_reference"],
                       a_e_exp_reference=aexp[v["a_e_exp"]]["reference"], status=v["status"])
            for k, v in raw["inputs"].items()}


def get_input(alpha: str | G2Input) -> G2Input:
    """The Δa_e input called ``alpha`` (case-insensitive); InputError lists the known ones."""
    if isinstance(alpha, G2Input):
        return alpha
    inputs = g2_inputs()
    key = str(alpha).strip().lower()
    if key not in inputs:
        raise InputError(f"unknown alpha input {alpha!r}", field="--alpha",
                         fix=f"use one of {', '.join(inputs)}")
    return inputs[key]


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise InputError(f"unknown (g-2) convention {convention!r}", field="--g2-convention",
                         fix=f"use one of {', '.join(CONVENTIONS)}")
    return convention


def bound_on_delta_a(alpha: str | G2Input = DEFAULT_ALPHA,
                     convention: str = DEFAULT_CONVENTION) -> float:
    """Largest allowed positive contribution B to a_e (dimensionless); NaN if B <= 0."""
    inp = get_input(alpha)
    c = _check_convention(convention)
    if c == "abs+3sig":
        b = abs(inp.delta_a) + 3.0 * inp.sigma
    else:
        z = {"onesided90": sps.norm.ppf(0.90), "onesided95": sps.norm.ppf(0.95), "2sig": 2.0}[c]
        b = inp.delta_a + z * inp.sigma
    return float(b) if b > 0 else float("nan")


def unit_contribution(mass: ArrayLike) -> NDArray[np.float64]:
    """Δa_e of a vector of mass ``mass`` (MeV) coupled to electrons with g_ve = 1 (one loop,
    :func:`x17scan.physics.g2.delta_a`)."""
    from x17scan.physics.g2 import delta_a

    m = np.asarray(mass, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise InputError("boson masses must be finite and > 0 MeV", field="mass",
                         fix="give masses in MeV")
    return np.asarray(delta_a(m, 1.0, "vector", "e"), dtype=float)


def contribution(mass: ArrayLike, gve: ArrayLike) -> NDArray[np.float64]:
    """Δa_e (dimensionless) of a vector of mass ``mass`` (MeV) and coupling ``gve``; broadcasts."""
    g = np.asarray(gve, dtype=float)
    return unit_contribution(mass) * g * g


def gve_upper_limit(mass: ArrayLike, alpha: str | G2Input = DEFAULT_ALPHA,
                    convention: str = DEFAULT_CONVENTION) -> NDArray[np.float64]:
    """Upper bound on g_ve at ``mass`` (MeV) from (g-2)_e; NaN where the convention gives none."""
    b = bound_on_delta_a(alpha, convention)
    return np.sqrt(b / unit_contribution(mass))


def favoured_band(mass: ArrayLike, alpha: str | G2Input = "rb", nsigma: float = 1.0
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """g_ve range (lower, upper) at ``mass`` (MeV) where a vector explains Δa_e within
    ``nsigma``: Δa - nσ <= Δa_V <= Δa + nσ. Lower is 0 when Δa - nσ <= 0; both NaN when
    Δa + nσ <= 0 (no positive contribution is favoured, e.g. Cs)."""
    inp = get_input(alpha)
    if not nsigma > 0:
        raise InputError(f"nsigma must be > 0, got {nsigma}", field="nsigma",
                         fix="give a positive number of standard deviations")
    unit = unit_contribution(mass)
    hi_b = inp.delta_a + nsigma * inp.sigma
    lo_b = max(inp.delta_a - nsigma * inp.sigma, 0.0)
    if hi_b <= 0:
        nan = np.full(np.shape(unit), np.nan)
        return nan, nan.copy()
    return np.sqrt(lo_b / unit), np.sqrt(hi_b / unit)


def pull(mass: ArrayLike, gve: ArrayLike, alpha: str | G2Input = DEFAULT_ALPHA
         ) -> NDArray[np.float64]:
    """(Δa_V(M, g_ve) - Δa_e)/σ for the point (``mass`` MeV, ``gve``): how many σ the point
    moves a_e away from (positive) or towards the measurement; the SM alone has pull -Δa/σ."""
    inp = get_input(alpha)
    return (contribution(mass, gve) - inp.delta_a) / inp.sigma


def convention_label(alpha: str | G2Input = DEFAULT_ALPHA,
                     convention: str = DEFAULT_CONVENTION) -> str:
    """Legend text naming the input and the convention, e.g. "(g-2)_e, α(Rb) 2020, |Δa|+3σ"."""
    inp = get_input(alpha)
    return rf"$(g-2)_e$, {inp.label}, {CONVENTIONS[_check_convention(convention)]}"


def point_summary(mass: float, gve: float, alphas: tuple[str, ...] = ("cs", "rb")
                  ) -> dict[str, object]:
    """(g-2)_e of the point (``mass`` MeV, ``gve``): its contribution Δa_V and, per input, Δa_e,
    σ, the pull (Δa_V - Δa_e)/σ of the point and the pull -Δa_e/σ of the SM alone."""
    dav = float(contribution(mass, gve))
    out: dict[str, object] = {"mass_MeV": float(mass), "gve": float(gve), "delta_a_V": dav}
    for a in alphas:
        inp = get_input(a)
        out[inp.key] = {"label": inp.label, "delta_a": inp.delta_a, "sigma": inp.sigma,
                        "pull": (dav - inp.delta_a) / inp.sigma,
                        "pull_sm": -inp.delta_a / inp.sigma}
    return out
