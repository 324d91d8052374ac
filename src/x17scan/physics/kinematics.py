"""Fixed-target kinematics: beam energy <-> sqrt(s), resonance energy, boosts.

A positron of total energy ``e_beam`` (MeV) on an electron at rest:
``s = 2 m_e^2 + 2 m_e E_beam``. All functions broadcast over numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.physics.constants import M_E


def sqrt_s(e_beam: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Centre-of-mass energy sqrt(s) (MeV) for a positron of total energy ``e_beam`` (MeV)
    on an electron at rest: sqrt(2 m_e (E_beam + m_e))."""
    e = np.asarray(e_beam, dtype=float)
    return np.sqrt(2.0 * m_e * (e + m_e))


def e_beam(sqrt_s: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Total positron beam energy (MeV) that gives centre-of-mass energy ``sqrt_s`` (MeV):
    (s - 2 m_e^2) / (2 m_e)."""
    w = np.asarray(sqrt_s, dtype=float)
    return (w * w - 2.0 * m_e * m_e) / (2.0 * m_e)


def e_res(mass: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Resonant beam energy E_res(M) (MeV) at which sqrt(s) equals ``mass`` (MeV),
    for electrons at rest: (M^2 - 2 m_e^2) / (2 m_e)."""
    return e_beam(mass, m_e)


def dsqrts_debeam(e_beam: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Derivative d sqrt(s) / d E_beam = m_e / sqrt(s) (dimensionless, MeV per MeV)."""
    return m_e / sqrt_s(e_beam, m_e)


def gamma_cm(e_beam: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Lorentz factor of the centre-of-mass frame in the lab: (E_beam + m_e) / sqrt(s)."""
    e = np.asarray(e_beam, dtype=float)
    return (e + m_e) / sqrt_s(e, m_e)


def beta_cm(e_beam: ArrayLike, m_e: float = M_E) -> NDArray[np.float64]:
    """Velocity of the centre-of-mass frame in the lab: |p_beam| / (E_beam + m_e)."""
    e = np.asarray(e_beam, dtype=float)
    p = np.sqrt(np.maximum(e * e - m_e * m_e, 0.0))
    return p / (e + m_e)


# --- two-body final states -------------------------------------------------------------------
def _cm_two_body(sqrt_s: NDArray[np.float64], mass: float, m_e: float):
    """gamma_cm, beta_cm of the CM frame and beta* of a final-state body of ``mass`` (MeV)."""
    g = sqrt_s / (2.0 * m_e)  # (E_beam + m_e)/sqrt(s) = sqrt(s)/(2 m_e) exactly
    b = np.sqrt(np.maximum(1.0 - 1.0 / (g * g), 0.0))
    bstar = np.sqrt(np.maximum(1.0 - 4.0 * mass * mass / (sqrt_s * sqrt_s), 0.0))
    return g, b, bstar


def _check_mass(mass: float) -> float:
    if not np.isfinite(mass) or mass < 0:
        raise ValueError(f"final-state mass must be >= 0 MeV, got {mass}")
    return float(mass)


def theta_lab(cos_star: ArrayLike, sqrt_s: ArrayLike, mass: float = M_E,
              m_e: float = M_E) -> NDArray[np.float64]:
    """Lab polar angle (rad) of a final-state body of ``mass`` (MeV; 0 for a photon) emitted at
    CM polar angle theta* (``cos_star`` = cos theta*, measured from the beam axis) in a
    positron-on-electron-at-rest collision of CM energy ``sqrt_s`` (MeV). Exact boost.

    The partner body is at -cos_star. For e+e- -> e+e- (mass = m_e) the relation is
    tan(theta) = tan(theta*/2) / gamma_cm."""
    mass = _check_mass(mass)
    c = np.asarray(cos_star, dtype=float)
    w = np.asarray(sqrt_s, dtype=float)
    g, b, bstar = _cm_two_body(w, mass, m_e)
    s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
    # p_T / p* = sin, p_z/p* = gamma (cos + beta/beta*)
    return np.arctan2(s, g * (c + b / bstar))


def cos_star_from_lab(theta: ArrayLike, sqrt_s: ArrayLike, mass: float = M_E,
                      m_e: float = M_E) -> NDArray[np.float64]:
    """cos theta* (CM frame) of a body of ``mass`` (MeV) seen at lab angle ``theta`` (rad) at CM
    energy ``sqrt_s`` (MeV); inverse of :func:`theta_lab`.

    For mass <= m_e (photons, electrons) the map is one-to-one on theta in [0, pi] (for electrons
    lab angles stop at pi/2; larger angles return -1). For a heavier body two CM angles may give
    the same lab angle; the forward one (larger cos theta*) is returned."""
    mass = _check_mass(mass)
    th = np.asarray(theta, dtype=float)
    w = np.asarray(sqrt_s, dtype=float)
    g, b, bstar = _cm_two_body(w, mass, m_e)
    a = b / bstar
    t2 = (g * np.tan(th)) ** 2
    # tan(theta) gamma (cos + a) = sin  ->  quadratic in cos theta*
    disc = np.maximum(1.0 + t2 * (1.0 - a * a), 0.0)
    c = (-a * t2 + np.sqrt(disc)) / (1.0 + t2)
    c = np.where(np.cos(th) < 0, (-a * t2 - np.sqrt(disc)) / (1.0 + t2), c)
    return np.clip(c, -1.0, 1.0)


def acceptance_cos(sqrt_s: ArrayLike, r_max: float = 270.0, distance: float = 3640.4,
                   mass: float = M_E, m_e: float = M_E) -> NDArray[np.float64]:
    """Acceptance c(sqrt_s) (dimensionless): both bodies of a two-body final state of ``mass``
    (MeV; m_e for e+e-, 0 for gamma gamma) hit a disc of radius ``r_max`` (mm) at ``distance``
    (mm) from the target exactly when |cos theta*| < c (docs/physics.md §9).

    theta_max = atan(r_max/distance); c = -cos theta*(theta_max), clipped at 0 (no acceptance
    when the symmetric opening angle is already larger than theta_max). The reference table of
    physics.md §9 uses mass = 0 and distance = 3636 mm; the Run III ECal face is at 3640.4 mm."""
    if not (r_max > 0 and distance > 0):
        raise ValueError(f"r_max and distance must be > 0 mm, got {r_max}, {distance}")
    th = np.arctan(r_max / distance)
    return np.maximum(-cos_star_from_lab(th, sqrt_s, mass, m_e), 0.0)


def r_min_partner(sqrt_s: ArrayLike, r_max: float = 270.0, distance: float = 3640.4,
                  mass: float = M_E, m_e: float = M_E) -> NDArray[np.float64]:
    """Radius (mm) at ``distance`` (mm) of the partner of a two-body final-state body (``mass``,
    MeV) that hits radius ``r_max`` (mm), at CM energy ``sqrt_s`` (MeV): R_min(sqrt_s).

    The ``distance`` default is the Run III ECal face (3640.4 mm); with mass = m_e this reproduces
    PADME's Kinematics.C R_min curve (docs/detector.md §9.2)."""
    if not (r_max > 0 and distance > 0):
        raise ValueError(f"r_max and distance must be > 0 mm, got {r_max}, {distance}")
    c = cos_star_from_lab(np.arctan(r_max / distance), sqrt_s, mass, m_e)
    return distance * np.tan(theta_lab(-c, sqrt_s, mass, m_e))


# --- ATOMKI: nuclear transition N* -> N + X, X -> e+e- ------------------------------------
def _x_energy(m_x, transition_energy, m_nucleus):
    de = np.asarray(transition_energy, dtype=float)
    if m_nucleus is None:
        return de
    m_star = m_nucleus + de
    return (m_star * m_star - m_nucleus * m_nucleus + m_x * m_x) / (2.0 * m_star)


def atomki_theta_min(m_x: ArrayLike, transition_energy: ArrayLike,
                     m_nucleus: float | None = None, m_e: float = M_E) -> NDArray[np.float64]:
    """Minimum e+e- opening angle (rad) for N* -> N + X, X -> e+e- (symmetric pair):
    sin(theta_min/2) = sqrt(m_X^2 - 4 m_e^2) / sqrt(E_X^2 - 4 m_e^2) (docs/physics.md §13).

    ``m_x`` and ``transition_energy`` (Delta E = M* - M_N) in MeV. Without ``m_nucleus`` (MeV,
    ground-state nuclear mass) E_X = Delta E (recoil neglected); with it
    E_X = (M*^2 - M_N^2 + m_X^2)/(2 M*). NaN where the decay is forbidden (E_X < m_X)."""
    mx = np.asarray(m_x, dtype=float)
    ex = _x_energy(mx, transition_energy, m_nucleus)
    with np.errstate(invalid="ignore"):
        r = np.sqrt(mx * mx - 4 * m_e * m_e) / np.sqrt(ex * ex - 4 * m_e * m_e)
        return np.where(r <= 1.0, 2.0 * np.arcsin(np.minimum(r, 1.0)), np.nan)


def atomki_mass(theta_min: ArrayLike, transition_energy: ArrayLike,
                m_nucleus: float | None = None, m_e: float = M_E) -> NDArray[np.float64]:
    """Boson mass m_X (MeV) whose minimum opening angle is ``theta_min`` (rad) for a transition
    of energy ``transition_energy`` (MeV); inverse of :func:`atomki_theta_min` (same recoil
    option)."""
    s2 = np.sin(0.5 * np.asarray(theta_min, dtype=float)) ** 2
    de = np.asarray(transition_energy, dtype=float)
    m4 = 4 * m_e * m_e
    if m_nucleus is None:
        return np.sqrt(m4 + s2 * (de * de - m4))
    # E_X = E0 + y/(2M*), y = m_X^2:  y - 4m^2 = S (E_X^2 - 4m^2), a quadratic in y
    m_star = m_nucleus + de
    e0 = (m_star * m_star - m_nucleus * m_nucleus) / (2 * m_star)
    qa = s2 / (4 * m_star * m_star)
    qb = s2 * e0 / m_star - 1.0
    qc = s2 * (e0 * e0 - m4) + m4
    # small root, written stably (qb < 0)
    y = 2 * qc / (-qb + np.sqrt(qb * qb - 4 * qa * qc))
    return np.sqrt(y)
