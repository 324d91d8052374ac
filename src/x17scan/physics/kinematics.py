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
