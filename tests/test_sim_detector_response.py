"""Response of the fast ECal/ETag simulation on single particles.

References: the configured resolution function (PadmeReco sigma_E/E = 2 %/sqrt(E/GeV) + 0.00003/E
+ 1.2 %, docs/detector.md §1.4); PadmeReco's cluster correction f(E) ("pol4 fit of the MC",
ECalReconstruction.cc:623-647), which the fast simulation's raw cluster energy must follow (the
basis of ``visible_fraction = 1`` in run3.toml); the analytic shower profile integrated over the
crystals (:mod:`x17scan.sim.shower`, itself checked against numerical integration); binomial
statistics for the ETag rates; a pure-Python SplitMix64 for the kernel generator.
"""

import dataclasses

import numpy as np
import pytest

from x17scan.physics.constants import C_MM_PER_NS
from x17scan.reco import ClusterParams, cluster, reconstruct
from x17scan.reco.toys import particles_at
from x17scan.sim.detector import DetectorConfig, _cttz, _uniform_kernel, respond, uniform_reference
from x17scan.sim.ecal import N_SIDE

CFG = DetectorConfig.default_run3()
EXACT = CFG.replace(response=dataclasses.replace(
    CFG.response, stochastic=0.0, noise=0.0, constant=0.0, time_resolution=0.0,
    readout_threshold=0.0))
"""No smearing, no threshold: hits are the profile integrals times the energy."""


def _ring(n, energy, rng, r=(120.0, 240.0), pdg=22):
    phi = rng.uniform(0, 2 * np.pi, n)
    rad = rng.uniform(*r, n)
    return particles_at(np.full(n, energy), rad * np.cos(phi), rad * np.sin(phi), pdg=pdg)


def _single_cluster_energies(clusters):
    one = clusters.n_clusters == 1
    first = clusters.offsets[:-1][one]
    return clusters.energy_raw[first], clusters.energy[first], one


@pytest.mark.parametrize("energy", [100.0, 200.0, 300.0])
def test_raw_energy_follows_padme_correction(energy):
    rng = np.random.default_rng(11)
    cl = reconstruct(_ring(12000, energy, rng), CFG, ClusterParams(), rng)
    raw, corr, one = _single_cluster_energies(cl)
    assert one.mean() > 0.99
    f = float(ClusterParams().correction(energy))
    # the fast simulation loses what PADME's Geant4 simulation loses (f(E)) to 1.5 %
    assert raw.mean() / energy == pytest.approx(f, rel=0.015)
    assert corr.mean() / energy == pytest.approx(1.0, rel=0.015)


def test_resolution_is_the_configured_one():
    rng = np.random.default_rng(5)
    energy = 200.0
    ev = _ring(20000, energy, rng)
    intrinsic_cfg = CFG.replace(response=dataclasses.replace(
        CFG.response, stochastic=0.0, noise=0.0, constant=0.0))
    wide = CFG.replace(response=dataclasses.replace(CFG.response, stochastic=0.05,
                                                    constant=0.0))
    spread = {}
    for name, cfg in (("intrinsic", intrinsic_cfg), ("run3", CFG), ("wide", wide)):
        _, corr, _ = _single_cluster_energies(reconstruct(ev, cfg, ClusterParams(), 3))
        spread[name] = np.var(corr / energy)
    assert spread["intrinsic"] < 0.01**2  # thresholds and leakage alone: below 1 %
    for name, cfg in (("run3", CFG), ("wide", wide)):
        expected = (cfg.response.sigma(energy) / energy) ** 2
        assert spread[name] - spread["intrinsic"] == pytest.approx(expected, rel=0.06)


def test_hit_time_resolution_and_flight_time():
    rng = np.random.default_rng(8)
    ev = _ring(20000, 150.0, rng)
    cl = reconstruct(ev, CFG, ClusterParams(), rng)
    _, _, one = _single_cluster_energies(cl)
    t = cl.time[cl.offsets[:-1][one]]
    # the seed time is the flight time to the ECal face plus one hit jitter
    d = np.linalg.norm(np.stack([*ev.p[one, 0, :2].T / ev.p[one, 0, 2] * CFG.ecal.z_front,
                                 np.full(one.sum(), CFG.ecal.z_front)]), axis=0)
    dt = t - d / C_MM_PER_NS
    assert abs(dt.mean()) < 0.03
    assert dt.std() == pytest.approx(0.8, rel=0.03)


def _expected_deposit(cfg, energy, x, y):
    """Energy in each crystal from the analytic profile (photon from the origin)."""
    g, sh = cfg.ecal, cfg.shower
    tmax = float(sh.t_max(energy, True))
    d = np.array([x, y, g.z_front])
    path = np.linalg.norm(d)
    sx, sy = d[:2] / path * (path + tmax)
    xs, ys = g.centres()
    half = g.pitch / 2
    out = energy * sh.rect_fraction(xs - half - sx, xs + half - sx, ys - half - sy,
                                    ys + half - sy)
    # only the K x K block around the impact cell is simulated
    row, col = g.cell_of(sx, sy)
    r, c = np.divmod(np.arange(N_SIDE * N_SIDE), N_SIDE)
    block = (abs(r - row) <= sh.block // 2) & (abs(c - col) <= sh.block // 2)
    return np.where(block & g.mask.ravel(), out, 0.0)


EXACT9 = EXACT.replace(shower=dataclasses.replace(EXACT.shower, block=9))
"""As EXACT with 9 x 9 blocks: 81 cells, more than the kernel's 64-cell bit mask holds."""


@pytest.mark.parametrize("cfg", [EXACT, EXACT9], ids=["block5", "block9"])
@pytest.mark.parametrize("x,y", [(150.0, 37.0), (-80.3, 140.9), (58.0, 3.0), (290.0, 40.0),
                                 (0.0, 0.0)])
def test_deposits_are_profile_integrals(x, y, cfg):
    """Sharing, depth, hole and outer-edge leakage against the analytic profile."""
    energy = 180.0
    h = respond(particles_at(energy, x, y), cfg, 1)
    got = np.zeros(N_SIDE * N_SIDE)
    np.add.at(got, h.crystal, h.energy)
    exp = _expected_deposit(cfg, energy, x, y)
    # bilinear interpolation of the 32 x 32 sharing table: 1e-3 of the energy
    assert np.abs(got - exp).max() < 1e-3 * energy
    assert got.sum() == pytest.approx(exp.sum(), abs=1e-3 * energy)


def test_hole_and_edge_leak():
    """A photon into the hole deposits nothing; one near the hole edge loses most of its energy
    into it; one in the bulk keeps the 5 x 5 block containment (>= 97 %)."""
    e = 200.0
    sums = []
    for x in (0.0, 53.4 + 3.0, 180.0):
        h = respond(particles_at(e, x, 0.0), EXACT, 1)
        sums.append(h.energy.sum() / e)
    assert sums[0] == 0.0
    assert 0.3 < sums[1] < 0.8
    assert sums[2] > 0.97


@pytest.mark.parametrize("cfg", [EXACT, EXACT9], ids=["block5", "block9"])
def test_pileup_merging_within_5ns(cfg):
    """Two interactions of one bunch in the same crystals: merged within 5 ns with
    energy-weighted time, kept apart beyond (PadmeMC ECalDigitizer)."""
    for dt, merged in ((2.0, True), (20.0, False)):
        ev = particles_at([150.0, 100.0], [160.0, 160.0], [20.0, 20.0], t0=[0.0, dt],
                          bunch=[7, 7])
        h = respond(ev, cfg, 1)
        single = [respond(particles_at(e, 160.0, 20.0, t0=t), cfg, 1)
                  for e, t in ((150.0, 0.0), (100.0, dt))]
        assert len(h) == 1 and list(h.readout_of_event) == [0, 0] and list(h.bunch) == [7]
        n_single = len(single[0].energy)
        if merged:
            assert len(h.energy) == n_single
            assert np.allclose(np.sort(h.energy),
                               np.sort(single[0].energy + single[1].energy))
            tw = (single[0].energy * single[0].time + single[1].energy * single[1].time) / (
                single[0].energy + single[1].energy)
            assert np.allclose(np.sort(h.time), np.sort(tw))
            # the owner is the interaction with the larger deposit
            assert set(h.owner) == {0}
        else:
            assert len(h.energy) == 2 * n_single
            assert np.isclose(h.energy.sum(), single[0].energy.sum() + single[1].energy.sum())
            assert set(h.owner) == {0, 1}


def test_etag_efficiency_and_conversion():
    rng = np.random.default_rng(2)
    n = 20000
    # inside full bars: rows 2-4 and 10-12, away from the dead paint between bars
    y = (rng.integers(2, 5, n) - 7) * 44.3 * rng.choice([-1, 1], n) + rng.uniform(-15, 15, n)
    x = rng.uniform(-200, 200, n)
    z = CFG.ecal.z_front
    xe, ye = x * CFG.etag.z / z, y * CFG.etag.z / z
    assert np.all(CFG.etag.bar_at(xe, ye) >= 0)
    for pdg, p in ((11, CFG.etag.efficiency),
                   (22, CFG.etag.efficiency * CFG.etag.photon_conversion)):
        h = respond(particles_at(np.full(n, 150.0), x, y, pdg=pdg), CFG, rng)
        tagged = np.diff(h.etag_offsets) > 0
        assert abs(tagged.mean() - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-12
        if pdg == 11:
            bars = h.etag_bar
            assert np.array_equal(bars, CFG.etag.bar_at(xe, ye)[tagged])


def test_same_seed_bit_identical_and_fused_equal():
    rng = np.random.default_rng(4)
    ev = _ring(3000, 150.0, rng, r=(60.0, 320.0), pdg=-11)
    a = respond(ev, CFG, 123)
    b = respond(ev, CFG, np.random.default_rng(123))
    for f in ("offsets", "crystal", "energy", "time", "owner", "etag_bar", "etag_time"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    c = respond(ev, CFG, 124)
    assert not np.array_equal(a.energy, c.energy)
    fused = reconstruct(ev, CFG, ClusterParams(), 123)
    ref = cluster(a, ClusterParams())
    for f in ("offsets", "energy", "energy_raw", "x", "y", "time", "seed", "owner",
              "etag_offsets", "etag_bar", "etag_time"):
        assert np.array_equal(getattr(fused, f), getattr(ref, f)), f


def test_kernel_generator_is_splitmix64():
    assert np.array_equal(_uniform_kernel(np.uint64(987654321), 1000),
                          uniform_reference(987654321, 1000))
    u = _uniform_kernel(np.uint64(1), 200000)
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)


def test_survey_offset_option():
    """The Run III survey offset (3.41, 3.86) mm moves the crystals; reconstructed positions
    stay in the beam frame."""
    g = dataclasses.replace(CFG.ecal, offset=(3.41, 3.86))
    cfg = CFG.replace(ecal=g)
    x0 = 3.41 + 6 * g.pitch
    h = respond(particles_at(200.0, x0, 3.86), cfg.replace(response=EXACT.response), 1)
    seed = h.crystal[np.argmax(h.energy)]
    assert seed == 14 * N_SIDE + 20  # the cell centred on the offset position
    rng = np.random.default_rng(6)
    ev = _ring(4000, 150.0, rng)
    for c in (CFG, cfg):
        cl = reconstruct(ev, c, ClusterParams(), 2)
        _, _, one = _single_cluster_energies(cl)
        k = cl.offsets[:-1][one]
        x_true = ev.p[one, 0, 0] / ev.p[one, 0, 2] * c.ecal.z_front
        assert abs(np.mean(cl.x[k] - x_true)) < 0.3  # mm


def test_trailing_zero_count_of_the_kernels():
    """The bit-mask loops' lowest-set-bit index against Python's integer arithmetic."""
    import numba

    @numba.njit
    def cttz(x):
        return _cttz(x)

    rng = np.random.default_rng(5)
    values = [1, 2, 3, 8, 1 << 31, 1 << 32, 1 << 63, (1 << 63) | 6]
    high = rng.integers(0, 2**63, 50, dtype=np.uint64)
    low = rng.integers(0, 64, 50)
    values += [int(v) | 1 << int(b) for v, b in zip(high, low, strict=True)]
    for v in values:
        assert cttz(np.uint64(v)) == (v & -v).bit_length() - 1
