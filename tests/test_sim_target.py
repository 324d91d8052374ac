"""Passage through the target: energy-loss and multiple-scattering moments against their
formulas, beam spot/divergence/timing moments, interaction depth."""

import math

import numpy as np
import pytest
from scipy import integrate

from x17scan.physics.constants import DIAMOND, DIAMOND_100UM, M_E, Target
from x17scan.sim.generators import incoming
from x17scan.sim.target import (
    BeamSetup,
    brems_fraction_kept,
    bunch_times,
    collision_dedx,
    highland_theta0,
    sample_beam,
    scatter,
)

RNG = np.random.default_rng


def test_bethe_heitler_moments():
    """-ln y ~ Gamma(4t/3): E[y] = 2^(-4t/3), E[y^2] = 3^(-4t/3) (Laplace transform of the
    Gamma law), evaluated for t = 0.02 X0."""
    t = 0.02
    y = brems_fraction_kept(np.full(400_000, t), RNG(1))
    for k, ref in ((1, 2 ** (-4 * t / 3)), (2, 3 ** (-4 * t / 3))):
        m = np.mean(y**k)
        assert m == pytest.approx(ref, abs=5 * np.std(y**k) / math.sqrt(y.size))


def test_collision_loss_scale():
    """Mean collision loss of a 282 MeV positron in 100 um of diamond: ~0.06 MeV
    (docs/physics.md §9); PDG K = 0.307075 MeV cm^2/mol is reproduced from the constants."""
    from x17scan.sim import target

    assert target._K_BETHE == pytest.approx(0.307075, rel=1e-5)
    loss = float(collision_dedx(282.0, DIAMOND_100UM)) * DIAMOND_100UM.thickness
    assert loss == pytest.approx(0.06, rel=0.15)
    # above the density-effect onset only the ln(T_max) rise of the unrestricted loss is left:
    # d(dE/dx)/d ln E = K/2 Z/A rho (one unit of the log), i.e. ln 2 of it from 200 to 400 MeV
    slope = 0.5 * target._K_BETHE * DIAMOND.z / DIAMOND.a * DIAMOND.density * 0.1
    diff = float(collision_dedx(400.0, DIAMOND_100UM) - collision_dedx(200.0, DIAMOND_100UM))
    assert diff == pytest.approx(slope * math.log(2), rel=0.02)


def test_highland_value_and_scatter_width():
    # PDG eq. 34.16 by hand: p = 1 GeV, beta = 1, x/X0 = 0.01
    ref = 13.6 / 1000 * 0.1 * (1 + 0.038 * math.log(0.01))
    assert float(highland_theta0(1000.0, 1.0, 0.01)) == pytest.approx(ref, rel=1e-12)
    n = 200_000
    d = np.tile([0.0, 0.0, 1.0], (n, 1))
    out = scatter(d, np.full(n, 2e-3), RNG(2))
    # projected angles on the x and y planes (d along z): Gaussian with sigma = theta0
    for k in (0, 1):
        ang = np.arctan2(out[:, k], out[:, 2])
        assert np.std(ang) == pytest.approx(2e-3, rel=4 / math.sqrt(2 * n) * 2)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)


def test_beam_moments_and_depth():
    beam = BeamSetup(e_mean=282.0, sigma_e=0.705, spot=(1.0, 2.0), divergence=(1e-3, 3e-4),
                     target=DIAMOND_100UM)
    n = 200_000
    xy, d, e = sample_beam(n, beam, RNG(3))
    assert np.std(xy, axis=0) == pytest.approx([1.0, 2.0], rel=0.01)
    ax = np.arctan(d[:, 0] / d[:, 2])
    ay = np.arctan(d[:, 1] / d[:, 2])
    # independent x/y divergence (not PadmeMC's azimuth-dependent one, detector.md §10)
    assert np.std(ax) == pytest.approx(1e-3, rel=0.01)
    assert np.std(ay) == pytest.approx(3e-4, rel=0.01)
    assert abs(np.corrcoef(ax**2, ay**2)[0, 1]) < 0.01
    assert np.mean(e) == pytest.approx(282.0, abs=4 * 0.705 / math.sqrt(n))
    inc = incoming(n, beam, RNG(4))
    # the generators' positrons at their vertex: spot, and the divergence widened in quadrature
    # by the Highland scattering over the depth (uniform in [0, 0.1] mm; quadrature)
    assert np.std(inc.vertex[:, :2], axis=0) == pytest.approx([1.0, 2.0], rel=0.01)
    p = math.sqrt(282.0**2 - M_E**2)
    ms2 = integrate.quad(lambda z: float(highland_theta0(p, p / 282.0, z / DIAMOND.x0_mm))**2,
                         0.0, 0.1)[0] / 0.1
    for k, div in ((0, 1e-3), (1, 3e-4)):
        ang = np.arctan(inc.d[:, k] / inc.d[:, 2])
        assert np.std(ang) == pytest.approx(math.sqrt(div**2 + ms2), rel=0.01)
    z = inc.vertex[:, 2]
    assert z.min() >= 0 and z.max() <= 0.1
    assert np.mean(z) == pytest.approx(0.05, abs=4 * 0.1 / math.sqrt(12 * n))
    # mean loss before the vertex: collision (half the target) + Bethe-Heitler brems, whose
    # mean fraction over a uniform depth is 1 - int_0^1 2^(-4 t u/3) du
    t = 0.1 / DIAMOND.x0_mm
    b = 4 * t / 3 * math.log(2)
    brems = 282.0 * (1 - (1 - math.exp(-b)) / b)
    coll = float(collision_dedx(282.0, DIAMOND_100UM)) * 0.05
    loss = 282.0 - inc.e
    assert np.mean(loss) == pytest.approx(coll + brems, abs=5 * np.std(loss) / math.sqrt(n))


def test_bunch_times():
    beam = BeamSetup(e_mean=282.0, sigma_e=0.7)
    t = bunch_times(100_000, beam, RNG(5))
    assert t.min() >= 0 and t.max() < 250.0
    # inside a 0.150 ns micro-bunch every 0.5 ns
    assert np.all(np.mod(t, 0.5) < 0.150 + 1e-12)


def test_no_material_no_change():
    thin = Target(DIAMOND, 1e-15)
    beam = BeamSetup(e_mean=282.0, sigma_e=1e-9, spot=(0, 0), divergence=(0, 0), target=thin)
    inc = incoming(1000, beam, RNG(6))
    np.testing.assert_allclose(inc.e, 282.0, rtol=1e-9)
    assert np.all(inc.e > M_E)


# -- the kernels' random numbers and formulas ------------------------------------------------
def _xoshiro256pp_reference(state, n):
    """Pure-Python xoshiro256++ (Blackman & Vigna's reference C code, transcribed)."""
    mask = (1 << 64) - 1
    s = [int(x) for x in state]

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & mask

    out = []
    for _ in range(n):
        out.append((rotl((s[0] + s[3]) & mask, 23) + s[0]) & mask)
        t = (s[1] << 17) & mask
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_kernel_uniforms_are_xoshiro256pp():
    from x17scan.sim import _kernels

    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    out = np.empty(1000)
    _kernels.draw_chunk(state.copy(), 0, np.zeros(0), out)
    ref = np.array([(x >> 11) * 2.0**-53 for x in _xoshiro256pp_reference(state, 1000)])
    np.testing.assert_array_equal(out, ref)


def test_kernel_normal_and_gamma_laws():
    """Ziggurat normals and Marsaglia-Tsang Gamma(>= 1) against scipy's distributions
    (Kolmogorov-Smirnov), and the ziggurat tail (|x| > r = 3.654) frequency vs 2 Phi(-r)."""
    from scipy import stats

    from x17scan.sim import _kernels

    n = 400_000
    x = np.empty(n)
    _kernels.draw_chunk(_kernels.seed_state(RNG(10)), 1, np.zeros(0), x)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    p_tail = 2 * stats.norm.sf(_kernels._ZIG_R)
    k = np.sum(np.abs(x) > _kernels._ZIG_R)
    assert abs(k - n * p_tail) < 5 * math.sqrt(n * p_tail)
    for shape in (1.0013, 3.0):
        g = np.empty(100_000)
        _kernels.draw_chunk(_kernels.seed_state(RNG(11)), 2, np.full(g.size, shape), g)
        assert stats.kstest(g, stats.gamma(shape).cdf).pvalue > 1e-3


@pytest.mark.parametrize("t", [1e-3, 0.02, 0.6])
def test_bethe_heitler_sampler_vs_numpy_gamma(t):
    """The kernel's Gamma(1 + a) U^(1/a) sampler with its exact fast path against the previous
    sampler (numpy's gamma) for -ln y ~ Gamma(4t/3): same law (two-sample KS on y), down to the
    thin-target regime (t = 1e-3, a = 1.3e-3) where the fast path takes ~94 % of the draws."""
    from scipy import stats

    n = 200_000
    y_new = brems_fraction_kept(np.full(n, t), RNG(12))
    y_old = np.exp(-RNG(13).gamma(4 * t / 3, size=n))
    assert stats.ks_2samp(y_new, y_old).pvalue > 1e-3
    ref = 2 ** (-4 * t / 3)
    assert np.mean(y_new) == pytest.approx(ref, abs=5 * np.std(y_new) / math.sqrt(n))


def test_kernel_formulas_match_numpy_references():
    """The kernels' ports (cross sections, stopping powers, Highland) equal the numpy
    references to rounding, and their interpolation tables to < 1e-12 (sigma) / 1e-9 (dE/dx)."""
    from x17scan.physics import xsec
    from x17scan.sim import _kernels

    w = np.linspace(14.0, 19.0, 301)
    out = np.empty(w.size)
    c = 0.46
    for kind, ref in ((0, xsec.sigma_bhabha(w, c)), (1, xsec.sigma_gg(w, c))):
        _kernels.scalar_table(kind, w, np.array([c]), out)
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        tab = _kernels.sigma_table(kind == 1, c, 17.0)
        x = np.linspace(tab.x0, tab.hi, 5001)
        fine = np.empty(x.size)
        _kernels.scalar_table(5, x, np.concatenate(([tab.x0, tab.h, 0.0], tab.f)), fine)
        np.testing.assert_allclose(fine, (xsec.sigma_gg if kind else xsec.sigma_bhabha)(x, c),
                                   rtol=1e-12)
    e = np.geomspace(1.0, 400.0, 300)
    par = _kernels.beam_params(BeamSetup(e_mean=282.0, sigma_e=0.7, target=DIAMOND_100UM))
    tabs = _kernels.dedx_tables(DIAMOND_100UM, 400.0)
    for kind, pos, tab in ((2, True, tabs[0]), (3, False, tabs[1])):
        _kernels.scalar_table(kind, e, par[[_kernels.P_C0, _kernels.P_LNWP]].copy(), out[:300])
        np.testing.assert_allclose(out[:300], collision_dedx(e, DIAMOND_100UM, pos),
                                   rtol=1e-12)
        x = np.linspace(tab.x0, tab.hi, 7919)
        fine = np.empty(x.size)
        _kernels.scalar_table(5, x, np.concatenate(([tab.x0, tab.h, 0.0], tab.f)), fine)
        np.testing.assert_allclose(fine, collision_dedx(x, DIAMOND_100UM, pos), rtol=1e-9)
    xx0 = np.geomspace(1e-6, 1e-2, 300)
    _kernels.scalar_table(4, e, xx0, out[:300])
    p = np.sqrt(e * e - M_E * M_E)
    np.testing.assert_allclose(out[:300], highland_theta0(p, p / e, xx0), rtol=1e-12)
