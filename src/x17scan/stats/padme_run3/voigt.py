"""Normalised Voigt profile with analytic derivatives in sigma and gamma (Faddeeva function).

V(x; sigma, gamma) = Re w(z) / (sigma sqrt(2 pi)),  z = (x + i gamma) / (sigma sqrt 2),
with w the Faddeeva function (``scipy.special.wofz``); gamma is the Lorentzian *half* width
(= ``scipy.special.voigt_profile(x, sigma, gamma)`` = ROOT ``TMath::Voigt(x, sigma, 2 gamma)``).
From w'(z) = -2 z w(z) + 2i/sqrt(pi):

    dV/dgamma = Re[w'(z) i/(sigma sqrt 2)] / (sigma sqrt(2 pi))
    dV/dsigma = -V/sigma + Re[-w'(z) z/sigma] / (sigma sqrt(2 pi))

so one ``wofz`` call gives the value and both derivatives. Like ``TMath::Voigt``, the profile
is 0 for sigma < 0 or gamma < 0 (PADME's fit has no parameter limits, so a fitted BES may in
principle cross zero). Units: x, sigma, gamma in the same unit (MeV); V in 1/MeV.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import wofz

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRTPI = 2.0 / math.sqrt(math.pi)


def voigt(x: ArrayLike, sigma: ArrayLike, gamma: ArrayLike) -> NDArray[np.float64]:
    """Normalised Voigt profile V(x; sigma, gamma) in 1/[x] (gamma = half width)."""
    return voigt_derivs(x, sigma, gamma)[0]


def voigt_derivs(x: ArrayLike, sigma: ArrayLike, gamma: ArrayLike
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(V, dV/dsigma, dV/dgamma), broadcast over the inputs (float64).

    sigma must be > 0 where the profile is wanted; rows with sigma <= 0 or gamma < 0 return
    zeros (TMath::Voigt convention).
    """
    x = np.asarray(x, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    ok = (sigma > 0) & (gamma >= 0)
    if not np.all(ok):
        s_safe = np.where(ok, sigma, 1.0)
        g_safe = np.where(ok, gamma, 0.0)
        v, ds, dg = voigt_derivs(x, s_safe, g_safe)
        z = np.zeros(1)
        return np.where(ok, v, z), np.where(ok, ds, z), np.where(ok, dg, z)
    inv_s = 1.0 / sigma
    r = inv_s / _SQRT2
    z = (x + 1j * gamma) * r
    w = wofz(z)
    wp = -2.0 * z * w + 1j * _TWO_OVER_SQRTPI
    norm = inv_s / _SQRT2PI
    v = w.real * norm
    # Re[wp * i r] = -Im(wp) r
    dg = -wp.imag * r * norm
    ds = -v * inv_s - (wp * z).real * inv_s * norm
    return v, ds, dg
