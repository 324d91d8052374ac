"""Fused per-event kernels of the event generators (numba, compiled once and cached on disk).

One kernel call produces a whole chunk: for each event it runs the full chain of
:mod:`x17scan.sim.generators` (beam positron, interaction depth, energy loss and multiple
scattering before the vertex, electron motion, CM angle from the tabulated inverse CDF, exact
boosts, passage of the outgoing e+- through the rest of the target, bunch time) in registers,
writing only the final event. The physics is the one of :mod:`x17scan.sim.target`,
:mod:`x17scan.sim.kinematics` and :mod:`x17scan.physics.xsec`, whose numpy functions are either
thin wrappers of the scalar helpers here or references the tests compare them with.

Random numbers: every kernel takes a xoshiro256++ state (:func:`seed_state`) drawn from the
chunk's ``numpy.random.Generator``, so the output is a deterministic function of the chunk's
seed whatever runs it; the numbers are drawn on demand, which keeps the accept-reject steps
(background sqrt(s) unweighting, signal line shape, the Bethe-Heitler Gamma law) exact without
pre-drawn blocks or temporaries.

Order of the draws (what makes accept-reject cheap): the acceptance of a proposal depends only
on the positron energy at the vertex and on (p_z, |p|) of the electron (s = (E + m)^2 -
|p_e+ + p_e-|^2 is a function of them alone), so a proposal draws only the beam energy, the
beam direction (the path to the vertex depends on it), the depth, the bremsstrahlung and the
electron momentum; the beam spot, the scattering before the vertex, the azimuths, the CM angle
and the outgoing passage are drawn for accepted proposals only. All draws are independent, so
this changes nothing in the joint law of the event.

Smooth functions evaluated for every particle are tabulated once per generator on fine uniform
grids and interpolated with 4-point (cubic) Lagrange polynomials (:class:`Cubic`): the window
cross section sigma(sqrt s) (relative error < 1e-15 on +-10 % of the nominal sqrt(s)) and the
collision stopping powers (< 1e-10 above 5 MeV); outside the grids the closed forms are used.

Implementation note: the helpers receive the random state and the tables as raw pointers
(:func:`_ptr`), so calling them costs no reference counting and LLVM inlines them.

Units: MeV, mm, ns, rad; electron momenta in atomic units (a.u.) where stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from x17scan.physics.constants import ALPHA, HBARC2_MEV2_MB, M_E

_JIT = {"cache": True, "error_model": "numpy"}

_AU = ALPHA * M_E          # MeV per atomic unit of momentum
_M2 = M_E * M_E
_LN2 = math.log(2.0)
_BH_B = 4.0 / 3.0          # Bethe-Heitler: -ln(E/E0) ~ Gamma(b x/X0)
_E_FLOOR = M_E * (1.0 + 1e-9)
_E4 = (4.0 * math.pi * ALPHA) ** 2
_TWO_PI = 2.0 * math.pi
# Bethe-Heitler fast path: with G ~ Gamma(1 + a) and U uniform, X = G U^(1/a) ~ Gamma(a); when
# ln(U)/a < -50, X < G e^-50 < 2^-54 (unless G > 2.9e5, probability e^-290000), so exp(-X) is
# exactly 1.0 in float64 and G need not be drawn.
_BH_CUT = -50.0

# layout of the per-beam parameter vector (see beam_params)
(P_E, P_SIGE, P_SX, P_SY, P_DX, P_DY, P_T, P_X0, P_C0, P_LNWP, P_NMICRO, P_MLEN,
 P_MPER) = range(13)
N_PARAMS = 13
MAX_PROPOSALS = 4_000_000
"""Proposals per kernel call: a chunk whose acceptance is tiny returns to Python (Ctrl-C) now
and then, without changing its events."""
DEDX_E_MIN = 5.0
"""Lower end (MeV) of the tabulated stopping powers; below it the formula is evaluated."""


@intrinsic
def _ptr(typingctx, arr):
    """Raw data pointer of a C-contiguous array (the array must outlive its use)."""
    if not isinstance(arr, types.Array):
        return None
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return sig, codegen


# -- tables --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cubic:
    """f on the uniform grid x0 + k h (k = 0 .. n - 1), interpolated by :func:`_cubic`."""

    x0: float
    h: float
    f: np.ndarray

    @classmethod
    def build(cls, fn, lo: float, hi: float, n: int) -> Cubic:
        x = np.linspace(lo, hi, n)
        f = np.ascontiguousarray(fn(x), dtype=float)
        return cls(float(lo), float((hi - lo) / (n - 1)), f)

    @property
    def hi(self) -> float:
        return self.x0 + self.h * (self.f.size - 1)


def beam_params(beam) -> np.ndarray:
    """The per-beam constants the kernels need, as a float64 vector (layout ``P_*``).

    ``beam``: :class:`x17scan.sim.target.BeamSetup` (its target may be None: thickness 0)."""
    from x17scan.sim.target import _K_BETHE, plasma_energy

    out = np.zeros(N_PARAMS)
    out[P_E], out[P_SIGE] = beam.e_mean, beam.sigma_e
    out[P_SX], out[P_SY] = beam.spot
    out[P_DX], out[P_DY] = beam.divergence
    t = beam.target
    out[P_X0] = 1.0
    if t is not None:
        mat = t.material
        out[P_T], out[P_X0] = t.thickness, mat.x0_mm
        # collision stopping power prefactor (MeV/mm): K/2 Z/A rho (g/cm^2 -> mm)
        out[P_C0] = 0.5 * _K_BETHE * mat.z / mat.a * mat.density * 0.1
        out[P_LNWP] = math.log(plasma_energy(t) / M_E)
    out[P_NMICRO], out[P_MLEN], out[P_MPER] = (beam.n_micro, beam.micro_bunch_length,
                                               beam.micro_bunch_period)
    return out


def dedx_tables(target, e_max: float, n: int = 8193) -> tuple[Cubic, Cubic]:
    """Collision stopping powers (MeV/mm) of e+ and e- in ``target`` (numpy reference
    :func:`x17scan.sim.target.collision_dedx`) tabulated on [DEDX_E_MIN, ``e_max``] MeV."""
    from x17scan.sim.target import collision_dedx

    e_max = max(e_max, 2 * DEDX_E_MIN)
    return tuple(Cubic.build(lambda e, pos=pos: collision_dedx(e, target, pos), DEDX_E_MIN,
                             e_max, n) for pos in (True, False))


def sigma_table(gg: bool, c: float, w_nominal: float, n: int = 4097) -> Cubic:
    """Window cross section (mb) vs sqrt(s) (MeV), from :mod:`x17scan.physics.xsec`,
    tabulated on +-10 % of ``w_nominal``."""
    from x17scan.physics import xsec

    fn = xsec.sigma_gg if gg else xsec.sigma_bhabha
    return Cubic.build(lambda w: fn(w, c), 0.9 * w_nominal, 1.1 * w_nominal, n)


def guide_table(cdf: np.ndarray, total: float, bits: int = 14) -> np.ndarray:
    """Guide (index) table for :func:`_lookup`: entry k is the last node with
    cdf <= (k / 2^bits) total, so a lookup scans only a few nodes."""
    g = 1 << bits
    levels = (np.arange(g + 1) / g) * total
    idx = np.searchsorted(cdf, levels, side="right") - 1
    return np.clip(idx, 0, cdf.size - 2).astype(np.int64)


# -- random numbers ------------------------------------------------------------------------------
# A xoshiro256++ stream (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
# ACM TOMS 47 (2021) 36) per kernel call, its 256-bit state drawn from the caller's numpy
# Generator; inlined it costs ~1 ns a number where a call into the Generator's bit generator
# costs 5-10. Gaussians: the 256-layer ziggurat of NumPy's random_standard_normal (Marsaglia &
# Tsang, J. Stat. Softw. 5 (2000) 8), tables rebuilt below from its r and v; Gamma(>= 1):
# Marsaglia & Tsang, ACM TOMS 26 (2000) 363, as NumPy's random_standard_gamma.
_U64 = np.uint64
_ZIG_R = 3.6541528853610087963519472518
_ZIG_V = 0.00492867323399


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def f(x):
        return math.exp(-0.5 * x * x)

    m = 2.0 ** 52
    ki, wi, fi = np.zeros(256, np.int64), np.zeros(256), np.zeros(256)
    q = _ZIG_V / f(_ZIG_R)
    ki[0] = int(_ZIG_R / q * m)
    wi[0], wi[255] = q / m, _ZIG_R / m
    fi[0], fi[255] = 1.0, f(_ZIG_R)
    dn = tn = _ZIG_R
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + f(dn)))
        ki[i + 1] = int(dn / tn * m)
        tn = dn
        fi[i], wi[i] = f(dn), dn / m
    return ki, wi, fi


_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256++ state (4 uint64) drawn from ``rng``."""
    st = rng.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    if not st.any():  # the one state xoshiro cannot leave (probability 2^-256)
        st[0] = 1
    return st


@numba.njit(**_JIT)
def _next64(st):
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    x = s0 + s3
    out = ((x << _U64(23)) | (x >> _U64(41))) + s0
    t = s1 << _U64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    st[0] = s0
    st[1] = s1
    st[2] = s2
    st[3] = (s3 << _U64(45)) | (s3 >> _U64(19))
    return out


@numba.njit(**_JIT)
def _uniform(st):
    """Uniform double in [0, 1) (53 random bits, as NumPy's next_double)."""
    return float(_next64(st) >> _U64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(**_JIT)
def _normal_slow(st, x, idx):
    """The rare (~1 %) branches of the ziggurat: tail or wedge; NaN = reject and redraw."""
    if idx == 0:  # the tail beyond r (Marsaglia 1964)
        while True:
            xx = -math.log1p(-_uniform(st)) / _ZIG_R
            yy = -math.log1p(-_uniform(st))
            if yy + yy > xx * xx:
                return math.copysign(_ZIG_R + xx, x)
    if (_ZIG_F[idx - 1] - _ZIG_F[idx]) * _uniform(st) + _ZIG_F[idx] < math.exp(-0.5 * x * x):
        return x
    return math.nan


@numba.njit(**_JIT)
def _normal(st):
    """Standard normal deviate (NumPy's ziggurat; the sign from bit 8, branch-free)."""
    while True:
        r = _next64(st)
        idx = np.int64(r & _U64(0xFF))
        rabs = np.int64((r >> _U64(9)) & _U64(0x000FFFFFFFFFFFFF))
        x = (1.0 - 2.0 * float(np.int64((r >> _U64(8)) & _U64(1)))) * float(rabs) * _ZIG_W[idx]
        if rabs < _ZIG_K[idx]:
            return x
        y = _normal_slow(st, x, idx)
        if y == y:
            return y


@numba.njit(**_JIT)
def _gamma_ge1(st, shape):
    """Gamma(``shape``) deviate for shape >= 1 (Marsaglia-Tsang squeeze and rejection)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _normal(st)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _uniform(st)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


# -- scalar helpers ------------------------------------------------------------------------------
@numba.njit(**_JIT)
def _cubic(x, x0, h, f, n):
    """4-point Lagrange interpolation of the table f (n nodes x0 + k h) at x inside it."""
    t = (x - x0) / h
    k = min(max(int(t) - 1, 0), n - 4)
    u = t - k  # in [1, 2] away from the ends
    f0, f1, f2, f3 = f[k], f[k + 1], f[k + 2], f[k + 3]
    a = u - 1.0
    b = u - 2.0
    c = u - 3.0
    return (-f0 * a * b * c + 3.0 * f1 * u * b * c - 3.0 * f2 * u * a * c
            + f3 * u * a * b) * (1.0 / 6.0)


@numba.njit(**_JIT)
def _tan(x):
    """tan(x); for |x| < 0.01 (every scattering and divergence angle) by its Taylor series to
    x^7, whose truncation error (62/2835 x^9) is below the double rounding of the result."""
    if abs(x) < 0.01:
        x2 = x * x
        return x + x * x2 * (1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (17.0 / 315.0)))
    return math.tan(x)


@numba.njit(**_JIT)
def _lookup(u, cdf, guide, n_guide, n, total):
    """Cell i and fraction t with cdf[i] <= u total < cdf[i + 1] (t clipped to [0, 1]) for a
    uniform u in [0, 1): inverse of a tabulated non-decreasing CDF of n nodes."""
    target = u * total
    i = guide[int(u * (n_guide - 1))]
    last = n - 2
    while i < last and cdf[i + 1] <= target:
        i += 1
    den = cdf[i + 1] - cdf[i]
    t = (target - cdf[i]) / den if den > 0.0 else 0.0
    return i, min(max(t, 0.0), 1.0)


@numba.njit(**_JIT)
def _basis(dx, dy, dz):
    """Two unit vectors orthogonal to the unit vector d and to each other (same choice as
    :func:`x17scan.sim.target.orthonormal_basis`)."""
    if abs(dx) < 0.9:  # d x (1, 0, 0)
        ux, uy, uz = 0.0, dz, -dy
    else:  # d x (0, 1, 0)
        ux, uy, uz = -dz, 0.0, dx
    inv = 1.0 / math.sqrt(ux * ux + uy * uy + uz * uz)
    ux *= inv
    uy *= inv
    uz *= inv
    return ux, uy, uz, dy * uz - dz * uy, dz * ux - dx * uz, dx * uy - dy * ux


@numba.njit(**_JIT)
def _dedx(e, c0, ln_wp, positron):
    """Mean collision stopping power (MeV/mm), the formula of
    :func:`x17scan.sim.target.collision_dedx` with ln(tau^2 (tau + 2)/2) - ln(beta^2 gamma^2)
    simplified to ln(tau/2) (beta^2 gamma^2 = tau (tau + 2))."""
    tau = max(e / M_E - 1.0, 1e-9)
    ig2 = 1.0 / ((tau + 1.0) * (tau + 1.0))
    b2 = 1.0 - ig2
    if positron:
        y = 1.0 / (tau + 2.0)
        f = 2.0 * _LN2 - b2 / 12.0 * (23.0 + y * (14.0 + y * (10.0 + 4.0 * y)))
    else:
        f = 1.0 - b2 + (tau * tau / 8.0 - (2.0 * tau + 1.0) * _LN2) * ig2
    return c0 / b2 * (math.log(0.5 * tau) - 2.0 * ln_wp + 1.0 + f)


@numba.njit(**_JIT)
def _theta0(e, x_x0):
    """Highland width (rad) for an e+- of total energy ``e`` through ``x_x0`` radiation
    lengths (:func:`x17scan.sim.target.highland_theta0`); 0 for x_x0 <= 0 or p = 0."""
    p2 = e * e - _M2
    if not (x_x0 > 0.0 and p2 > 0.0):
        return 0.0
    b2 = p2 / (e * e)
    br = max(1.0 + 0.038 * math.log(x_x0 / b2), 0.0)
    return 13.6 * e / p2 * math.sqrt(x_x0) * br


@numba.njit(**_JIT)
def _brems_x(st, t_x0):
    """-ln(E/E0) after ``t_x0`` radiation lengths: Gamma(4 t/3) (Bethe-Heitler), sampled as
    Gamma(1 + a) U^(1/a) with the exact fast path described at ``_BH_CUT``."""
    a = _BH_B * t_x0
    if not a > 0.0:
        return 0.0
    u = _uniform(st)
    # u < 1 - 50 a <= e^(-50 a) implies ln(u)/a < -50: no logarithm needed
    if u < 1.0 + _BH_CUT * a or u <= 0.0:
        return 0.0
    z = math.log(u) / a
    if z < _BH_CUT:
        return 0.0
    return _gamma_ge1(st, 1.0 + a) * math.exp(z)


@numba.njit(**_JIT)
def _stopping(e, par, positron, tab, tab_n, tab_x0, tab_h):
    """Collision stopping power (MeV/mm) from the table when ``e`` is on it (tab_n > 0)."""
    if tab_n > 0 and e >= tab_x0 and e <= tab_x0 + tab_h * (tab_n - 1):
        return _cubic(e, tab_x0, tab_h, tab, tab_n)
    return _dedx(e, par[P_C0], par[P_LNWP], positron)


@numba.njit(**_JIT)
def _lose(st, e, path, par, positron, tab, tab_n, tab_x0, tab_h):
    """Energy (MeV) after ``path`` mm: mean collision loss at the entry energy, then
    Bethe-Heitler bremsstrahlung (:func:`x17scan.sim.target.lose_energy`)."""
    e1 = e - _stopping(e, par, positron, tab, tab_n, tab_x0, tab_h) * path
    x = _brems_x(st, path / par[P_X0])
    if x > 0.0:
        e1 *= math.exp(-x)
    return max(e1, _E_FLOOR)


@numba.njit(**_JIT)
def _scatter(st, dx, dy, dz, theta0):
    """Unit direction d deflected by Gaussian projected angles of width ``theta0`` in two
    orthogonal planes (:func:`x17scan.sim.target.scatter`)."""
    a1 = theta0 * _normal(st)
    a2 = theta0 * _normal(st)
    if theta0 == 0.0:
        return dx, dy, dz
    ux, uy, uz, vx, vy, vz = _basis(dx, dy, dz)
    t1 = _tan(a1)
    t2 = _tan(a2)
    # d, u, v orthonormal: |d + t1 u + t2 v|^2 = 1 + t1^2 + t2^2
    inv = 1.0 / math.sqrt(1.0 + t1 * t1 + t2 * t2)
    return ((dx + t1 * ux + t2 * vx) * inv, (dy + t1 * uy + t2 * vy) * inv,
            (dz + t1 * uz + t2 * vz) * inv)


@numba.njit(**_JIT)
def _boost(e, px, py, pz, bx, by, bz, gam, g2):
    """Four-vector (e, p) seen from a frame moving with -beta (gamma = ``gam``,
    ``g2`` = gamma^2/(gamma + 1) = (gamma - 1)/beta^2)."""
    bp = bx * px + by * py + bz * pz
    coef = g2 * bp + gam * e
    return gam * (e + bp), px + coef * bx, py + coef * by, pz + coef * bz


@numba.njit(**_JIT)
def _sigma_bhabha(w, c):
    """Tree-level Bhabha window cross section (mb), :func:`x17scan.physics.xsec.sigma_bhabha`."""
    s = w * w
    a = s - 2.0 * _M2
    p2 = 0.25 * s - _M2
    t_lo = -2.0 * p2 * (1.0 + c)
    t_hi = -2.0 * p2 * (1.0 - c)
    f = 0.0
    for k in range(2):
        t = t_hi if k == 0 else t_lo
        sg = 1.0 if k == 0 else -1.0
        x1 = t - 2.0 * _M2
        x2 = a + t
        sch = 2.0 / (s * s) * ((x1 * x1 * x1 + x2 * x2 * x2) / 3.0 + 4.0 * _M2 * s * t)
        tch = 2.0 * (-2.0 * a * a / t + t)
        inter = 4.0 / s * ((2.0 * a + 4.0 * _M2) * t + 0.5 * t * t)
        f += sg * (sch + tch + inter)
    logc = 2.0 * (2.0 * a + 4.0 * _M2) + 4.0 / s * a * (a + 4.0 * _M2)
    integral = f + logc * math.log(t_hi / t_lo)
    return _E4 * integral / (2.0 * p2) / (32.0 * math.pi * s) * HBARC2_MEV2_MB


@numba.njit(**_JIT)
def _sigma_gg(w, c):
    """Tree-level gamma gamma window cross section (mb), :func:`x17scan.physics.xsec.sigma_gg`."""
    s = w * w
    e2 = 0.25 * s
    e = math.sqrt(e2)
    p = math.sqrt(e2 - _M2)
    d = e2 - p * p * c * c
    ell = math.atanh(p * c / e)
    i0 = 2.0 * c
    i1 = 2.0 * ell / (p * e)
    i2 = c / (e2 * d) + ell / (e2 * e * p)
    integral = -i0 + (2.0 * e2 + 2.0 * _M2) * i1 - 2.0 * _M2 * _M2 * i2
    return math.pi * ALPHA * ALPHA / s * (e / p) * integral * HBARC2_MEV2_MB


@numba.njit(**_JIT)
def _radial_motion(st, q, rad_cdf, rad_guide, n_guide, n):
    """(p_z, |p|) in a.u. of an isotropic momentum density whose projection is the tabulated
    J: |p| from its radial law -2 p J'(p) (piecewise-linear J: density proportional to p
    inside a grid cell, inverted exactly), p_z = |p| cos with cos uniform. The joint law is
    the one of ``ElectronMotion.sample_pz`` then ``sample_p``: density -J'(|p|) on |p| >= |p_z|,
    including the atom at the end of the grid (everything beyond q_max sits at q_max)."""
    i, t = _lookup(_uniform(st), rad_cdf, rad_guide, n_guide, n, 1.0)
    q0, q1 = q[i], q[i + 1]
    p = math.sqrt(q0 * q0 + t * (q1 * q1 - q0 * q0))
    return p * (2.0 * _uniform(st) - 1.0), p


@numba.njit(**_JIT)
def _density(apz, q, j, n):
    """J(|p_z|)/Z (1/a.u.) by linear interpolation on the uniform grid, 0 beyond it."""
    last = n - 1
    if apz > q[last]:
        return 0.0
    i = min(int(apz / (q[last] / last)), last - 1)
    return j[i] + (apz - q[i]) / (q[i + 1] - q[i]) * (j[i + 1] - j[i])


@numba.njit(**_JIT)
def _p_given_pz(u, apz, q, j, n):
    """|p| (a.u.) given |p_z|: J^-1(u J(|p_z|)) (``ElectronMotion.sample_p``), exact for the
    piecewise-linear J; at least |p_z|."""
    last = n - 1
    target = u * _density(apz, q, j, n)
    if target <= j[last]:
        return max(q[last], apz)
    lo = min(int(apz / (q[last] / last)), last - 1)  # j[lo] >= J(|p_z|) >= target > j[last]
    hi = last
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if j[mid] >= target:
            lo = mid
        else:
            hi = mid
    p = q[lo] + (j[lo] - target) / (j[lo] - j[hi]) * (q[hi] - q[lo])
    return max(p, apz)


@numba.njit(**_JIT)
def _beam_direction(st, par):
    """Beam positron direction: independent Gaussian x/y divergence angles."""
    dx = _tan(par[P_DX] * _normal(st))
    dy = _tan(par[P_DY] * _normal(st))
    inv = 1.0 / math.sqrt(dx * dx + dy * dy + 1.0)
    return dx * inv, dy * inv, inv


@numba.njit(**_JIT)
def _incoming_energy(st, par, tab, tab_n, tab_x0, tab_h):
    """A beam positron up to its vertex, the part that decides a proposal's acceptance:
    energy at the front face, direction, depth, path and energy at the vertex."""
    e0 = max(par[P_E] + par[P_SIGE] * _normal(st), 2.0 * M_E)
    dx, dy, dz = _beam_direction(st, par)
    z = par[P_T] * _uniform(st)
    path = z / dz
    e = _lose(st, e0, path, par, True, tab, tab_n, tab_x0, tab_h)
    return e0, dx, dy, dz, z, path, e


@numba.njit(**_JIT)
def _incoming_rest(st, par, e0, dx, dy, dz, path):
    """The rest of the incoming positron (accepted proposals): beam spot, vertex (x, y)
    on the straight line from the front face, direction after scattering before the vertex."""
    x = par[P_SX] * _normal(st) + dx * path
    y = par[P_SY] * _normal(st) + dy * path
    ddx, ddy, ddz = _scatter(st, dx, dy, dz, _theta0(e0, path / par[P_X0]))
    return x, y, ddx, ddy, ddz


@numba.njit(**_JIT)
def _outgoing(st, e, px, py, pz, depth, par, positron, tab, tab_n, tab_x0, tab_h):
    """An outgoing e+- (lab e, p) through the rest of the target: (e, p) after it."""
    inv = 1.0 / math.sqrt(px * px + py * py + pz * pz)
    dx, dy, dz = px * inv, py * inv, pz * inv
    path = (par[P_T] - depth) / max(dz, 1e-3)
    dx, dy, dz = _scatter(st, dx, dy, dz, _theta0(e, path / par[P_X0]))
    e2 = _lose(st, e, path, par, positron, tab, tab_n, tab_x0, tab_h)
    p2 = math.sqrt(max(e2 * e2 - _M2, 0.0))
    return e2, p2 * dx, p2 * dy, p2 * dz


@numba.njit(**_JIT)
def _bunch_time(st, par):
    """A random micro-bunch, flat inside it (:func:`x17scan.sim.target.bunch_times`)."""
    k = math.floor(_uniform(st) * par[P_NMICRO])
    return k * par[P_MPER] + _uniform(st) * par[P_MLEN]


@numba.njit(**_JIT)
def _two_body(te, tpx, tpy, tpz, w, ae, apx, apy, apz, c, phi, mass):
    """Two bodies of ``mass`` from a system (te, tp) of invariant mass ``w``: body 0 at CM
    polar angle arccos(c), azimuth phi about the CM direction of the four-vector a (the
    incoming positron), body 1 opposite (:func:`x17scan.sim.kinematics.two_body`)."""
    inv_e = 1.0 / te
    bx, by, bz = tpx * inv_e, tpy * inv_e, tpz * inv_e
    gam = te / w
    g2 = gam * gam / (gam + 1.0)
    _, ax, ay, az = _boost(ae, apx, apy, apz, -bx, -by, -bz, gam, g2)
    inv = 1.0 / math.sqrt(ax * ax + ay * ay + az * az)
    zx, zy, zz = ax * inv, ay * inv, az * inv
    ux, uy, uz, vx, vy, vz = _basis(zx, zy, zz)
    s = math.sqrt(max(1.0 - c * c, 0.0))
    sc = s * math.cos(phi)
    ss = s * math.sin(phi)
    ps = math.sqrt(max(0.25 * w * w - mass * mass, 0.0))
    nx = ps * (c * zx + sc * ux + ss * vx)
    ny = ps * (c * zy + sc * uy + ss * vy)
    nz = ps * (c * zz + sc * uz + ss * vz)
    es = 0.5 * w
    e0, p0x, p0y, p0z = _boost(es, nx, ny, nz, bx, by, bz, gam, g2)
    e1, p1x, p1y, p1z = _boost(es, -nx, -ny, -nz, bx, by, bz, gam, g2)
    return e0, p0x, p0y, p0z, e1, p1x, p1y, p1z


@numba.njit(**_JIT)
def _electron_vector(st, pz, p, dx, dy, dz):
    """Electron momentum (MeV): ``pz`` a.u. along the unit vector d, the transverse part
    sqrt(p^2 - pz^2) a.u. at a uniform azimuth."""
    pt = math.sqrt(max(p * p - pz * pz, 0.0))
    phi = _TWO_PI * _uniform(st)
    ux, uy, uz, vx, vy, vz = _basis(dx, dy, dz)
    a = pt * math.cos(phi)
    b = pt * math.sin(phi)
    return ((pz * dx + a * ux + b * vx) * _AU, (pz * dy + a * uy + b * vy) * _AU,
            (pz * dz + a * uz + b * vz) * _AU)


@numba.njit(**_JIT)
def _put(e_out, p_out, i, k, e, px, py, pz):
    e_out[i, k] = e
    p_out[i, k, 0] = px
    p_out[i, k, 1] = py
    p_out[i, k, 2] = pz


@numba.njit(**_JIT)
def _put_event(e_out, p_out, vertex, t0, e_beam, i, a, b, x, y, z, t, e):
    """Row i of the generator outputs: bodies a and b as (E, px, py, pz), vertex (x, y, z),
    bunch time t and the positron energy e at the vertex."""
    _put(e_out, p_out, i, 0, a[0], a[1], a[2], a[3])
    _put(e_out, p_out, i, 1, b[0], b[1], b[2], b[3])
    vertex[i, 0] = x
    vertex[i, 1] = y
    vertex[i, 2] = z
    t0[i] = t
    e_beam[i] = e


# -- chunk kernels -------------------------------------------------------------------------------
@numba.njit(**_JIT)
def background_chunk(state, i0, n, max_prop, par_a, gg, at_rest, q_a, rad_cdf_a, rad_guide_a,
                     cos_grid_a, cos_cdf_a, cos_guide_a, c_gen, sigma_env, sig_tab_a, sig_x0,
                     sig_h, dpos_a, dele_a, d_x0, d_h, vertex, t0, e_out, p_out, e_beam,
                     sqrt_s, cos_out):
    """Unweighted Bhabha (``gg`` False) or gamma gamma events into rows i0..n-1 of the output
    arrays (see ``BackgroundGenerator``), stopping early after ``max_prop`` proposals (the
    caller resumes with the same state: the stream does not depend on where it stops).
    Returns (rows filled up to, proposals, sum of their window cross sections (mb),
    proposals above the envelope)."""
    st, par = _ptr(state), _ptr(par_a)
    q, rad_cdf, rad_guide = _ptr(q_a), _ptr(rad_cdf_a), _ptr(rad_guide_a)
    n_q, n_rg = q_a.size, rad_guide_a.size
    cos_grid, cos_cdf, cos_guide = _ptr(cos_grid_a), _ptr(cos_cdf_a), _ptr(cos_guide_a)
    n_cos, n_cg = cos_grid_a.size, cos_guide_a.size
    sig_tab, n_sig = _ptr(sig_tab_a), sig_tab_a.size
    sig_hi = sig_x0 + sig_h * (n_sig - 1)
    dpos, dele, n_d = _ptr(dpos_a), _ptr(dele_a), dpos_a.size
    n_prop = 0
    sig_sum = 0.0
    n_over = 0
    mass = 0.0 if gg else M_E
    i = i0
    while i < n and n_prop < max_prop:
        e0, dx, dy, dz, z, path, e = _incoming_energy(st, par, dpos, n_d, d_x0, d_h)
        if at_rest:
            pz = 0.0
            p = 0.0
        else:
            pz, p = _radial_motion(st, q, rad_cdf, rad_guide, n_rg, n_q)
        pp = math.sqrt(max(e * e - _M2, 0.0))
        pzm = pz * _AU
        pm = p * _AU
        s = (e + M_E) * (e + M_E) - (pp * pp + 2.0 * pp * pzm + pm * pm)
        w = math.sqrt(max(s, 0.0))
        sig = 0.0
        if w >= sig_x0 and w <= sig_hi:
            sig = _cubic(w, sig_x0, sig_h, sig_tab, n_sig)
        elif w > 2.001 * M_E:  # a positron that radiated almost all its energy can end below
            sig = _sigma_gg(w, c_gen) if gg else _sigma_bhabha(w, c_gen)
        n_prop += 1
        sig_sum += sig
        if sig > sigma_env:
            n_over += 1
        if not _uniform(st) * sigma_env < sig:
            continue
        x, y, ddx, ddy, ddz = _incoming_rest(st, par, e0, dx, dy, dz, path)
        epx, epy, epz = _electron_vector(st, pz, p, ddx, ddy, ddz)
        ppx, ppy, ppz = pp * ddx, pp * ddy, pp * ddz
        i_c, t_c = _lookup(_uniform(st), cos_cdf, cos_guide, n_cg, n_cos, 1.0)
        c = cos_grid[i_c] + t_c * (cos_grid[i_c + 1] - cos_grid[i_c])
        phi = _TWO_PI * _uniform(st)
        # body 0 along +c: the positron for Bhabha (dsigma's angle), a photon for gamma gamma
        ea, pax, pay, paz, eb, pbx, pby, pbz = _two_body(
            e + M_E, ppx + epx, ppy + epy, ppz + epz, w, e, ppx, ppy, ppz, c, phi, mass)
        if gg:
            cos_out[i] = c
        else:
            ea, pax, pay, paz = _outgoing(st, ea, pax, pay, paz, z, par, True, dpos, n_d,
                                          d_x0, d_h)
            eb, pbx, pby, pbz = _outgoing(st, eb, pbx, pby, pbz, z, par, False, dele, n_d,
                                          d_x0, d_h)
            ea, pax, pay, paz, eb, pbx, pby, pbz = eb, pbx, pby, pbz, ea, pax, pay, paz
            cos_out[i] = -c
        _put_event(e_out, p_out, vertex, t0, e_beam, i, (ea, pax, pay, paz),
                   (eb, pbx, pby, pbz), x, y, z, _bunch_time(st, par), e)
        sqrt_s[i] = w
        i += 1
    return i, n_prop, sig_sum, n_over


@numba.njit(**_JIT)
def signal_chunk(state, i0, n, max_prop, par_a, q_a, j_a, e_res, env, mass, va, c_gen, dpos_a,
                 dele_a, d_x0, d_h, vertex, t0, e_out, p_out, e_beam, cos_out):
    """Unweighted resonant X -> e+e- events into rows i0..n-1 (see ``SignalGenerator``; early
    stop and return as :func:`background_chunk`, with the sum of the weights (1/a.u.)): a
    proposal is the positron at its vertex, kept with probability J(p_z)(1 - alpha p_z)^2/
    ``env`` at the p_z that puts the pair on resonance."""
    st, par, q, j = _ptr(state), _ptr(par_a), _ptr(q_a), _ptr(j_a)
    n_q = q_a.size
    dpos, dele, n_d = _ptr(dpos_a), _ptr(dele_a), dpos_a.size
    n_prop = 0
    w_sum = 0.0
    n_over = 0
    last_q = q_a[n_q - 1]
    ymax = c_gen + c_gen * c_gen * c_gen / 3.0
    i = i0
    while i < n and n_prop < max_prop:
        e0, dx, dy, dz, z, path, e = _incoming_energy(st, par, dpos, n_d, d_x0, d_h)
        pz = (1.0 - e_res / e) / ALPHA
        apz = abs(pz)
        wt = 0.0
        if apz <= last_q:
            om = 1.0 - pz * ALPHA
            wt = _density(apz, q, j, n_q) * om * om
        n_prop += 1
        w_sum += wt
        if wt > env:
            n_over += 1
        if not _uniform(st) * env < wt:
            continue
        x, y, ddx, ddy, ddz = _incoming_rest(st, par, e0, dx, dy, dz, path)
        p = _p_given_pz(_uniform(st), apz, q, j, n_q)
        epx, epy, epz = _electron_vector(st, pz, p, ddx, ddy, ddz)
        pp = math.sqrt(max(e * e - _M2, 0.0))
        ppx, ppy, ppz = pp * ddx, pp * ddy, pp * ddz
        tpx, tpy, tpz = ppx + epx, ppy + epy, ppz + epz
        te = math.sqrt(mass * mass + tpx * tpx + tpy * tpy + tpz * tpz)
        u = _uniform(st)
        if va:  # 1 + cos^2 on [-c, c]: inverse CDF (Cardano)
            h = 1.5 * (2.0 * u - 1.0) * ymax
            r = math.sqrt(h * h + 1.0)
            c = np.cbrt(h + r) + np.cbrt(h - r)
        else:
            c = (2.0 * u - 1.0) * c_gen
        phi = _TWO_PI * _uniform(st)
        ea, pax, pay, paz, eb, pbx, pby, pbz = _two_body(
            te, tpx, tpy, tpz, mass, e, ppx, ppy, ppz, c, phi, M_E)
        ea, pax, pay, paz = _outgoing(st, ea, pax, pay, paz, z, par, False, dele, n_d, d_x0,
                                      d_h)
        eb, pbx, pby, pbz = _outgoing(st, eb, pbx, pby, pbz, z, par, True, dpos, n_d, d_x0,
                                      d_h)
        _put_event(e_out, p_out, vertex, t0, e_beam, i, (ea, pax, pay, paz),
                   (eb, pbx, pby, pbz), x, y, z, _bunch_time(st, par), e)
        cos_out[i] = c
        i += 1
    return i, n_prop, w_sum, n_over


@numba.njit(**_JIT)
def incoming_chunk(state, n, par_a, vertex, e_out, d_out):
    """``n`` beam positrons at their vertex (position, energy, direction after scattering),
    as the generator kernels draw them (stopping powers from the formula)."""
    st, par = _ptr(state), _ptr(par_a)
    for i in range(n):
        e0, dx, dy, dz, z, path, e = _incoming_energy(st, par, par, 0, 0.0, 1.0)
        x, y, ddx, ddy, ddz = _incoming_rest(st, par, e0, dx, dy, dz, path)
        vertex[i, 0] = x
        vertex[i, 1] = y
        vertex[i, 2] = z
        e_out[i] = e
        d_out[i, 0] = ddx
        d_out[i, 1] = ddy
        d_out[i, 2] = ddz


@numba.njit(**_JIT)
def traverse_chunk(state, e, d, path, par_a, positron, do_scatter, e_out, d_out):
    """Arrays of e+- (energies, unit directions) through ``path`` mm of target: scattering
    (if ``do_scatter``; Highland width at the entry energy), then the energy loss."""
    st, par = _ptr(state), _ptr(par_a)
    for i in range(e.size):
        dx, dy, dz = d[i, 0], d[i, 1], d[i, 2]
        if do_scatter:
            dx, dy, dz = _scatter(st, dx, dy, dz, _theta0(e[i], path[i] / par[P_X0]))
        d_out[i, 0] = dx
        d_out[i, 1] = dy
        d_out[i, 2] = dz
        e_out[i] = _lose(st, e[i], path[i], par, positron, par, 0, 0.0, 1.0)


@numba.njit(**_JIT)
def brems_chunk(state, t_x0, out):
    """-ln(E/E0) after ``t_x0`` radiation lengths (Bethe-Heitler Gamma(4 t/3) law)."""
    st = _ptr(state)
    for i in range(t_x0.size):
        out[i] = _brems_x(st, t_x0[i])


@numba.njit(**_JIT)
def scatter_chunk(state, d, theta0, d_out):
    """Unit directions deflected by Gaussian projected angles of widths ``theta0``."""
    st = _ptr(state)
    for i in range(theta0.size):
        dx, dy, dz = _scatter(st, d[i, 0], d[i, 1], d[i, 2], theta0[i])
        d_out[i, 0] = dx
        d_out[i, 1] = dy
        d_out[i, 2] = dz


@numba.njit(**_JIT)
def draw_chunk(state, kind, x, out):
    """Elementary draws, for tests: kind 0 uniform, 1 normal, 2 Gamma(x[i]) (x >= 1)."""
    st = _ptr(state)
    for i in range(out.size):
        if kind == 0:
            out[i] = _uniform(st)
        elif kind == 1:
            out[i] = _normal(st)
        else:
            out[i] = _gamma_ge1(st, x[i])


@numba.njit(**_JIT)
def motion_chunk(state, q_a, rad_cdf_a, rad_guide_a, pz_out, p_out):
    """Electron (p_z, |p|) pairs (a.u.) from the radial sampler of the background kernel."""
    st, q, rc, rg = _ptr(state), _ptr(q_a), _ptr(rad_cdf_a), _ptr(rad_guide_a)
    for i in range(pz_out.size):
        pz_out[i], p_out[i] = _radial_motion(st, q, rc, rg, rad_guide_a.size, q_a.size)


@numba.njit(**_JIT)
def scalar_table(kind, x, y, out):
    """Deterministic helpers on arrays (tables, tests): kind 0 Bhabha window cross section
    sigma(w = x, c = y[0]); 1 gamma gamma; 2 e+ dE/dx(e = x) with (c0, ln wp) = y; 3 e-
    dE/dx; 4 Highland theta0(e = x, x/X0 = y[i]); 5 cubic interpolation at x of the table
    y[3:] on the grid y[0] + k y[1] (y[2] unused)."""
    for i in range(x.size):
        if kind == 0:
            out[i] = _sigma_bhabha(x[i], y[0])
        elif kind == 1:
            out[i] = _sigma_gg(x[i], y[0])
        elif kind == 2 or kind == 3:
            out[i] = _dedx(x[i], y[0], y[1], kind == 2)
        elif kind == 4:
            out[i] = _theta0(x[i], y[i])
        else:
            out[i] = _cubic(x[i], y[0], y[1], y[3:], y.size - 3)
