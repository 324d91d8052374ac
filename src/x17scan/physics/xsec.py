"""Standard-Model background cross sections at tree level: Bhabha and e+e- -> gamma gamma.

Units: sqrt(s) in MeV, cross sections in mb (differential ones in mb per unit cos theta*).
Angles are centre-of-mass (CM) polar angles measured from the beam axis (the direction of the
incoming positron). Window integrals are closed forms (the integrands are rational in cos);
the tests check them against scipy quadrature of the differential formulas.

References: docs/physics.md §7 (Bhabha, full m_e dependence), §8 (Peskin & Schroeder eq. 5.105,
Dirac's total), §9 (acceptance, PADME K factors), §10 (e+e- -> gamma X, leading log).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.physics.constants import (
    ALPHA,
    E_CHARGE,
    ECAL_DISTANCE_RUN3,
    HBARC2_MEV2_MB,
    K_FACTOR_PADME,
    M_E,
    R_E2_MB,
    R_MAX_RUN3,
    SQRTS_PIVOT_PADME,
)
from x17scan.physics.kinematics import acceptance_cos

__all__ = [
    "dsigma_bhabha",
    "dsigma_gg",
    "k_factor",
    "sigma_bhabha",
    "sigma_gamma_x",
    "sigma_gg",
    "sigma_gg_total_dirac",
    "sigma_in_acceptance",
]

_E4 = (4.0 * np.pi * ALPHA) ** 2


def _sqrts(sqrt_s: ArrayLike) -> NDArray[np.float64]:
    w = np.asarray(sqrt_s, dtype=float)
    if np.any(~(w > 2.0 * M_E)):
        raise ValueError(f"sqrt_s must be > 2 m_e = {2 * M_E:.6f} MeV")
    return w


def _cos(cos_theta: ArrayLike) -> NDArray[np.float64]:
    c = np.asarray(cos_theta, dtype=float)
    if np.any(~(np.abs(c) <= 1.0)):
        raise ValueError("cos_theta must lie in [-1, 1]")
    return c


def _cos_max(cos_max: ArrayLike, allow_one: bool) -> NDArray[np.float64]:
    c = np.asarray(cos_max, dtype=float)
    ok = (c >= 0.0) & ((c <= 1.0) if allow_one else (c < 1.0))
    if np.any(~ok):
        rng = "[0, 1]" if allow_one else "[0, 1) (the Bhabha total diverges at cos_max = 1)"
        raise ValueError(f"cos_max must lie in {rng}")
    return c


# --- Bhabha ---------------------------------------------------------------------------------
def _bhabha_msq(s, t):
    """(1/4) sum |M|^2 / e^4 for e+e- -> e+e- with full m_e dependence (physics.md §7)."""
    m2 = M_E * M_E
    a = s - 2.0 * m2
    sch = 2.0 / (s * s) * ((t - 2 * m2) ** 2 + (a + t) ** 2 + 4 * m2 * s)
    tch = 2.0 * (2 * a * a / (t * t) + (2 * a + 4 * m2) / t + 1.0)
    inter = 4.0 / s * (a * (a + 4 * m2) / t + 2 * a + 4 * m2 + t)
    return sch + tch + inter


def dsigma_bhabha(sqrt_s: ArrayLike, cos_theta: ArrayLike) -> NDArray[np.float64]:
    """Tree-level Bhabha dsigma/dcos(theta*) (mb), e+e- -> e+e-, with full electron-mass
    dependence (s and t channels and their interference, docs/physics.md §7).

    ``cos_theta`` is the CM angle between the outgoing and the incoming positron (the beam
    axis), equivalently between the outgoing and incoming electron: t = -2p^2(1 - cos theta*).
    In the lab the outgoing positron is at cos theta*, the electron at -cos theta*. Diverges as
    cos_theta -> 1 (t -> 0). Broadcasts ``sqrt_s`` (MeV) against ``cos_theta``."""
    w = _sqrts(sqrt_s)
    c = _cos(cos_theta)
    s = w * w
    p2 = s / 4.0 - M_E * M_E
    t = -2.0 * p2 * (1.0 - c)
    with np.errstate(divide="ignore", invalid="ignore"):
        msq = _E4 * _bhabha_msq(s, t)
    # dsigma/dOmega = |M|^2/(64 pi^2 s) (elastic), times 2 pi for dcos
    return msq / (32.0 * np.pi * s) * HBARC2_MEV2_MB


def _bhabha_primitive(s, t):
    """Antiderivative in t of (1/4) sum |M|^2 / e^4 (t < 0)."""
    m2 = M_E * M_E
    a = s - 2.0 * m2
    sch = 2.0 / (s * s) * (((t - 2 * m2) ** 3 + (a + t) ** 3) / 3.0 + 4 * m2 * s * t)
    tch = 2.0 * (-2 * a * a / t + t)
    inter = 4.0 / s * ((2 * a + 4 * m2) * t + 0.5 * t * t)
    logc = 2.0 * (2 * a + 4 * m2) + 4.0 / s * a * (a + 4 * m2)  # coefficient of ln|t|
    return sch + tch + inter, logc


def sigma_bhabha(sqrt_s: ArrayLike, cos_max: ArrayLike) -> NDArray[np.float64]:
    """Tree-level Bhabha cross section (mb) with both final-state particles in the CM window
    |cos theta*| < ``cos_max`` at CM energy ``sqrt_s`` (MeV); full m_e dependence, closed form.

    The total cross section diverges (Coulomb t-channel pole): ``cos_max`` must be < 1,
    otherwise ValueError. Example: 0.4407 mb at sqrt_s = 17 MeV, cos_max = 0.2057."""
    w = _sqrts(sqrt_s)
    c = _cos_max(cos_max, allow_one=False)
    s = w * w
    p2 = s / 4.0 - M_E * M_E
    t_lo = -2.0 * p2 * (1.0 + c)  # cos = -c
    t_hi = -2.0 * p2 * (1.0 - c)  # cos = +c
    f_hi, logc = _bhabha_primitive(s, t_hi)
    f_lo, _ = _bhabha_primitive(s, t_lo)
    integral_t = f_hi - f_lo + logc * np.log(t_hi / t_lo)
    # dcos = dt / (2 p^2)
    return _E4 * integral_t / (2.0 * p2) / (32.0 * np.pi * s) * HBARC2_MEV2_MB


# --- e+e- -> gamma gamma --------------------------------------------------------------------
def dsigma_gg(sqrt_s: ArrayLike, cos_theta: ArrayLike) -> NDArray[np.float64]:
    """Tree-level e+e- -> gamma gamma dsigma/dcos(theta) (mb), Peskin & Schroeder eq. 5.105,
    full m_e dependence (docs/physics.md §8).

    theta is the CM angle of one photon to the beam axis; the other photon is at -cos theta.
    As in P&S, this counts the two photons of an event separately: the cross section is
    (1/2) of its integral (identical photons), see :func:`sigma_gg`. Symmetric in cos theta.
    Broadcasts ``sqrt_s`` (MeV) against ``cos_theta``."""
    w = _sqrts(sqrt_s)
    c = _cos(cos_theta)
    s = w * w
    m2 = M_E * M_E
    e2 = s / 4.0
    p2 = e2 - m2
    d = m2 + p2 * (1.0 - c * c)
    br = (e2 + p2 * c * c) / d + 2 * m2 / d - 2 * m2 * m2 / (d * d)
    return 2 * np.pi * ALPHA**2 / s * np.sqrt(e2 / p2) * br * HBARC2_MEV2_MB


def sigma_gg(sqrt_s: ArrayLike, cos_max: ArrayLike = 1.0) -> NDArray[np.float64]:
    """Tree-level e+e- -> gamma gamma cross section (mb) with both photons in |cos theta| <
    ``cos_max`` at CM energy ``sqrt_s`` (MeV): (1/2) integral of :func:`dsigma_gg` over
    [-cos_max, cos_max] (closed form, full m_e dependence). ``cos_max = 1`` gives the total,
    equal to Dirac's formula (:func:`sigma_gg_total_dirac`): 2.7286 mb at 17 MeV."""
    w = _sqrts(sqrt_s)
    c = _cos_max(cos_max, allow_one=True)
    s = w * w
    m2 = M_E * M_E
    e2 = s / 4.0
    e = np.sqrt(e2)
    p = np.sqrt(e2 - m2)
    d = e2 - p * p * c * c  # = m^2 + p^2 sin^2
    ell = np.arctanh(p * c / e)
    # bracket = -1 + (2E^2 + 2m^2)/D - 2 m^4 / D^2, integrated over [-c, c]
    i0 = 2.0 * c
    i1 = 2.0 * ell / (p * e)
    i2 = c / (e2 * d) + ell / (e2 * e * p)
    integral = -i0 + (2 * e2 + 2 * m2) * i1 - 2 * m2 * m2 * i2
    return 0.5 * 2 * np.pi * ALPHA**2 / s * (e / p) * integral * HBARC2_MEV2_MB


def sigma_gg_total_dirac(sqrt_s: ArrayLike) -> NDArray[np.float64]:
    """Total e+e- -> gamma gamma cross section (mb) for a positron on an electron at rest,
    Dirac's formula with gamma = E_beam/m_e (docs/physics.md §8):
    pi r_e^2/(g+1) [ (g^2+4g+1)/(g^2-1) ln(g + sqrt(g^2-1)) - (g+3)/sqrt(g^2-1) ]."""
    w = _sqrts(sqrt_s)
    g = (w * w - 2 * M_E * M_E) / (2 * M_E * M_E)
    r = np.sqrt(g * g - 1.0)
    return np.pi * R_E2_MB / (g + 1) * ((g * g + 4 * g + 1) / (g * g - 1) * np.log(g + r)
                                        - (g + 3) / r)


# --- acceptance, K factors -----------------------------------------------------------------
_PROCESSES = ("bhabha", "gg", "both")


def _process(process: str) -> str:
    if process not in _PROCESSES:
        raise ValueError(f"process must be one of {', '.join(_PROCESSES)}; got {process!r}")
    return process


def sigma_in_acceptance(sqrt_s: ArrayLike, r_max: float = R_MAX_RUN3,
                        distance: float = ECAL_DISTANCE_RUN3, process: str = "both",
                        massless_kinematics: bool = False) -> NDArray[np.float64]:
    """Tree-level cross section (mb) with both final-state bodies inside radius ``r_max`` (mm)
    at ``distance`` (mm) from the target, at CM energy ``sqrt_s`` (MeV).

    ``process``: "bhabha", "gg" or "both" (sum). The window is |cos theta*| < c(sqrt_s) from
    :func:`x17scan.physics.kinematics.acceptance_cos` with exact kinematics: electron mass for
    e+e-, massless for gamma gamma. ``massless_kinematics=True`` uses the massless c for both, as
    the reference table of docs/physics.md §9 does (with distance = 3636 mm)."""
    process = _process(process)
    w = _sqrts(sqrt_s)
    c_gg = acceptance_cos(w, r_max, distance, mass=0.0)
    c_ee = c_gg if massless_kinematics else acceptance_cos(w, r_max, distance, mass=M_E)
    out = np.zeros(np.shape(w))
    if process in ("bhabha", "both"):
        out = out + sigma_bhabha(w, c_ee)
    if process in ("gg", "both"):
        out = out + sigma_gg(w, c_gg)
    return out


def k_factor(sqrt_s: ArrayLike, process: str = "both") -> NDArray[np.float64]:
    """Optional NLO/LO correction factor in the Run III acceptance (dimensionless):
    p0 + p1 (sqrt_s - 16.92 MeV), PADME's linear fit of sigma_BabaYaga / sigma_CalcHEP over 41
    scan points (PADMERunIIISensitivity plotmaking/fig12_1_paper.C, fig12_2_paper.C;
    docs/physics.md §9). ``process``: "bhabha" (0.9706, 0.0060/MeV), "gg" (0.9840,
    0.0059/MeV) or "both" (0.9731, 0.0058/MeV). Valid only near the scan, 16.4-17.5 MeV."""
    p0, p1 = K_FACTOR_PADME[_process(process)]
    return p0 + p1 * (np.asarray(sqrt_s, dtype=float) - SQRTS_PIVOT_PADME)


# --- associated production ------------------------------------------------------------------
def sigma_gamma_x(sqrt_s: ArrayLike, mass: ArrayLike, g: ArrayLike) -> NDArray[np.float64]:
    """Leading-log total cross section (mb) of e+e- -> gamma X for a vector X of ``mass`` (MeV)
    coupled to electrons with g_ve = ``g`` (epsilon = g/e), at CM energy ``sqrt_s`` (MeV)
    (docs/physics.md §10):
    (8 pi alpha^2 eps^2/s) [ ((s-M^2)/(2s) + M^2/(s-M^2)) ln(s/m_e^2) - (s-M^2)/(2s) ].
    Zero where mass >= sqrt_s. Total, no acceptance."""
    w = _sqrts(sqrt_s)
    m = np.asarray(mass, dtype=float)
    if np.any(~(m >= 0)):
        raise ValueError("mass must be >= 0 MeV")
    eps2 = (np.asarray(g, dtype=float) / E_CHARGE) ** 2
    s = w * w
    d = s - m * m
    ok = d > 0
    d = np.where(ok, d, 1.0)
    val = (8 * np.pi * ALPHA**2 * eps2 / s
           * ((d / (2 * s) + m * m / d) * np.log(s / (M_E * M_E)) - d / (2 * s)))
    return np.where(ok, val, 0.0) * HBARC2_MEV2_MB
