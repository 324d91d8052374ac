"""Compton profiles (projected electron-momentum densities) of atomic carbon.

J(p_z) = integral of the momentum density n(p) over p_x, p_y; for an isotropic atom
J(q) = 2 pi int_|q|^inf p n(p) dp. Momenta in atomic units (a.u., m_e alpha c = 3.7289 keV);
profiles in 1/a.u. Two models (docs/physics.md §6.3):

* ``"hf"``: Hartree-Fock profiles of Biggs, Mendelsohn & Mann, At. Data Nucl. Data Tables 16
  (1975) 201, through the maintained ``xraylib`` package (``ComptonProfile(6, pz)``). xraylib
  is scalar and tabulated for 0 <= p_z <= 100 a.u.: we sample it once per process on a uniform
  0.001 a.u. grid (cached) and interpolate linearly; the profile is set to 0 beyond 100 a.u.
  (the dropped mass is ~1e-7) and renormalised to exactly 1 on the grid (the raw table
  integrates to 6.001/6).
* ``"sto"``: closed forms for single-zeta Slater orbitals (1s, 2s, 2p) with the
  Clementi-Raimondi exponents of :data:`x17scan.physics.constants.CARBON_STO_ZETA`.

:func:`profile` is J(p_z)/Z, normalised to 1 over p_z in (-inf, inf) (even in p_z).
:func:`profile_cdf` and :func:`profile_quantile` give its CDF and inverse CDF (for sampling
p_z by inversion); they are built by trapezoidal integration on the same grid.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.physics.constants import CARBON_OCCUPATION, CARBON_STO_ZETA

__all__ = [
    "MODELS",
    "PZ_MAX",
    "profile",
    "profile_cdf",
    "profile_quantile",
    "sto_momentum_density",
    "sto_profile_shell",
]

MODELS: tuple[str, ...] = ("hf", "sto")
"""Compton-profile models of carbon: Hartree-Fock (xraylib) and single-zeta Slater orbitals."""

PZ_MAX: float = 100.0
"""Largest |p_z| (a.u.) of the tabulated profiles (the range of xraylib's tables)."""

_STEP = 1.0e-3  # a.u.; linear interpolation error ~ step^2 J''/8 < 1e-6 relative
_Z = 6
_SHELLS = ("1s", "2s", "2p")


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"Compton-profile model must be one of {', '.join(MODELS)}; "
                         f"got {model!r}")
    return model


def _zeta(shell: str, zeta: float | None) -> float:
    if shell not in _SHELLS:
        raise ValueError(f"shell must be one of {', '.join(_SHELLS)}; got {shell!r}")
    return CARBON_STO_ZETA[shell] if zeta is None else float(zeta)


def sto_momentum_density(p: ArrayLike, shell: str, zeta: float | None = None
                         ) -> NDArray[np.float64]:
    """Momentum density n(p) (1/a.u.^3) of one electron in a single-zeta Slater orbital
    (``shell`` "1s", "2s" or "2p"; ``zeta`` in a.u., default carbon), normalised to
    int n d^3p = 1; ``p`` = |p| in a.u. (docs/physics.md §6.3 b)."""
    z = _zeta(shell, zeta)
    p2 = np.asarray(p, dtype=float) ** 2
    d = p2 + z * z
    if shell == "1s":
        return 8 * z**5 / (np.pi**2 * d**4)
    if shell == "2s":
        return 8 * z**5 * (p2 - 3 * z * z) ** 2 / (3 * np.pi**2 * d**6)
    return 128 * z**7 * p2 / (3 * np.pi**2 * d**6)


def sto_profile_shell(q: ArrayLike, shell: str, zeta: float | None = None
                      ) -> NDArray[np.float64]:
    """Compton profile J(q) (1/a.u.) of one electron in a single-zeta Slater orbital, closed
    form (docs/physics.md §6.3 b), normalised to int J dq = 1; ``q`` = p_z in a.u.
    J(0) = 0.1496 (1s), 0.8093 (2s), 0.4331 (2p) with the carbon exponents."""
    z = _zeta(shell, zeta)
    q2 = np.asarray(q, dtype=float) ** 2
    d = q2 + z * z
    if shell == "1s":
        return 8 * z**5 / (3 * np.pi * d**3)
    if shell == "2s":
        return 8 * z**5 * (5 * q2 * q2 - 20 * q2 * z * z + 23 * z**4) / (45 * np.pi * d**5)
    return 32 * z**7 * (5 * q2 + z * z) / (15 * np.pi * d**5)


def _sto_atom(q: NDArray[np.float64]) -> NDArray[np.float64]:
    return sum(CARBON_OCCUPATION[s] * sto_profile_shell(q, s) for s in _SHELLS) / _Z


@cache
def _table(model: str) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                                float]:
    """(grid, J/Z, C, norm) on p_z = 0 ... PZ_MAX; C = int_0^p J/Z with C(PZ_MAX) = 1/2 exactly;
    norm = the factor by which the raw J/Z was divided."""
    grid = np.linspace(0.0, PZ_MAX, round(PZ_MAX / _STEP) + 1)
    if model == "hf":
        import xraylib_np  # the maintained library's array API (same C function per point)

        # the last table point is PZ_MAX itself (xraylib refuses to extrapolate beyond it)
        j = xraylib_np.ComptonProfile(np.array([_Z]), grid)[0] / _Z
    else:
        j = _sto_atom(grid)
    c = np.concatenate(([0.0], np.cumsum(0.5 * (j[1:] + j[:-1]) * _STEP)))
    norm = 2.0 * c[-1]
    j = j / norm
    c = c / norm
    j.setflags(write=False)
    c.setflags(write=False)
    grid.setflags(write=False)
    return grid, j, c, float(norm)


def profile(pz_au: ArrayLike, model: str = "hf") -> NDArray[np.float64]:
    """Compton profile of carbon per electron, J(p_z)/Z (1/a.u.), normalised to 1 over p_z.

    ``pz_au``: projected momentum (a.u., any sign; the profile is even). ``model``: "hf"
    (Hartree-Fock via xraylib, tabulated and interpolated) or "sto" (closed form). Zero
    for |p_z| > 100 a.u. HF: J(0)/Z = 2.890/6."""
    _check_model(model)
    q = np.abs(np.asarray(pz_au, dtype=float))
    grid, j, _, norm = _table(model)
    if model == "sto":
        # closed form, with the same normalisation as the table (a 1e-7 correction)
        return np.where(q <= PZ_MAX, _sto_atom(q) / norm, 0.0)
    return np.interp(q, grid, j, right=0.0)


def profile_cdf(pz_au: ArrayLike, model: str = "hf") -> NDArray[np.float64]:
    """Cumulative distribution F(p_z) = int_{-inf}^{p_z} J/Z dp_z' (dimensionless) of the
    projected momentum (a.u.) of a carbon electron; 0 below -100 a.u., 1 above +100 a.u."""
    _check_model(model)
    pz = np.asarray(pz_au, dtype=float)
    grid, _, c, _ = _table(model)
    half = np.interp(np.abs(pz), grid, c, right=0.5)
    return 0.5 + np.sign(pz) * half


def profile_quantile(u: ArrayLike, model: str = "hf") -> NDArray[np.float64]:
    """Inverse of :func:`profile_cdf`: the projected momentum p_z (a.u.) with F(p_z) = ``u``,
    for ``u`` in [0, 1] (use u ~ Uniform(0, 1) to sample p_z of a random carbon electron).
    Linear interpolation of the tabulated CDF (0.001 a.u. grid); |p_z| <= 100 a.u."""
    _check_model(model)
    uu = np.asarray(u, dtype=float)
    if np.any(~((uu >= 0) & (uu <= 1))):
        raise ValueError("u must lie in [0, 1]")
    grid, _, c, _ = _table(model)
    d = uu - 0.5
    return np.sign(d) * np.interp(np.abs(d), c, grid)
