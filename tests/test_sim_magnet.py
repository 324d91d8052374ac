"""Charged tracks through the dipole field (x17scan.sim.magnet) against an independent
numerical integration of the Lorentz force, and the detector's use of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from x17scan.errors import InputError
from x17scan.sim.detector import DetectorConfig, kernel_inputs, load_toml, respond
from x17scan.sim.events import TruthEvents
from x17scan.sim.magnet import DipoleField, bend

Z_FACE = 3640.41
C = 0.299792458  # MeV/c per (T mm): p = 0.2998 B rho, written out here as a second source


def _lorentz_impact(v0, p, q, field: DipoleField):
    """Impact point at Z_FACE: straight to z_start, RK45 of dp/ds = q 0.2998 (d x B) through
    the field region (s = path length, |p| constant), straight to the face."""
    v0, p = np.asarray(v0, float), np.asarray(p, float)
    pm = np.linalg.norm(p)
    d = p / pm
    x = v0 + d * (field.z_start - v0[2]) / d[2]
    b = np.array([0.0, field.field, 0.0])

    def rhs(_s, y):
        return np.concatenate([y[3:], q * C / pm * np.cross(y[3:], b)])

    def exit_(_s, y):
        return y[2] - field.z_end
    exit_.terminal, exit_.direction = True, 1
    sol = solve_ivp(rhs, (0.0, 10 * (field.z_end - field.z_start)), np.concatenate([x, d]),
                    events=exit_, rtol=1e-11, atol=1e-11, max_step=5.0)
    y = sol.y_events[0][0]
    x, d = y[:3], y[3:]
    return x + d * (Z_FACE - x[2]) / d[2]


def _events(vertex, pdg, p):
    n = len(vertex)
    return TruthEvents(process=np.zeros(n, np.int8), vertex=np.asarray(vertex, float),
                       t0=np.zeros(n), bunch=np.arange(n), pdg=np.asarray(pdg, np.int32),
                       p=np.asarray(p, float),
                       e=np.linalg.norm(np.asarray(p, float), axis=2),
                       e_beam=np.full(n, 282.0), sqrt_s=np.full(n, 17.0),
                       cos_theta_star=np.zeros(n), primary=np.ones(n, bool))


def _line_impact(vertex, p):
    return vertex + p * ((Z_FACE - vertex[2]) / p[2])


@pytest.mark.parametrize("tesla", [1.5e-3, 0.02, -0.05])
def test_impact_points_follow_the_lorentz_force(tesla):
    rng = np.random.default_rng(7)
    field = DipoleField(field=tesla)
    n = 12
    vertex = np.column_stack([rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0, .1, n)])
    mom = rng.uniform(60.0, 250.0, n)
    th, ph = rng.uniform(0.0, 0.08, n), rng.uniform(0, 2 * np.pi, n)
    dirs = np.column_stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    p = np.stack([dirs * mom[:, None], dirs * [-1, -1, 1] * mom[:, None]], axis=1)
    p[3, 1, 2] *= -1  # one backward particle: untouched
    pdg = np.tile([-11, 11], (n, 1))
    out = bend(vertex, pdg, p, field, Z_FACE)
    for i in range(n):
        for slot, q in ((0, 1.0), (1, -1.0)):
            if p[i, slot, 2] < 0:
                assert np.array_equal(out[i, slot], p[i, slot])
                continue
            ref = _lorentz_impact(vertex[i], p[i, slot], q, field)
            got = _line_impact(vertex[i], out[i, slot])
            assert np.allclose(got[:2], ref[:2], atol=1e-5), (i, slot, got, ref)
            assert np.linalg.norm(out[i, slot]) == pytest.approx(np.linalg.norm(p[i, slot]),
                                                                 rel=1e-12)


def test_small_angle_displacement_and_charge_sign():
    """A particle along the axis: displacement 0.2998 B/p L (L/2 + D) (first order), e+ and e-
    opposite, e+ towards -x for B_y > 0 (F = q v x B); photons untouched."""
    field = DipoleField(field=1e-3)
    p0 = 120.0
    vertex = np.zeros((1, 3))
    p = np.array([[[0.0, 0.0, p0], [0.0, 0.0, p0]]])
    plus = _line_impact(vertex[0], bend(vertex, np.array([[-11, 22]]), p, field, Z_FACE)[0, 0])
    minus = _line_impact(vertex[0], bend(vertex, np.array([[11, 22]]), p, field, Z_FACE)[0, 0])
    length = 1000.0
    expected = C * 1e-3 / p0 * length * (length / 2 + Z_FACE - 1528.0)
    assert plus[0] == pytest.approx(-expected, rel=1e-4)
    assert minus[0] == pytest.approx(expected, rel=1e-4)
    assert field.displacement(p0, Z_FACE) == pytest.approx(expected, rel=1e-12)
    assert plus[1] == 0.0
    photon = bend(vertex, np.array([[22, 22]]), p, field, Z_FACE)
    assert np.array_equal(photon, p)


def test_particles_that_turn_back_are_lost():
    field = DipoleField(field=1.0)  # rho = 33 mm for 10 MeV/c: it curls up inside the yoke
    out = bend(np.zeros((1, 3)), np.array([[-11, 11]]),
               np.array([[[0.0, 0.0, 10.0], [0.0, 0.0, 10.0]]]), field, Z_FACE)
    assert (out[0, :, 2] < 0).all()


def test_zero_field_changes_nothing():
    rng = np.random.default_rng(3)
    n = 200
    p = rng.normal(0, 5, (n, 2, 3))
    p[..., 2] = rng.uniform(80, 200, (n, 2))
    ev = _events(rng.normal(0, 1, (n, 3)), np.tile([-11, 11], (n, 1)), p)
    off = DetectorConfig.default_run3()
    a = kernel_inputs(ev, off)
    b = kernel_inputs(ev)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.array_equal(a[3], p)


def test_detector_sees_the_bent_tracks():
    """With a field the detector's hits are those of straight tracks along bend()'s momenta
    (bit for bit), and they differ from the field-free hits."""
    base = DetectorConfig.default_run3()
    on = base.replace(magnet=DipoleField(field=2e-3))
    rng = np.random.default_rng(11)
    n = 300
    ang = rng.uniform(0.03, 0.075, n)
    ph = rng.uniform(-0.6, 0.6, n)
    mom = rng.uniform(90.0, 180.0, n)
    d = np.column_stack([np.sin(ang) * np.cos(ph), np.sin(ang) * np.sin(ph), np.cos(ang)])
    p = np.stack([d * mom[:, None], d * [-1, -1, 1] * mom[:, None]], axis=1)
    pdg = np.tile([-11, 11], (n, 1))
    vertex = np.column_stack([rng.normal(0, 1, n), rng.normal(0, 1, n), np.full(n, 0.05)])
    ev = _events(vertex, pdg, p)
    bent = dataclasses.replace(ev, p=bend(vertex, pdg, p, on.magnet, base.ecal.z_front))
    h_on, h_ref, h_off = respond(ev, on, 5), respond(bent, base, 5), respond(ev, base, 5)
    for k in ("offsets", "crystal", "energy", "time", "etag_bar"):
        assert np.array_equal(getattr(h_on, k), getattr(h_ref, k)), k
    assert not np.array_equal(h_on.crystal, h_off.crystal)


def test_bad_magnet_tables(tmp_path):
    from importlib import resources

    doc = load_toml(resources.files("x17scan.sim").joinpath("detectors/run3.toml"))
    bad = dict(doc, magnet={"field": 1e-3, "z_start": 1500.0, "z_end": 1400.0})
    with pytest.raises(InputError, match=r"magnet\.z_end"):
        DetectorConfig.from_dict(bad)
    bad = dict(doc, magnet={"field": 1e-3, "z_start": 500.0, "z_end": 3630.0})
    with pytest.raises(InputError, match="first detector plane"):
        DetectorConfig.from_dict(bad)
    ok = DetectorConfig.from_dict(dict(doc, magnet={"field": -2e-3}))
    assert dataclasses.asdict(ok.magnet) == {"field": -2e-3, "z_start": 528.0, "z_end": 1528.0}


def test_simulate_refuses_a_field_beyond_the_generation_window(tmp_path):
    """One line, exit 2, nothing written (the generators assume near-straight tracks)."""
    from importlib import resources

    from test_bad_inputs import run_cli

    text = resources.files("x17scan.sim").joinpath("detectors/run3.toml").read_text()
    det = tmp_path / "strong.toml"
    det.write_text(text.replace("field = 0.0", "field = 0.01"))
    out = tmp_path / "out"
    code, msg = run_cli(["simulate", "--detector", str(det), "--out", str(out), "-n", "1000"])
    assert code == 2, msg
    assert "magnet.field" in msg and len(msg.strip().splitlines()) == 1, msg
    assert not out.exists()


def test_detector_file_with_a_base(tmp_path):
    """``base = NAME`` files hold only what differs; the named presets are unchanged."""
    from x17scan.sim.detector import PADME_MC_RESOLUTION_SCALE
    from x17scan.sim.pipeline import _detector

    f = tmp_path / "field.toml"
    f.write_text('base = "run3-padme-mc"\n\n[magnet]\nfield = 0.0015\n')
    cfg, mc, data = _detector(str(f)), _detector("run3-padme-mc"), _detector("run3")
    assert cfg.magnet == DipoleField(field=0.0015) and not mc.magnet.on
    assert dataclasses.asdict(cfg.response) == dataclasses.asdict(mc.response)
    assert mc.response.stochastic == data.response.stochastic * PADME_MC_RESOLUTION_SCALE
    assert np.array_equal(cfg.kernel_params, mc.kernel_params)
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "run4"\n')
    with pytest.raises(InputError, match="unknown base"):
        _detector(str(bad))
    typo = tmp_path / "typo.toml"
    typo.write_text('base = "run3"\n\n[magnet]\nfeild = 0.001\n')
    with pytest.raises(InputError, match="feild"):
        _detector(str(typo))
