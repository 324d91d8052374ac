"""Exact relativistic kinematics for the generators: boosts and two-body final states.

All functions are vectorised over events: energies (n,), momenta (n, 3), MeV.
"""

from __future__ import annotations

import numpy as np

from x17scan.sim.target import orthonormal_basis


def boost(e: np.ndarray, p: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lorentz boost of four-vectors (``e`` (n,), ``p`` (n, 3)) into the frame in which a
    particle at velocity ``-beta`` is at rest, i.e. the lab four-vector of a particle with
    rest-frame four-vector (e, p) in a frame moving with ``beta`` (n, 3) relative to the lab.
    Use ``-beta`` to go from the lab to that frame."""
    b2 = np.einsum("ij,ij->i", beta, beta)
    gam = 1.0 / np.sqrt(1.0 - b2)
    bp = np.einsum("ij,ij->i", beta, p)
    # (gamma - 1)/beta^2 = gamma^2/(gamma + 1): no 0/0 for beta -> 0
    coef = gam * gam / (gam + 1.0) * bp + gam * e
    return gam * (e + bp), p + coef[:, None] * beta


def two_body(total_e: np.ndarray, total_p: np.ndarray, axis_lab: np.ndarray,
             cos_theta: np.ndarray, phi: np.ndarray, mass: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decay of a system of four-momentum (``total_e``, ``total_p``) into two bodies of equal
    ``mass`` (MeV). Body 0 is emitted at CM polar angle arccos(``cos_theta``) and azimuth
    ``phi`` around the rest-frame direction of ``axis_lab`` (a lab four-momentum, given as
    (e, p) tuple: the incoming positron); body 1 goes opposite.

    Returns lab (e0, p0, e1, p1). Exact boosts; the invariant mass is sqrt(total_e^2 - p^2)."""
    beta = total_p / total_e[:, None]
    w = np.sqrt(np.maximum(total_e**2 - np.einsum("ij,ij->i", total_p, total_p), 0.0))
    ax_e, ax_p = axis_lab
    _, ax_cm = boost(ax_e, ax_p, -beta)
    z = ax_cm / np.linalg.norm(ax_cm, axis=1)[:, None]
    u, v = orthonormal_basis(z)
    s = np.sqrt(np.maximum(1.0 - cos_theta**2, 0.0))
    n0 = (cos_theta[:, None] * z + (s * np.cos(phi))[:, None] * u
          + (s * np.sin(phi))[:, None] * v)
    pstar = np.sqrt(np.maximum(w * w / 4.0 - mass * mass, 0.0))
    estar = 0.5 * w
    e0, p0 = boost(estar, pstar[:, None] * n0, beta)
    e1, p1 = boost(estar, -pstar[:, None] * n0, beta)
    return e0, p0, e1, p1


def window_cos(theta_max: float, gamma: float, beta_star: float) -> float:
    """Largest c such that both bodies of a symmetric two-body decay with |cos theta*| < c
    have lab angles below ``theta_max`` (rad), for a parent with Lorentz factor ``gamma`` along
    the beam and daughters of CM velocity ``beta_star``: tan(theta) = sin(theta*) /
    (gamma (cos theta* + beta/beta*)), solved at the backward body. Clipped to [0, 1)."""
    beta = np.sqrt(1.0 - 1.0 / (gamma * gamma))
    a = beta / beta_star
    t2 = (gamma * np.tan(theta_max)) ** 2
    disc = max(1.0 + t2 * (1.0 - a * a), 0.0)
    c = (-a * t2 + np.sqrt(disc)) / (1.0 + t2)
    return float(np.clip(-c, 0.0, 1.0 - 1e-12))
