"""sqrt(s) <-> E_beam against the reference table of docs/physics.md §2 (analytic, CODATA m_e)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from x17scan.physics import dsqrts_debeam, e_beam, e_res, gamma_cm, sqrt_s

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
