"""The beam at the target and the passage of particles through it.

Everything here is vectorised over events and draws from a ``numpy.random.Generator``.
Units: MeV, mm, ns, rad.

* Beam: Gaussian energy (relative spread ``bes`` around nominal + scale offset), Gaussian spot
  and *independent* Gaussian x/y divergence (not PadmeMC's azimuth-dependent spread, which uses
  eps_x twice: docs/detector.md §10 item 1), bunch time structure (micro-bunches).
* Interaction point: uniform in depth along the incoming positron (docs/detector.md §1.1).
* Energy loss of e+- over a path x: mean collision loss (Bethe-Bhabha for positrons, Moller for
  electrons, asymptotic density effect; PDG Review "Passage of particles through matter",
  ICRU 37) plus bremsstrahlung with the Bethe-Heitler thin-layer distribution
  -ln(E/E0) ~ Gamma(4/3 x/X0) (Bethe & Heitler 1934; PDG ibid.), whose mean loss fraction is
  1 - 2^(-4x/(3 X0)) ~ 0.92 x/X0. Collision straggling (~3 keV width here) is neglected.
* Multiple scattering: Gaussian projected angles with the Highland width (PDG eq. 34.16),
  theta0 = 13.6 MeV/(beta c p) sqrt(x/X0) [1 + 0.038 ln(x/(X0 beta^2))]. For 100 um diamond
  x/X0 <= 8e-4, slightly below the 1e-3 where PDG quotes 11 % accuracy (documented limit).

The random passage functions (:func:`brems_fraction_kept`, :func:`lose_energy`, :func:`scatter`,
:func:`traverse`) run the scalar helpers of :mod:`x17scan.sim._kernels` that the fused event
generators use, so their tested moments are the generators' physics;
:func:`collision_dedx` and :func:`highland_theta0` are the numpy references of those helpers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from x17scan.physics.constants import ALPHA, M_E, N_A, R_E_FM, Target

# 4 pi N_A r_e^2 m_e c^2 (MeV cm^2/mol): the K of the PDG Bethe formula (0.307075)
_K_BETHE = 4.0 * math.pi * N_A * (R_E_FM * 1e-13) ** 2 * M_E
_BH_B = 4.0 / 3.0  # Bethe-Heitler exponent b in -ln y ~ Gamma(b t)


@dataclass(frozen=True)
class BeamSetup:
    """The beam of one scan point.

    ``e_mean``: mean total positron energy (MeV, nominal + offset); ``sigma_e`` (MeV);
    ``spot`` (sigma_x, sigma_y) mm; ``divergence`` (sigma_thetax, sigma_thetay) rad;
    ``target``; ``positrons_per_bunch``; micro-bunch structure in ns."""

    e_mean: float
    sigma_e: float
    spot: tuple[float, float] = (1.0, 1.0)
    divergence: tuple[float, float] = (1e-3, 1e-3)
    target: Target | None = None
    positrons_per_bunch: float = 4000.0
    n_micro: int = 500
    micro_bunch_length: float = 0.150
    micro_bunch_period: float = 0.500

    @classmethod
    def from_plan(cls, plan, point) -> BeamSetup:
        """The beam of ``point`` of ``plan`` (a :class:`x17scan.beam.ScanPlan`)."""
        e = plan.e_beam_true(point)
        return cls(e_mean=e, sigma_e=plan.bes * e, spot=tuple(plan.spot_size),
                   divergence=tuple(1e-3 * d for d in plan.divergence),
                   target=plan.target if point.has_target else None,
                   positrons_per_bunch=plan.bunch.positrons_per_bunch,
                   n_micro=plan.bunch.n_micro, micro_bunch_length=plan.bunch.micro_bunch_length,
                   micro_bunch_period=plan.bunch.micro_bunch_period)


# -- beam --------------------------------------------------------------------------------------
def sample_beam(n: int, beam: BeamSetup, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incoming positrons at the target front face: (position (n, 2) mm, unit direction (n, 3),
    total energy (n,) MeV)."""
    xy = rng.standard_normal((n, 2)) * np.asarray(beam.spot)
    ang = rng.standard_normal((n, 2)) * np.asarray(beam.divergence)
    d = np.empty((n, 3))
    d[:, :2] = np.tan(ang)
    d[:, 2] = 1.0
    d /= np.linalg.norm(d, axis=1)[:, None]
    e = beam.e_mean + beam.sigma_e * rng.standard_normal(n)
    return xy, d, np.maximum(e, 2 * M_E)


def bunch_times(n: int, beam: BeamSetup, rng: np.random.Generator) -> np.ndarray:
    """Interaction times (ns) in the bunch: a random micro-bunch, flat inside it
    (PadmeMC BeamGenerator.cc:199-206; docs/detector.md §1.2)."""
    k = rng.integers(0, beam.n_micro, size=n)
    return k * beam.micro_bunch_period + rng.random(n) * beam.micro_bunch_length


# -- energy loss ---------------------------------------------------------------------------------
def plasma_energy(target: Target) -> float:
    """Plasma energy hbar omega_p (MeV) = sqrt(4 pi n_e r_e^3) m_e c^2 / alpha."""
    ne = target.material.electrons_per_cm3
    re = R_E_FM * 1e-13
    return math.sqrt(4 * math.pi * ne * re**3) * M_E / ALPHA


def collision_dedx(e: np.ndarray | float, target: Target, positron: bool = True) -> np.ndarray:
    """Mean collision stopping power (MeV/mm) of an e+ (``positron``) or e- of total energy
    ``e`` (MeV): Bethe-Bhabha / Moller formulas (ICRU 37; PDG Review, "Energy loss by
    electrons") with the high-energy density effect delta = 2 ln(hbar w_p/I) + 2 ln(beta
    gamma) - 1, in which the mean excitation energy I cancels (valid for beta gamma >~ 100,
    i.e. above ~50 MeV in carbon)."""
    e = np.asarray(e, dtype=float)
    tau = np.maximum(e / M_E - 1.0, 1e-9)
    gam = tau + 1.0
    b2 = 1.0 - 1.0 / (gam * gam)
    bg2 = gam * gam - 1.0
    if positron:
        y = 1.0 / (tau + 2.0)
        f = 2 * math.log(2) - b2 / 12 * (23 + 14 * y + 10 * y * y + 4 * y**3)
    else:
        f = 1 - b2 + (tau * tau / 8 - (2 * tau + 1) * math.log(2)) / (gam * gam)
    # ln(tau^2 (tau+2)/(2 (I/m)^2)) - delta  with delta = 2 ln(w_p/I) + ln(bg2) - 1
    wp = plasma_energy(target) / M_E
    log_term = np.log(tau * tau * (tau + 2) / 2.0) - 2 * math.log(wp) - np.log(bg2) + 1.0
    mat = target.material
    per_gcm2 = 0.5 * _K_BETHE * mat.z / mat.a / b2 * (log_term + f)
    return per_gcm2 * mat.density * 0.1  # MeV/cm -> MeV/mm


def brems_fraction_kept(t_x0: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fraction y = E/E0 of the energy kept after bremsstrahlung over ``t_x0`` radiation lengths
    (Bethe-Heitler: -ln y ~ Gamma(4 t/3)); E[y] = 2^(-4t/3), E[y^2] = 3^(-4t/3).

    The Gamma variate is drawn as Gamma(1 + a) U^(1/a) (a = 4t/3, exact), skipping the
    Gamma(1 + a) draw when U^(1/a) < e^-50, where y is 1.0 to double precision anyway: for the
    target's a ~ 1e-3 that is ~95 % of the draws."""
    from x17scan.sim import _kernels

    t = np.asarray(t_x0, dtype=float)
    x = np.empty(t.size)
    _kernels.brems_chunk(_kernels.seed_state(rng), np.ascontiguousarray(t.ravel()), x)
    return np.exp(-x).reshape(t.shape)


def _passage(e, d, path_mm, target: Target, rng, positron: bool, do_scatter: bool):
    from x17scan.sim import _kernels

    e, path = np.broadcast_arrays(np.asarray(e, dtype=float), np.asarray(path_mm, dtype=float))
    shape, n = e.shape, e.size
    d = np.ascontiguousarray(np.broadcast_to(d, (n, 3)), dtype=float)
    par = _kernels.beam_params(BeamSetup(e_mean=0.0, sigma_e=0.0, target=target))
    e_out, d_out = np.empty(n), np.empty((n, 3))
    _kernels.traverse_chunk(_kernels.seed_state(rng), np.ascontiguousarray(e.ravel()),
                            d, np.ascontiguousarray(path.ravel()), par, positron, do_scatter,
                            e_out, d_out)
    return e_out.reshape(shape), d_out


def lose_energy(e: np.ndarray, path_mm: np.ndarray, target: Target, rng: np.random.Generator,
                positron: bool = True) -> np.ndarray:
    """Total energy (MeV) of e+- of energy ``e`` after ``path_mm`` of ``target`` material:
    mean collision loss (evaluated at the entry energy) then Bethe-Heitler bremsstrahlung."""
    return _passage(e, np.array([0.0, 0.0, 1.0]), path_mm, target, rng, positron, False)[0]


# -- multiple scattering ---------------------------------------------------------------------------
def highland_theta0(p: np.ndarray, beta: np.ndarray, x_x0: np.ndarray) -> np.ndarray:
    """Highland width (rad) of the projected scattering angle for a unit charge of momentum
    ``p`` (MeV) and velocity ``beta`` through ``x_x0`` radiation lengths (PDG eq. 34.16);
    0 where x_x0 <= 0 (the bracket is clipped at 0 for extremely thin layers)."""
    x = np.asarray(x_x0, dtype=float)
    safe = np.where(x > 0, x, 1.0)
    bracket = np.maximum(1.0 + 0.038 * np.log(safe / (beta * beta)), 0.0)
    return np.where(x > 0, 13.6 / (beta * p) * np.sqrt(safe) * bracket, 0.0)


def orthonormal_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (n, 3) orthogonal to the unit vectors ``d`` (n, 3) and to each other."""
    a = np.zeros_like(d)
    use_x = np.abs(d[:, 0]) < 0.9
    a[use_x, 0] = 1.0
    a[~use_x, 1] = 1.0
    u = np.cross(d, a)
    u /= np.linalg.norm(u, axis=1)[:, None]
    v = np.cross(d, u)
    return u, v


def scatter(d: np.ndarray, theta0: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit directions ``d`` (n, 3) deflected by Gaussian projected angles of width ``theta0``
    (n,) rad in two orthogonal planes (the basis of :func:`orthonormal_basis`)."""
    from x17scan.sim import _kernels

    d = np.ascontiguousarray(d, dtype=float)
    th = np.ascontiguousarray(np.broadcast_to(np.asarray(theta0, dtype=float), d.shape[:1]))
    out = np.empty_like(d)
    _kernels.scatter_chunk(_kernels.seed_state(rng), d, th, out)
    return out


def traverse(e: np.ndarray, d: np.ndarray, path_mm: np.ndarray, target: Target,
             rng: np.random.Generator, positron: bool = True
             ) -> tuple[np.ndarray, np.ndarray]:
    """Pass e+- (energy ``e`` MeV, unit direction ``d``) through ``path_mm`` of target:
    Highland multiple scattering (at the entry momentum) and energy loss. Returns (e, d)."""
    return _passage(e, d, path_mm, target, rng, positron, True)
