"""Generators against independent references: angular distributions vs the analytic dsigma/dcos
(chi^2 with a p-value threshold), rates vs the closed-form window cross sections, the geometric
acceptance vs the analytic c(sqrt s), exact boosts, and the electron-motion line shape vs the
physics kernel."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import chi2

from x17scan.physics import xsec
from x17scan.physics.constants import ALPHA, DIAMOND, ECAL_DISTANCE_RUN3, M_E, Target
from x17scan.physics.kinematics import acceptance_cos
from x17scan.physics.lineshape import kernel
from x17scan.sim.generators import (
    BackgroundGenerator,
    SignalGenerator,
    angular_fraction,
    electron_motion,
)
from x17scan.sim.kinematics import boost
from x17scan.sim.target import BeamSetup

P_MIN = 1e-3  # chi^2 tests fail below this p-value (fixed seeds: deterministic)
THIN = Target(DIAMOND, 1e-15)  # no energy loss or scattering (Highland bracket < 0)
E_B = 282.0


def ideal_beam(e=E_B, sigma=1e-9, target=THIN):
    return BeamSetup(e_mean=e, sigma_e=sigma, spot=(0.0, 0.0), divergence=(0.0, 0.0),
                     target=target)


def chi2_p(values, edges, expected_fraction):
    counts, _ = np.histogram(values, edges)
    exp = expected_fraction / expected_fraction.sum() * counts.sum()
    c2 = float(np.sum((counts - exp) ** 2 / exp))
    return chi2.sf(c2, len(counts) - 1)


def bin_integrals(f, edges):
    return np.array([integrate.quad(f, a, b)[0] for a, b in itertools.pairwise(edges)])


@pytest.mark.parametrize("process", ["bhabha", "gg"])
def test_angular_distribution_and_rate(process):
    gen = BackgroundGenerator(process, ideal_beam(), motion="free")
    ev, st = gen.generate(100_000, np.random.default_rng(11))
    w = math.sqrt(2 * M_E * (E_B + M_E))
    c = gen.c_gen
    edges = np.linspace(-c, c, 41)
    if process == "bhabha":
        # dsigma_bhabha takes the positron's angle; particle 0 (e-) is at -cos
        vals = -ev.cos_theta_star
        ref = bin_integrals(lambda x: float(xsec.dsigma_bhabha(w, x)), edges)
    else:
        vals = ev.cos_theta_star
        ref = bin_integrals(lambda x: float(xsec.dsigma_gg(w, x)), edges)
    assert chi2_p(vals, edges, ref) > P_MIN
    # electrons at rest, no spread: every proposal has the nominal window cross section
    sigma = xsec.sigma_bhabha(w, c) if process == "bhabha" else xsec.sigma_gg(w, c)
    assert st.sigma_sum / st.n_proposed == pytest.approx(float(sigma), rel=1e-9)
    assert ev.sqrt_s == pytest.approx(w, rel=1e-9)


def test_boost_recovers_cm_angle_and_masses():
    gen = BackgroundGenerator("bhabha", ideal_beam(), motion="atomic")
    ev, _ = gen.generate(5000, np.random.default_rng(3))
    tot_e = ev.e.sum(axis=1)
    tot_p = ev.p.sum(axis=1)
    beta = tot_p / tot_e[:, None]
    # final-state invariant mass = true sqrt(s) (thin target: no loss)
    w = np.sqrt(tot_e**2 - np.einsum("ij,ij->i", tot_p, tot_p))
    np.testing.assert_allclose(w, ev.sqrt_s, rtol=1e-9)
    # lab masses of the leptons
    m = np.sqrt(np.maximum(ev.e**2 - (ev.p**2).sum(-1), 0))
    np.testing.assert_allclose(m, M_E, rtol=1e-4)
    # the CM angle of the e- from the positron direction (beam axis at the vertex, boosted)
    e_pos = ev.e_beam
    p_pos = np.sqrt(e_pos**2 - M_E**2)[:, None] * np.array([0.0, 0.0, 1.0])
    _, ax = boost(e_pos, p_pos, -beta)
    _, pe = boost(ev.e[:, 0], ev.p[:, 0], -beta)
    cos = np.einsum("ij,ij->i", ax, pe) / np.linalg.norm(ax, axis=1) / np.linalg.norm(pe, axis=1)
    np.testing.assert_allclose(cos, ev.cos_theta_star, atol=1e-8)


def test_acceptance_matches_analytic_c():
    """Fraction of generated e+e- with both particles within R = 270 mm at the Run III ECal
    face equals sigma(|cos| < c(sqrt s))/sigma(|cos| < c_gen), c from physics.kinematics."""
    gen = BackgroundGenerator("bhabha", ideal_beam(), motion="free")
    n = 200_000
    ev, _ = gen.generate(n, np.random.default_rng(5))
    d = ECAL_DISTANCE_RUN3 - ev.vertex[:, 2]
    r = np.hypot(ev.p[..., 0], ev.p[..., 1]) / ev.p[..., 2] * d[:, None]
    frac = np.mean((r < 270.0).all(axis=1))
    w = math.sqrt(2 * M_E * (E_B + M_E))
    c_acc = float(acceptance_cos(w, 270.0, ECAL_DISTANCE_RUN3, M_E))
    ref = float(xsec.sigma_bhabha(w, c_acc) / xsec.sigma_bhabha(w, gen.c_gen))
    assert frac == pytest.approx(ref, abs=4 * math.sqrt(ref * (1 - ref) / n))


@pytest.mark.parametrize("spin", ["vector", "scalar"])
def test_signal_angular_distribution(spin):
    gen = SignalGenerator(ideal_beam(sigma=0.7), 16.95, spin)
    ev, _ = gen.generate(100_000, np.random.default_rng(7))
    c = gen.c_gen
    edges = np.linspace(-c, c, 31)
    shape = (lambda x: 1 + x * x) if spin == "vector" else (lambda x: 1.0)
    assert chi2_p(ev.cos_theta_star, edges, bin_integrals(shape, edges)) > P_MIN
    # fraction of decays in the window: physics.md §5.2 closed forms
    full = integrate.quad(shape, -1, 1)[0]
    assert angular_fraction(c, spin) == pytest.approx(integrate.quad(shape, -c, c)[0] / full)
    # X invariant mass is exactly M, e+ and e- back to back in the X frame
    tot_e, tot_p = ev.e.sum(1), ev.p.sum(1)
    np.testing.assert_allclose(np.sqrt(tot_e**2 - (tot_p**2).sum(1)), 16.95, rtol=1e-9)


@pytest.mark.parametrize("e_beam", [276.0, 279.5, 283.0])
def test_signal_line_shape_vs_physics_kernel(e_beam):
    """Without energy loss the mean acceptance weight / (alpha E_res) is the line shape
    K(E_b) of physics.lineshape.kernel (atomic HF profile), and the generated p_z follow the
    kernel's integrand J(p_z) G(E*(p_z) - E_b)."""
    mass, sig = 16.95, 0.7
    gen = SignalGenerator(ideal_beam(e_beam, sig), mass, motion="atomic")
    ev, st = gen.generate(30_000, np.random.default_rng(int(e_beam)))
    e_res = gen.e_res
    k_mc = st.weight_sum / st.n_proposed / (ALPHA * e_res)
    # accept-reject estimate of a mean weight: relative error < ~1/sqrt(accepted) (weights in
    # [0, envelope], acceptance > 0.3 here)
    k_err = k_mc / math.sqrt(st.n)
    k_ref = float(kernel(e_beam, mass, sig / e_res, "atomic"))
    assert k_mc == pytest.approx(k_ref, abs=4 * k_err)
    pz = (1 - e_res / ev.e_beam) / ALPHA
    edges = np.quantile(pz, np.linspace(0, 1, 21))
    edges[0], edges[-1] = pz.min() - 1e-9, pz.max() + 1e-9
    mot = electron_motion("atomic")

    def integrand(p):
        es = e_res / (1 - ALPHA * p)
        return mot.density(np.array([p]))[0] * math.exp(-0.5 * ((es - e_beam) / sig) ** 2)

    ref = np.array([integrate.quad(integrand, a, b, limit=200)[0]
                    for a, b in itertools.pairwise(edges)])
    assert chi2_p(pz, edges, ref) > P_MIN


def test_electron_motion_transverse_momentum():
    """|p| given p_z from J^-1(u J(|p_z|)): for the isotropic STO 1s orbital alone the
    conditional law is exact; check the marginal of p_z and that <p_T^2> = 2 <p_z^2>
    (isotropy) for the full carbon atom."""
    mot = electron_motion("sto")
    rng = np.random.default_rng(2)
    pz = mot.sample_pz(rng.random(400_000))
    p = mot.sample_p(pz, rng.random(pz.size))
    pt2 = p**2 - pz**2
    # isotropy: E[p_x^2 + p_y^2] = 2 E[p_z^2] (compare with a heavy-tail-robust truncation)
    m = p < 20
    assert np.mean(pt2[m]) == pytest.approx(2 * np.mean(pz[m] ** 2), rel=0.03)
    assert np.all(p >= np.abs(pz))


@pytest.mark.parametrize("model", ["atomic", "voigt"])
def test_radial_motion_sampler_matches_conditional(model):
    """The background kernels draw (p_z, |p|) from the radial law of the isotropic density
    (|p| from -2 p J'(p), p_z = |p| cos); the joint law must be the one of the conditional
    sampler (p_z ~ J, then |p| = J^-1(u J(|p_z|))): two-sample KS on p_z, |p| and |p| - |p_z|."""
    from scipy import stats

    mot = electron_motion(model)
    n = 200_000
    pz, p = mot.sample_pz_p(n, np.random.default_rng(21))
    rng = np.random.default_rng(22)
    pz_ref = mot.sample_pz(rng.random(n))
    p_ref = mot.sample_p(pz_ref, rng.random(n))
    for a, b in ((pz, pz_ref), (p, p_ref), (p - np.abs(pz), p_ref - np.abs(pz_ref))):
        assert stats.ks_2samp(a, b).pvalue > P_MIN
    assert np.all(p >= np.abs(pz))


@pytest.mark.parametrize("kind", ["bhabha", "signal"])
def test_same_seed_same_events(kind, monkeypatch):
    """Same seed: bit-identical events and bookkeeping, also when the kernel returns to Python
    every 1000 proposals; another seed: different events."""
    from x17scan.sim import _kernels

    beam = BeamSetup(e_mean=E_B, sigma_e=0.7, target=Target(DIAMOND, 0.1))
    gen = (BackgroundGenerator("bhabha", beam) if kind == "bhabha"
           else SignalGenerator(beam, 16.95))
    (a, sa), (b, sb) = (gen.generate(2000, np.random.default_rng(5)) for _ in range(2))
    c, _ = gen.generate(2000, np.random.default_rng(6))
    for f in ("vertex", "t0", "p", "e", "e_beam", "sqrt_s", "cos_theta_star"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
        if not (kind == "signal" and f == "sqrt_s"):  # the signal's sqrt(s) is M
            assert not np.array_equal(getattr(a, f), getattr(c, f))
    assert (sa.n_proposed, sa.sigma_sum, sa.weight_sum) == (sb.n_proposed, sb.sigma_sum,
                                                           sb.weight_sum)
    monkeypatch.setattr(_kernels, "MAX_PROPOSALS", 1000)
    d, sd = gen.generate(2000, np.random.default_rng(5))
    for f in ("vertex", "t0", "p", "e", "e_beam", "sqrt_s", "cos_theta_star"):
        np.testing.assert_array_equal(getattr(a, f), getattr(d, f))
    assert sd.n_proposed == sa.n_proposed
    assert (sd.sigma_sum, sd.weight_sum) == pytest.approx((sa.sigma_sum, sa.weight_sum),
                                                          rel=1e-12)
    # interaction times inside the 150 ps micro-bunches every 0.5 ns (target.bunch_times)
    assert np.all(np.mod(a.t0, 0.5) < 0.150) and a.t0.max() < 250.0
