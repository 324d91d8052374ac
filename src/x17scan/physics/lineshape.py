"""Signal line shape of the resonance in the beam energy, and the yield per positron on target.

The yield at nominal beam energy E_b (MeV) is N_X/N_PoT = I(M, g) K(E_b; M), with I the integral
over E_beam (:func:`x17scan.physics.resonance.integrated_yield`, MeV per positron) and K a
kernel normalised to int K dE_b = 1 (1/MeV). Kernels (docs/physics.md §5.1, §6):

* ``"free"``: free electrons at rest; Gaussian beam-energy spread
  K = G(E_b - E_res; sigma = bes E_res).
* ``"atomic"``: bound electrons with the Hartree-Fock Compton profile of carbon (xraylib):
  K(E_b) = int dp_z J(p_z)/Z G(E*(p_z) - E_b; bes E_res) with the exact resonance condition
  E*(p_z) = E_res / (1 - alpha p_z[a.u.]) (from s = 2 m_e^2 + 2 m_e E_+ - 2 |p_+| p_z,
  physics.md §6.1-6.2); flux and Jacobian changes O(p/m_e) are neglected, as there.
* ``"sto"``: the same with the single-zeta Slater profiles.
* ``"voigt"``: PADME's effective model, a Voigt profile in E_beam with Gaussian sigma =
  bes E_res and Lorentzian HALF width gamma_l (1.72 MeV), optionally scaled by E_res/282.27 MeV
  (physics.md §6.5); normalised by PADME's A_peak = 13.56 MeV per g^2 in :func:`yield_per_pot`.

Fast evaluation of the atomic kernels. With x = (E_b - E_res)/E_res, and sigma_E = bes E_res,
the kernel is exactly K(E_b) = k(x; bes)/E_res with k independent of the mass:
k = h * G(.; bes), the convolution of the no-spread density h(x) = J(p_z(x))/Z dp_z/dx,
p_z(x) = x/(alpha (1 + x)), with a unit-area Gaussian of width bes. For each (model, bes)
k is computed once (cached) on a uniform grid of step 2e-5 in x (0.0056 MeV at E_res = 282 MeV;
|p_z| <= 60 a.u., the ~1e-6 of the profile beyond is dropped and h renormalised to 1) by FFT
convolution, and evaluated by linear interpolation. Discretisation and interpolation error:
< 1e-5 relative wherever K > 1e-3 of its maximum (tested against the direct sum over p_z of
physics.md §6.6). A new bes value costs one table (~3 ms); the last 128 are kept (thread-safe).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.physics.constants import (
    A_PEAK_PADME,
    ALPHA,
    BES_PADME,
    DIAMOND_100UM,
    E_RES_REF_PADME,
    GAMMA_L_PADME,
    M_E,
    M_E_PADME,
    W_B_PADME,
    Target,
)
from x17scan.physics.kinematics import e_res as _e_res
from x17scan.physics.resonance import check_spin, integrated_xsec_s, integrated_yield

__all__ = [
    "LINESHAPES",
    "e_res_model",
    "kernel",
    "kernel_fwhm",
    "kernel_peak",
    "yield_per_pot",
]

LINESHAPES: tuple[str, ...] = ("free", "atomic", "sto", "voigt")
"""The allowed values of every line-shape ``model`` argument."""

_PZ_KERNEL_MAX = 60.0  # a.u.
_DX = 2.0e-5
_X_LO = ALPHA * -_PZ_KERNEL_MAX / (1.0 + ALPHA * _PZ_KERNEL_MAX)
_X_HI = ALPHA * _PZ_KERNEL_MAX / (1.0 - ALPHA * _PZ_KERNEL_MAX)
_CACHE: OrderedDict[tuple[str, float], tuple[float, NDArray[np.float64]]] = OrderedDict()
_CACHE_SIZE = 128
_LOCK = threading.Lock()


def _check_model(model: str) -> str:
    if model not in LINESHAPES:
        raise ValueError(f"line-shape model must be one of {', '.join(LINESHAPES)}; "
                         f"got {model!r}")
    return model


def e_res_model(mass: ArrayLike, padme_convention: bool = False) -> NDArray[np.float64]:
    """Resonant beam energy (MeV) for a boson of ``mass`` (MeV): (M^2 - 2 m_e^2)/(2 m_e) with
    CODATA m_e, or PADME's (M^2 - 2 m_e^2)/(2 (m_e + W_b)), m_e = 0.511 MeV, W_b = -7e-6 MeV,
    if ``padme_convention`` (docs/padme-run3-method.md §3a)."""
    m = np.asarray(mass, dtype=float)
    if np.any(~(m > 2.0 * M_E)):
        raise ValueError(f"mass must be > 2 m_e = {2 * M_E:.6f} MeV")
    if padme_convention:
        return (m * m - 2 * M_E_PADME**2) / (2 * (M_E_PADME + W_B_PADME))
    return _e_res(m)


def _h_density(model: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x grid and the no-spread density h(x) on it (unit area in x)."""
    from x17scan.physics.compton import profile

    n_lo = int(np.ceil(-_X_LO / _DX))
    n_hi = int(np.ceil(_X_HI / _DX))
    x = np.arange(-n_lo, n_hi + 1) * _DX
    pz = x / (ALPHA * (1.0 + x))
    h = profile(pz, "hf" if model == "atomic" else "sto") / (ALPHA * (1.0 + x) ** 2)
    h /= h.sum() * _DX
    return x, h


_H: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}


def _k_table(model: str, bes: float) -> tuple[float, NDArray[np.float64]]:
    """(x0, k) with k(x0 + i dx; bes) the kernel in x = (E_b - E_res)/E_res (unit area)."""
    key = (model, float(bes))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        if model not in _H:
            _H[model] = _h_density(model)
        x, h = _H[model]
    n_sig = int(np.ceil(9.0 * bes / _DX))
    if n_sig < 1:
        k = h.copy()
        x0 = float(x[0])
    else:
        u = np.arange(-n_sig, n_sig + 1) * _DX
        w = np.exp(-0.5 * (u / bes) ** 2)
        w /= w.sum()
        n = h.size + w.size - 1
        nfft = 1 << (n - 1).bit_length()
        k = np.fft.irfft(np.fft.rfft(h, nfft) * np.fft.rfft(w, nfft), nfft)[:n]
        np.maximum(k, 0.0, out=k)  # FFT round-off can leave -1e-17 far in the tails
        x0 = float(x[0] - n_sig * _DX)
    k.setflags(write=False)
    with _LOCK:
        _CACHE[key] = (x0, k)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return x0, k


def _atomic_kernel(model, eb, er, bes):
    x = (eb - er) / er
    out = np.empty(x.shape)
    for b in np.unique(bes):
        sel = bes == b
        x0, k = _k_table(model, float(b))
        grid_pos = (x[sel] - x0) / _DX
        out[sel] = np.interp(grid_pos, np.arange(k.size), k, left=0.0, right=0.0)
    return out / er


def kernel(e_beam: ArrayLike, mass: ArrayLike, bes: ArrayLike = BES_PADME,
           model: str = "atomic", *, gamma_l: float = GAMMA_L_PADME, scale_gamma: bool = False,
           padme_convention: bool = False) -> NDArray[np.float64]:
    """Signal line shape in beam energy K(E_beam; M) (1/MeV), normalised to int K dE_beam = 1.

    ``e_beam``: nominal beam energies (MeV); ``mass``: boson masses (MeV); ``bes``: relative
    Gaussian beam-energy spread (sigma_E = bes E_res; > 0 for "free", >= 0 otherwise); all
    broadcast together (e.g. e_beam (n,) with mass (m, 1) -> (m, n)).
    ``model``: "free", "atomic" (HF carbon Compton profile), "sto" (Slater profiles) or "voigt"
    (PADME: Lorentzian half width ``gamma_l`` MeV, times E_res/282.27 MeV if ``scale_gamma``).
    ``padme_convention``: E_res with m_e = 0.511 MeV and W_b = -7 eV (as PADME) instead of
    CODATA m_e. See the module docstring for the method and its accuracy."""
    _check_model(model)
    b = np.asarray(bes, dtype=float)
    if np.any(~(b >= 0)) or (model == "free" and np.any(~(b > 0))):
        raise ValueError("bes must be > 0 (>= 0 for the atomic and voigt line shapes)")
    eb = np.asarray(e_beam, dtype=float)
    er = e_res_model(mass, padme_convention)
    eb, er, b = np.broadcast_arrays(eb, er, b)
    if model == "free":
        sig = b * er
        return np.exp(-0.5 * ((eb - er) / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    if model == "voigt":
        from scipy.special import voigt_profile

        if not gamma_l >= 0:
            raise ValueError(f"gamma_l must be >= 0 MeV, got {gamma_l}")
        gl = gamma_l * er / E_RES_REF_PADME if scale_gamma else gamma_l
        return voigt_profile(eb - er, b * er, gl)
    return _atomic_kernel(model, eb, er, b)


def yield_per_pot(e_beam: ArrayLike, mass: ArrayLike, g: ArrayLike, spin: str = "vector",
                  bes: ArrayLike = BES_PADME, model: str = "atomic",
                  target: Target = DIAMOND_100UM, *, a_peak: float = A_PEAK_PADME,
                  br_ee: float = 1.0, **model_kw) -> NDArray[np.float64]:
    """Number of X produced per positron on target, N_X/N_PoT, at nominal beam energies
    ``e_beam`` (MeV) for bosons of ``mass`` (MeV) and coupling ``g`` (all broadcast).

    Physical kernels ("free", "atomic", "sto"): integrated_yield(mass, g, spin, target, br_ee) x
    :func:`kernel`, so the integral over E_beam is 12.657 g^2 MeV for a vector in 100 um
    diamond. "voigt": PADME's normalisation g^2 ``a_peak`` (13.56 MeV) x V, scaled by the
    spin factor int(sigma ds)_spin / int(sigma ds)_vector, by the electrons per area of
    ``target`` relative to 100 um diamond, and by ``br_ee``. ``model_kw`` go to
    :func:`kernel` (gamma_l, scale_gamma, padme_convention)."""
    check_spin(spin)
    k = kernel(e_beam, mass, bes, model, **model_kw)
    if model == "voigt":
        m = np.asarray(mass, dtype=float)
        spin_factor = integrated_xsec_s(m, 1.0, spin) / integrated_xsec_s(m, 1.0, "vector")
        t_factor = target.electrons_per_cm2 / DIAMOND_100UM.electrons_per_cm2
        norm = np.asarray(g, dtype=float) ** 2 * a_peak * spin_factor * t_factor * br_ee
    else:
        norm = integrated_yield(mass, g, spin, target, br_ee)
    return norm * k


def _scan_grid(mass: float, bes: float, model: str, gamma_l: float, scale_gamma: bool,
               padme_convention: bool):
    er = float(e_res_model(mass, padme_convention))
    half = 12 * bes * er + (40 * gamma_l if model == "voigt" else 0.0)
    if model in ("atomic", "sto"):
        half += 0.05 * er
    e = np.linspace(er - half, er + half, 40001)
    k = kernel(e, mass, bes, model, gamma_l=gamma_l, scale_gamma=scale_gamma,
               padme_convention=padme_convention)
    return e, k


def kernel_peak(mass: float, bes: float = BES_PADME, model: str = "atomic", *,
                gamma_l: float = GAMMA_L_PADME, scale_gamma: bool = False,
                padme_convention: bool = False) -> tuple[float, float]:
    """(E_beam at the maximum (MeV), maximum of :func:`kernel` (1/MeV)) for one ``mass`` (MeV).
    Found on a fine grid refined by a parabola through the three highest points."""
    e, k = _scan_grid(mass, bes, model, gamma_l, scale_gamma, padme_convention)
    i = int(np.clip(np.argmax(k), 1, k.size - 2))
    y0, y1, y2 = k[i - 1], k[i], k[i + 1]
    den = y0 - 2 * y1 + y2
    d = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    step = e[1] - e[0]
    return float(e[i] + d * step), float(y1 - 0.25 * (y0 - y2) * d)


def kernel_fwhm(mass: float, bes: float = BES_PADME, model: str = "atomic", *,
                gamma_l: float = GAMMA_L_PADME, scale_gamma: bool = False,
                padme_convention: bool = False) -> float:
    """Full width at half maximum (MeV, in beam energy) of :func:`kernel` for one ``mass``
    (MeV), by linear interpolation of the half-maximum crossings on a fine grid."""
    e, k = _scan_grid(mass, bes, model, gamma_l, scale_gamma, padme_convention)
    half = 0.5 * k.max()
    above = np.nonzero(k >= half)[0]
    i, j = above[0], above[-1]
    left = np.interp(half, [k[i - 1], k[i]], [e[i - 1], e[i]])
    right = np.interp(half, [k[j + 1], k[j]], [e[j + 1], e[j]])
    return float(right - left)
