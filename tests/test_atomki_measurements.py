"""ATOMKI data file, opening angles and mass combinations vs docs/physics.md §13 and the seeds."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from x17scan.constraints import atomki as A
from x17scan.errors import InputError


def _by_id():
    return {m.id: m for m in A.all_measurements()}


def test_published_selection_is_the_five_masses_of_physics_md():
    ms = A.load_measurements()
    assert [m.id for m in ms] == ["Be8_2016", "Be8_2020", "He4_2019", "He4_2021", "C12_2022"]
    # docs/physics.md §13 table
    assert [m.mass for m in ms] == [16.70, 17.01, 16.84, 16.94, 17.03]
    d = _by_id()
    assert (d["Be8_2016"].stat, d["Be8_2016"].syst) == (0.35, 0.50)
    assert d["Be8_2020"].total == 0.16 and d["Be8_2020"].stat is None
    assert (d["He4_2019"].stat, d["He4_2019"].syst) == (0.16, 0.20)
    assert (d["He4_2021"].stat, d["He4_2021"].syst) == (0.12, 0.21)
    assert (d["C12_2022"].stat, d["C12_2022"].syst) == (0.11, 0.20)


def test_per_energy_values_from_the_seed_tables():
    d = _by_id()
    # seed 002 (EPFL 2024), 12C table of PRC 106 (2022) L061601: E_p -> mass(err)
    c12 = {"1.50": (16.81, 0.15), "1.70": (16.93, 0.08), "1.88": (17.13, 0.10),
           "2.10": (17.06, 0.10)}
    for ep, (m, e) in c12.items():
        x = d[f"C12_2022_Ep{ep}"]
        assert (x.mass, x.stat, x.syst) == (m, e, 0.20)
    # seed 002, 4He table of PRC 104 (2021) 044003: E_p (MeV) -> mass(err)
    he4 = {"0.51": (17.01, 0.12), "0.61": (16.88, 0.16), "0.90": (16.68, 0.30)}
    for ep, (m, e) in he4.items():
        x = d[f"He4_2021_Ep{ep}"]
        assert (x.mass, x.stat, x.syst) == (m, e, 0.21)
        # E_x = 19.814 + 3/4 E_p (physics.md §13)
        assert x.delta_e == pytest.approx(19.814 + 0.75 * float(ep), abs=1e-9)
    pe = A.load_measurements("per-energy")
    ids = {m.id for m in pe}
    assert "C12_2022" not in ids and "He4_2021" not in ids and len(pe) == 10


def test_references_and_open_checks_are_kept():
    for m in A.all_measurements():
        assert m.reference, m.id
    d = _by_id()
    he = d["He4_2019"]
    assert he.info["alternative_mass_MeV"] == 16.98
    assert any("to be checked" in c for c in he.checks)
    assert any("to be checked" in c for c in d["Be8_2016"].checks)
    bands = A.coupling_bands()
    assert (bands["feng2016"].eps_min, bands["feng2016"].eps_max) == (2e-4, 1.4e-3)
    assert (bands["seed"].eps_min, bands["seed"].eps_max) == (0.63e-3, 1.2e-3)
    assert any("unverified" in c for c in bands["seed"].checks)
    meg = next(n for n in A.null_results() if n["id"] == "MEGII_2024")
    assert "2411.07994" in meg["reference"] and "1.2e-5" in meg["result"]
    dg = A.external_combinations()[0]
    assert (dg["mass_MeV"], dg["total_MeV"]) == (16.85, 0.04)


def test_he4_2019_alternative_value():
    ms = {m.id: m for m in A.load_measurements(he4_2019="epj")}
    assert ms["He4_2019"].mass == 16.98 and "04005" in ms["He4_2019"].reference
    with pytest.raises(InputError, match="--he4-2019"):
        A.load_measurements(he4_2019="prc")


@pytest.mark.parametrize("m_x, delta_e, expect", [
    (17.01, 18.15, 139.1),  # 8Be, physics.md §13
    (16.70, 18.15, 133.8),
    (16.84, 21.01, 106.5),  # 4He 21.01
    (16.94, 20.49, 111.4),  # 4He at 20.49 (E_p = 0.90 MeV)
    (17.03, 17.23, 162.5),  # 12C
])
def test_opening_angles_physics_md(m_x, delta_e, expect):
    assert float(A.opening_angle(m_x, delta_e)) == pytest.approx(expect, abs=0.05)


def test_recoil_lowers_the_boson_energy_by_2p7_kev_in_8be():
    # physics.md §13: recoil lowers E_X by a few keV; 2.7 keV for 8Be
    shift = 18.15 - float(A.x_energy(17.01, 18.15, "8Be"))
    assert shift == pytest.approx(2.7e-3, abs=0.05e-3)
    # analytic: ΔE - E_X = (ΔE² - m²) / (2 M*)
    ms = A.NUCLEUS_MASS["8Be"] + 18.15
    assert shift == pytest.approx((18.15**2 - 17.01**2) / (2 * ms), rel=1e-9)
    # less energy at the same mass: a wider opening angle
    assert A.opening_angle(17.01, 18.15, "8Be") > A.opening_angle(17.01, 18.15)


@settings(max_examples=40, deadline=None)
@given(st.floats(2.0, 17.0), st.floats(0.3, 5.0), st.sampled_from([None, "4He", "8Be", "12C"]))
def test_angle_inverse_roundtrip(m_x, excess, nucleus):
    de = m_x + excess
    th = A.opening_angle(m_x, de, nucleus)
    assert float(A.mass_from_angle(th, de, nucleus)) == pytest.approx(m_x, rel=1e-9)


def test_naive_average_physics_md():
    """physics.md §13: 16.96 ± 0.10 MeV, χ² = 0.6 for 4 dof; statistical only 16.96 ± 0.06."""
    c = A.combine(A.load_measurements(), "uncorrelated")
    assert (round(c.mass, 2), round(c.error, 2)) == (16.96, 0.10)
    assert round(c.chi2, 1) == 0.6 and c.ndof == 4
    assert c.p_value == pytest.approx(sps.chi2.sf(c.chi2, 4))
    s = A.combine(A.load_measurements(), "stat-only")
    assert (round(s.mass, 2), round(s.error, 2)) == (16.96, 0.06)
    # the same number by hand: inverse-variance weights
    ms = A.load_measurements()
    w = np.array([1 / m.error**2 for m in ms])
    x = np.array([m.mass for m in ms])
    assert c.mass == pytest.approx((w * x).sum() / w.sum(), rel=1e-12)
    assert c.error == pytest.approx(w.sum() ** -0.5, rel=1e-12)
    assert c.weights.sum() == pytest.approx(1.0)


def _toy(mid, nucleus, setup, group, mass, stat, syst):
    return A.Measurement(id=mid, nucleus=nucleus, final_nucleus=nucleus, transition="toy",
                         delta_e=18.0, mass=mass, stat=stat, syst=syst, total=None, setup=setup,
                         syst_group=group, datasets=("toy",), reference="toy", checks=())


def test_correlated_two_measurements_blue():
    """Two values with correlation ρ_tot = ρ s1 s2/(σ1 σ2): the BLUE weight of the first is
    (σ2² - c)/(σ1² + σ2² - 2c), c = ρ s1 s2 (Lyons, Gibaut, Clifford, NIM A270 (1988) 110)."""
    a = _toy("a", "8Be", "X", "a", 16.8, 0.10, 0.20)
    b = _toy("b", "8Be", "Y", "b", 17.1, 0.15, 0.10)
    for rho, model in ((0.6, "nucleus"), (0.6, "common"), (0.0, "nucleus")):
        comb = A.combine([a, b], model, rho)
        c = rho * 0.20 * 0.10
        v1, v2 = a.error**2, b.error**2
        w1 = (v2 - c) / (v1 + v2 - 2 * c)
        assert comb.mass == pytest.approx(w1 * 16.8 + (1 - w1) * 17.1, rel=1e-12)
        assert comb.error**2 == pytest.approx((v1 * v2 - c * c) / (v1 + v2 - 2 * c), rel=1e-12)
        assert comb.chi2 == pytest.approx(0.3**2 / (v1 + v2 - 2 * c), rel=1e-12)
    # different set-ups: the 'setup' model leaves them uncorrelated
    assert A.combine([a, b], "setup", 0.6).mass == pytest.approx(
        A.combine([a, b], "uncorrelated").mass, rel=1e-12)


def test_shared_systematic_of_per_energy_values():
    """n values with statistical errors σ_i and one common systematic s: the GLS mean is the
    statistical inverse-variance mean and its variance 1/Σ(1/σ_i²) + s²."""
    ms = [m for m in A.load_measurements("per-energy") if m.syst_group == "C12_2022"]
    assert len(ms) == 4
    comb = A.combine(ms, "uncorrelated")
    w = np.array([1 / m.stat**2 for m in ms])
    x = np.array([m.mass for m in ms])
    assert comb.mass == pytest.approx((w * x).sum() / w.sum(), rel=1e-10)
    assert comb.error == pytest.approx(math.sqrt(1 / w.sum() + 0.20**2), rel=1e-10)


def test_chi2_curve_is_the_gls_parabola():
    c = A.combine(A.load_measurements("per-energy"), "nucleus", 0.5)
    m = np.linspace(16.5, 17.5, 11)
    cinv = np.linalg.inv(c.cov)
    direct = [(c.values - x) @ cinv @ (c.values - x) for x in m]
    np.testing.assert_allclose(c.chi2_at(m), direct, rtol=1e-10)
    assert "rho = 0.5" in c.assumptions


def test_bad_combination_inputs():
    ms = A.load_measurements()
    with pytest.raises(InputError, match="--correlation"):
        A.combine(ms, "full")
    with pytest.raises(InputError, match="--rho"):
        A.combine(ms, "nucleus", 1.5)
    with pytest.raises(InputError, match="--measurements"):
        A.load_measurements(ids=["Be8_2016", "Be8_2099"])
    with pytest.raises(InputError, match="--dataset"):
        A.load_measurements("all")
    with pytest.raises(InputError):
        A.opening_angle(17.0, 18.15, "7Li")
