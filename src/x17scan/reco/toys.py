"""Toy truth events for detector and reconstruction studies, tests and benchmarks.

Not physics generators (those are in :mod:`x17scan.sim.generators`): single particles aimed at
chosen points of the ECal face, and exact two-body final states of e+ e- at rest -> two bodies,
uniform in cos theta* and azimuth. Units: MeV, mm, ns; vertex at the origin unless given.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from x17scan.physics import kinematics as kin
from x17scan.physics.constants import M_E
from x17scan.sim.events import TruthEvents


def particles_at(energy: ArrayLike, x: ArrayLike, y: ArrayLike, z: float = 3640.41,
                 pdg: int = 22, t0: ArrayLike = 0.0, bunch: ArrayLike | None = None,
                 vertex: ArrayLike | None = None) -> TruthEvents:
    """One particle per event (slot 0; slot 1 empty) of ``energy`` (MeV) flying from ``vertex``
    (default the origin) towards the point (x, y, z) (mm). Arrays broadcast to n events."""
    energy, x, y, t0 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, dtype=float))
                                             for a in (energy, x, y, t0)))
    n = energy.shape[0]
    v = np.zeros((n, 3)) if vertex is None else np.broadcast_to(np.asarray(vertex, float),
                                                                 (n, 3)).copy()
    d = np.stack([x - v[:, 0], y - v[:, 1], np.full(n, z) - v[:, 2]], axis=1)
    d /= np.linalg.norm(d, axis=1)[:, None]
    mass = M_E if abs(pdg) == 11 else 0.0
    pm = np.sqrt(np.maximum(energy**2 - mass**2, 0.0))
    p = np.zeros((n, 2, 3))
    p[:, 0] = d * pm[:, None]
    e = np.zeros((n, 2))
    e[:, 0] = energy
    pdgs = np.zeros((n, 2), np.int32)
    pdgs[:, 0] = pdg
    return TruthEvents(process=np.zeros(n, np.int8), vertex=v, t0=t0,
                       bunch=np.arange(n) if bunch is None else np.asarray(bunch), pdg=pdgs,
                       p=p, e=e, e_beam=np.full(n, np.nan), sqrt_s=np.full(n, np.nan),
                       cos_theta_star=np.full(n, np.nan))


def two_body(n: int, e_beam: float, rng: np.random.Generator, final: str = "ee",
             cos_max: float = 1.0, process: int = 0) -> TruthEvents:
    """``n`` exact two-body final states of a positron of energy ``e_beam`` (MeV) on an
    electron at rest: ``final`` "ee" (slot 0 e-, slot 1 e+) or "gg"; cos theta* of slot 0
    uniform in [-cos_max, cos_max], azimuth uniform; vertex at the origin, t0 = 0."""
    mass, pdg = (M_E, (11, -11)) if final == "ee" else (0.0, (22, 22))
    w = float(kin.sqrt_s(e_beam))
    c = rng.uniform(-cos_max, cos_max, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    g = w / (2.0 * M_E)
    b = np.sqrt(1.0 - 1.0 / (g * g))
    es = 0.5 * w
    ps = np.sqrt(es * es - mass * mass)
    pt = ps * np.sqrt(1.0 - c * c)
    p = np.zeros((n, 2, 3))
    e = np.zeros((n, 2))
    for k, sign in enumerate((1.0, -1.0)):
        ph = phi + k * np.pi
        p[:, k, 0] = pt * np.cos(ph)
        p[:, k, 1] = pt * np.sin(ph)
        p[:, k, 2] = g * (sign * ps * c + b * es)
        e[:, k] = g * (es + b * sign * ps * c)
    return TruthEvents(process=np.full(n, process, np.int8), vertex=np.zeros((n, 3)),
                       t0=np.zeros(n), bunch=np.arange(n), pdg=np.tile(np.array(pdg, np.int32),
                                                                       (n, 1)),
                       p=p, e=e, e_beam=np.full(n, e_beam), sqrt_s=np.full(n, w),
                       cos_theta_star=c)
