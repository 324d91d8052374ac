"""(g-2)_e bounds and bands vs the derived table, docs/physics.md §12 and DarkCast's curves."""

import csv
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from x17scan.constraints import g2
from x17scan.constraints.limits import get_limit
from x17scan.errors import InputError
from x17scan.physics import constants as C

DERIVED = (resources.files("x17scan.constraints") / "data" / "limits" / "derived"
           / "g-2_e_vector_gve_upper_limits.csv")
KEYS = {"cs": "Cs2018_Parker", "rb": "Rb2020_Morel"}


def _derived():
    with DERIVED.open() as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


@pytest.mark.parametrize("alpha", ["cs", "rb"])
@pytest.mark.parametrize("convention", list(g2.CONVENTIONS))
def test_matches_derived_table(alpha, convention):
    """The derived table (computed independently for x17scan, 5 significant digits; README of
    data/limits) agrees to 1e-3 or better, with NaN where the convention gives no bound."""
    d = _derived()
    ref = d[f"gve_max_{KEYS[alpha]}_{convention}"]
    got = g2.gve_upper_limit(d["M_MeV"], alpha, convention)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(ref))
    ok = np.isfinite(ref)
    if ok.any():
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-4)  # table rounding: 5 digits


def test_physics_md_section_12_values():
    # docs/physics.md §12, bounds at M = 17.0 MeV from Delta a_e(Rb 2020) and (Cs 2018)
    assert g2.gve_upper_limit(17.0, "rb", "2sig") == pytest.approx(3.79e-4, abs=0.005e-4)
    assert g2.gve_upper_limit(17.0, "rb", "2sig") / C.E_CHARGE == pytest.approx(1.25e-3,
                                                                                  abs=0.005e-3)
    assert g2.gve_upper_limit(17.0, "rb", "onesided90") == pytest.approx(3.39e-4, abs=0.005e-4)
    assert g2.gve_upper_limit(17.0, "rb", "onesided95") == pytest.approx(3.60e-4, abs=0.005e-4)
    assert g2.gve_upper_limit(17.0, "rb", "abs+3sig") == pytest.approx(4.28e-4, abs=0.005e-4)
    assert g2.gve_upper_limit(17.0, "rb", "abs+3sig") / C.E_CHARGE == pytest.approx(
        1.41e-3, abs=0.005e-3)
    assert g2.gve_upper_limit(17.0, "cs", "abs+3sig") == pytest.approx(5.10e-4, abs=0.005e-4)
    for conv in ("2sig", "onesided90", "onesided95"):
        assert np.isnan(g2.gve_upper_limit(17.0, "cs", conv))  # Δa(Cs) < 0: no bound
    # §12 example: g_ve = 5e-4 at 17 MeV shifts a_e by +1.88e-12
    assert float(g2.contribution(17.0, 5e-4)) == pytest.approx(1.88e-12, abs=0.005e-12)


def test_reproduces_darkcast_curves():
    """README of data/limits: |Δa| + 3σ reproduces DarkCast's AMMe curves to < 1 %."""
    for alpha, name in (("rb", "AMMe_Bodas2021fsy_rb"), ("cs", "AMMe_Bodas2021fsy_cs")):
        lim = get_limit(name)
        ours = g2.gve_upper_limit(lim.mass, alpha, "abs+3sig")
        np.testing.assert_allclose(ours, lim.gve_lower, rtol=0.01)


def test_inputs_match_physics_constants_and_carry_references():
    inp = g2.g2_inputs()
    assert (inp["rb"].delta_a, inp["rb"].sigma) == C.DELTA_A_E_RB_2020
    assert (inp["cs"].delta_a, inp["cs"].sigma) == C.DELTA_A_E_CS_2018
    for v in inp.values():
        assert v.alpha_reference and v.a_e_exp_reference
        assert "to be checked" in v.status
    assert "Morel" in inp["rb"].alpha_reference and "Parker" in inp["cs"].alpha_reference


def test_default_convention_is_stated():
    assert (g2.DEFAULT_ALPHA, g2.DEFAULT_CONVENTION) == ("rb", "abs+3sig")
    lab = g2.convention_label()
    assert "Rb" in lab and r"|\Delta a|+3\sigma" in lab
    assert "Default" in g2.__doc__


def test_favoured_band_edges_solve_delta_a():
    """Band edges satisfy Δa_V(edge) = Δa ± nσ exactly (identity of the g² scaling)."""
    m = np.array([5.0, 16.9, 17.0, 60.0])
    rb = g2.get_input("rb")
    lo, hi = g2.favoured_band(m, "rb", 1)
    np.testing.assert_allclose(g2.contribution(m, lo), rb.delta_a - rb.sigma, rtol=1e-12)
    np.testing.assert_allclose(g2.contribution(m, hi), rb.delta_a + rb.sigma, rtol=1e-12)
    lo2, hi2 = g2.favoured_band(m, "rb", 2)
    assert np.all(lo2 == 0)  # 4.8 - 2 x 3.0 < 0: g = 0 is inside the 2σ band
    np.testing.assert_allclose(hi2, g2.gve_upper_limit(m, "rb", "2sig"), rtol=1e-12)
    lo_cs, hi_cs = g2.favoured_band(m, "cs", 2)
    assert np.all(np.isnan(lo_cs)) and np.all(np.isnan(hi_cs))


@settings(max_examples=30, deadline=None)
@given(st.floats(1.0, 100.0), st.floats(1e-5, 3e-3), st.sampled_from(["cs", "rb"]))
def test_pull_definition(mass, g, alpha):
    inp = g2.get_input(alpha)
    expect = (float(g2.contribution(mass, g)) - inp.delta_a) / inp.sigma
    assert float(g2.pull(mass, g, alpha)) == pytest.approx(expect, rel=1e-12)
    s = g2.point_summary(mass, g)
    assert s[alpha]["pull"] == pytest.approx(expect, rel=1e-12)
    assert s[alpha]["pull_sm"] == pytest.approx(-inp.delta_a / inp.sigma)


def test_bad_inputs():
    with pytest.raises(InputError, match="--alpha"):
        g2.get_input("k")
    with pytest.raises(InputError, match="--g2-convention"):
        g2.gve_upper_limit(17.0, "rb", "3sig")
    with pytest.raises(InputError):
        g2.contribution(-1.0, 1e-4)
