"""Passage through the target: energy-loss and multiple-scattering moments against their
formulas, beam spot/divergence/timing moments, interaction depth."""

import math

import numpy as np
import pytest

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
