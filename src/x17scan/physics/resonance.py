"""Resonant production e+e- -> X -> e+e-: partial widths, Breit-Wigner, narrow-width integrals,
yield per positron on target (free electrons at rest).

Units: masses, energies and widths in MeV; cross sections in mb; integrated cross sections in
mb MeV^2 (over s) or mb MeV (over sqrt(s)); yields per positron on target (PoT).
Couplings: g is the coupling of X to electrons in the interaction of the chosen ``spin``
("vector": g X_mu e-bar gamma^mu e; "axial": g X_mu e-bar gamma^mu gamma5 e; "scalar": g S e-bar e;
"pseudoscalar": i g P e-bar gamma5 e), docs/physics.md §3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.physics.constants import DIAMOND_100UM, HBARC2_MEV2_MB, M_E, Target
from x17scan.physics.kinematics import e_res

__all__ = [
    "SPINS",
    "check_spin",
    "integrated_xsec_s",
    "integrated_xsec_sqrts",
    "integrated_yield",
    "sigma_bw",
    "width",
    "yield_free_gaussian",
]

SPINS: tuple[str, ...] = ("vector", "axial", "scalar", "pseudoscalar")
"""The allowed values of every ``spin`` argument."""

_MULT = {"vector": 3, "axial": 3, "scalar": 1, "pseudoscalar": 1}


def check_spin(spin: str) -> str:
    """Return ``spin`` if it is one of :data:`SPINS`, else raise ValueError naming them."""
    if spin not in SPINS:
        raise ValueError(f"spin must be one of {', '.join(SPINS)}; got {spin!r}")
    return spin


def _mass(mass: ArrayLike) -> NDArray[np.float64]:
    m = np.asarray(mass, dtype=float)
    if np.any(~(m > 2.0 * M_E)):
        raise ValueError(f"mass must be > 2 m_e = {2 * M_E:.6f} MeV (X -> e+e-)")
    return m


def width(mass: ArrayLike, g: ArrayLike, spin: str = "vector") -> NDArray[np.float64]:
    """Tree-level partial width Gamma(X -> e+e-) (MeV) of a boson of ``mass`` (MeV) with
    coupling ``g`` to electrons (docs/physics.md §3), beta = sqrt(1 - 4 m_e^2/M^2):
    V: g^2 M/(12 pi) (1 + 2m_e^2/M^2) beta; A: g^2 M/(12 pi) beta^3; S: g^2 M/(8 pi) beta^3;
    P: g^2 M/(8 pi) beta. Example: 0.4509 eV for a vector, M = 17 MeV, g = 1e-3."""
    check_spin(spin)
    m = _mass(mass)
    g2 = np.asarray(g, dtype=float) ** 2
    r = (M_E / m) ** 2
    beta = np.sqrt(1.0 - 4.0 * r)
    if spin == "vector":
        return g2 * m / (12 * np.pi) * (1 + 2 * r) * beta
    if spin == "axial":
        return g2 * m / (12 * np.pi) * beta**3
    if spin == "scalar":
        return g2 * m / (8 * np.pi) * beta**3
    return g2 * m / (8 * np.pi) * beta


def sigma_bw(sqrt_s: ArrayLike, mass: ArrayLike, g: ArrayLike, spin: str = "vector",
             br_ee: float = 1.0) -> NDArray[np.float64]:
    """Breit-Wigner cross section (mb) of e+e- -> X -> e+e- at CM energy ``sqrt_s`` (MeV)
    (docs/physics.md §4): (16 pi/s) (2J+1)/4 (Gamma_ee^2/4) / ((sqrt_s - M)^2 + Gamma^2/4),
    Gamma_ee = :func:`width`, Gamma = Gamma_ee / ``br_ee``. Peak 12 pi/M^2 BR^2 for V/A
    (50.79 b at 17 MeV), 4 pi/M^2 BR^2 for S/P."""
    check_spin(spin)
    if not 0.0 < br_ee <= 1.0:
        raise ValueError(f"br_ee must lie in (0, 1], got {br_ee}")
    w = np.asarray(sqrt_s, dtype=float)
    m = _mass(mass)
    gee = width(m, g, spin)
    gtot = gee / br_ee
    return (16 * np.pi / (w * w) * _MULT[spin] / 4.0 * gee * gee / 4.0
            / ((w - m) ** 2 + gtot * gtot / 4.0) * HBARC2_MEV2_MB)


def integrated_xsec_sqrts(mass: ArrayLike, g: ArrayLike, spin: str = "vector",
                          br_ee: float = 1.0) -> NDArray[np.float64]:
    """Narrow-width integral of :func:`sigma_bw` over sqrt(s) (mb MeV):
    (2J+1) 2 pi^2 Gamma_ee BR_ee / M^2 (docs/physics.md §4)."""
    check_spin(spin)
    m = _mass(mass)
    return _MULT[spin] * 2 * np.pi**2 * width(m, g, spin) * br_ee / (m * m) * HBARC2_MEV2_MB


def integrated_xsec_s(mass: ArrayLike, g: ArrayLike, spin: str = "vector",
                      br_ee: float = 1.0) -> NDArray[np.float64]:
    """Narrow-width integral of :func:`sigma_bw` over s (mb MeV^2): 2M x
    :func:`integrated_xsec_sqrts`; equals pi g^2 (V), pi g^2 beta^3 (A), pi g^2 beta^3/2 (S),
    pi g^2 beta/2 (P) times (hbar c)^2 and BR_ee (docs/physics.md §4)."""
    m = _mass(mass)
    return 2.0 * m * integrated_xsec_sqrts(m, g, spin, br_ee)


def integrated_yield(mass: ArrayLike, g: ArrayLike, spin: str = "vector",
                     target: Target = DIAMOND_100UM, br_ee: float = 1.0) -> NDArray[np.float64]:
    """Integral over the beam energy of the resonant yield, int (N_X/N_PoT) dE_beam (MeV per
    positron on target): n_e l int(sigma ds)/(2 m_e) (thin target, docs/physics.md §5.1).

    Independent of the beam-energy spread and of the motion of the target electrons.
    12.657 g^2 MeV for a vector in 100 um of diamond. ``br_ee`` multiplies (production x decay
    to e+e-)."""
    return target.electrons_per_mb * integrated_xsec_s(mass, g, spin, br_ee) / (2.0 * M_E)


def yield_free_gaussian(e_beam: ArrayLike, mass: ArrayLike, g: ArrayLike, spin: str = "vector",
                        bes: ArrayLike = 0.0025, target: Target = DIAMOND_100UM,
                        br_ee: float = 1.0) -> NDArray[np.float64]:
    """Resonant yield N_X/N_PoT (per positron) at nominal beam energy ``e_beam`` (MeV) for
    free electrons at rest and a Gaussian beam-energy spread of relative width ``bes``
    (docs/physics.md §5.1): integrated_yield x G(E_beam - E_res; sigma_E = bes E_res).

    sigma_E is taken at E_res (not at E_beam) so that the integral over E_beam is exactly
    :func:`integrated_yield` (the difference is O(bes^2)). Peak 7.16 g^2 at M = 17 MeV,
    bes = 0.25 %."""
    b = np.asarray(bes, dtype=float)
    if np.any(~(b > 0)):
        raise ValueError("bes must be > 0 (relative beam-energy spread)")
    m = _mass(mass)
    er = e_res(m)
    sig = b * er
    x = np.asarray(e_beam, dtype=float) - er
    gauss = np.exp(-0.5 * (x / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    return integrated_yield(m, g, spin, target, br_ee) * gauss
