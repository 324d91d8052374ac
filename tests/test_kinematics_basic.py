"""sqrt(s) <-> E_beam (docs/physics.md §2), two-body lab angles, acceptance, ATOMKI angles."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from x17scan.physics import dsqrts_debeam, e_beam, e_res, gamma_cm, sqrt_s
from x17scan.physics.constants import M_BE8_NUCLEUS, M_E
from x17scan.physics.kinematics import (
    acceptance_cos,
    atomki_mass,
    atomki_theta_min,
    cos_star_from_lab,
    r_min_partner,
    theta_lab,
)

# (E_beam, sqrt(s), d sqrt(s)/dE in keV/MeV): docs/physics.md §2, evaluated analytically there
TABLE = [
    (206.62, 14.5495, 35.12), (260.00, 16.3169, 31.32), (262.22, 16.3863, 31.18),
    (265.00, 16.4728, 31.02), (270.00, 16.6271, 30.73), (275.00, 16.7801, 30.45),
    (280.00, 16.9317, 30.18), (282.27, 17.0000, 30.06), (285.00, 17.0819, 29.91),
    (290.00, 17.2308, 29.66), (295.80, 17.4020, 29.36), (299.00, 17.4957, 29.21),
    (402.50, 20.2947, 25.18),
]


@pytest.mark.parametrize(("eb", "w", "deriv"), TABLE)
def test_sqrt_s_table(eb, w, deriv):
    assert sqrt_s(eb) == pytest.approx(w, abs=5e-5)
    assert 1e3 * dsqrts_debeam(eb) == pytest.approx(deriv, abs=5e-3)


# E_res(M) with CODATA m_e: docs/physics.md §2
@pytest.mark.parametrize(("m", "er"), [(16.40, 262.660), (16.50, 265.879), (16.70, 272.376),
                                       (16.85, 277.300), (17.00, 282.268), (17.10, 285.605),
                                       (17.40, 295.732), (17.50, 299.147)])
def test_e_res_table(m, er):
    assert e_res(m) == pytest.approx(er, abs=5e-4)


def test_gamma_cm_and_opening_angle():
    # docs/physics.md §2: gamma_cm ~ 16.6 and symmetric opening angle 2/gamma ~ 120 mrad at 17 MeV
    g = gamma_cm(e_res(17.0))
    assert g == pytest.approx(16.6, abs=0.05)
    assert 2 / g == pytest.approx(0.120, abs=0.002)


@given(st.floats(min_value=1.0, max_value=1e4))
def test_round_trip(eb):
    assert e_beam(sqrt_s(eb)) == pytest.approx(eb, rel=1e-12)


def test_broadcasting():
    eb = np.linspace(200, 300, 12).reshape(3, 4)
    assert sqrt_s(eb).shape == (3, 4)


# --- two-body kinematics and acceptance (docs/physics.md §9, docs/detector.md) ---------------


# physics.md §9 table (R_max = 270 mm, D = 3636 mm; massless two-body kinematics)
@pytest.mark.parametrize(("w", "th_min", "c"), [(16.40, 52.5, 0.1713), (16.70, 50.6, 0.1888),
                                                (17.00, 48.8, 0.2060), (17.40, 46.6, 0.2282)])
def test_acceptance_table(w, th_min, c):
    assert acceptance_cos(w, 270.0, 3636.0, mass=0.0) == pytest.approx(c, abs=5e-5)
    assert 1e3 * theta_lab(c, w, mass=0.0) == pytest.approx(th_min, abs=0.05)
    assert 1e3 * np.arctan(270 / 3636) == pytest.approx(74.1, abs=0.05)


# docs/detector.md (PADME Kinematics.C R_min curve, exact e+e- kinematics, D = 3640.4 mm)
@pytest.mark.parametrize(("w", "rmin"), [(14.500, 243.8), (16.425, 190.0), (16.975, 177.9),
                                         (17.525, 166.9)])
def test_r_min_partner(w, rmin):
    assert r_min_partner(w) == pytest.approx(rmin, abs=0.05)


def test_massless_half_angle_identity():
    # physics.md §9: tan(theta1/2) tan(theta2/2) = (1 - beta)/(1 + beta) for massless bodies
    c = np.linspace(-0.95, 0.95, 9)
    for w in (16.4, 17.0):
        b = np.sqrt(1 - (2 * M_E / w) ** 2)
        prod = np.tan(theta_lab(c, w, 0.0) / 2) * np.tan(theta_lab(-c, w, 0.0) / 2)
        assert np.allclose(prod, (1 - b) / (1 + b), rtol=1e-12)


def test_electron_pair_relation():
    # e+e- -> e+e- on a target at rest: gamma* = gamma_cm, hence tan(theta) = tan(theta*/2)/gamma
    c = np.linspace(-0.99, 0.99, 11)
    g = 17.0 / (2 * M_E)
    assert np.allclose(np.tan(theta_lab(c, 17.0)), np.tan(np.arccos(c) / 2) / g, rtol=1e-12)


@given(st.floats(-0.999, 0.999), st.floats(1.5, 100.0), st.sampled_from([0.0, M_E, 0.3]))
def test_lab_angle_round_trip(c, w, m):
    assert cos_star_from_lab(theta_lab(c, w, m), w, m) == pytest.approx(c, abs=1e-9)


def test_acceptance_empty_and_errors():
    # a disc smaller than the symmetric opening angle: no acceptance
    assert acceptance_cos(17.0, 100.0, 3640.4) == 0.0
    with pytest.raises(ValueError):
        acceptance_cos(17.0, -1.0)
    with pytest.raises(ValueError):
        theta_lab(0.0, 17.0, mass=-1.0)


# physics.md §13: theta_min without recoil (deg)
@pytest.mark.parametrize(("mx", "de", "deg"), [(17.01, 18.15, 139.1), (16.70, 18.15, 133.8),
                                               (16.84, 21.01, 106.5), (16.94, 20.49, 111.4),
                                               (17.03, 17.23, 162.5)])
def test_atomki_angles(mx, de, deg):
    th = atomki_theta_min(mx, de)
    assert np.degrees(th) == pytest.approx(deg, abs=0.05)
    assert atomki_mass(th, de) == pytest.approx(mx, rel=1e-12)
    # recoil option: inverse is exact too, and m_X ~ Delta E sin(theta/2) roughly
    thr = atomki_theta_min(mx, de, m_nucleus=M_BE8_NUCLEUS)
    assert atomki_mass(thr, de, m_nucleus=M_BE8_NUCLEUS) == pytest.approx(mx, rel=1e-10)
    assert atomki_mass(th, de) == pytest.approx(de * np.sin(th / 2), rel=5e-3)


def test_atomki_recoil_energy():
    # physics.md §13: recoil lowers E_X by 2.7 keV for 8Be (18.15 MeV, m_X = 17 MeV)
    m_star = M_BE8_NUCLEUS + 18.15
    ex = (m_star**2 - M_BE8_NUCLEUS**2 + 17.0**2) / (2 * m_star)
    assert (18.15 - ex) * 1e3 == pytest.approx(2.7, abs=0.05)
    # lower E_X -> larger opening angle
    assert atomki_theta_min(17.0, 18.15, M_BE8_NUCLEUS) > atomki_theta_min(17.0, 18.15)
    assert np.isnan(atomki_theta_min(19.0, 18.15))
