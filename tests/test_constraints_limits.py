"""External limits: package data integrity, cleaning, interpolation vs docs/physics.md §11."""

import hashlib
from decimal import Decimal
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from x17scan.constraints import limits as L
from x17scan.errors import InputError
from x17scan.physics.constants import E_CHARGE

DATA = resources.files("x17scan.constraints") / "data" / "limits"

# docs/physics.md §11 ("Existing limits near 17 MeV"), read off the DarkCast digitisations by
# linear interpolation in mass, in ε: (lower, upper) at 16.7 and 17.0 MeV (upper None: one-sided).
TABLE_11 = {
    "NA64_Banerjee2019hmi": (("1.18e-4", "6.62e-4"), ("1.19e-4", "6.43e-4")),
    "NA64_Banerjee2018vgk": (("1.44e-4", "3.51e-4"), ("1.46e-4", "3.41e-4")),
    "E141_Riordan1987aw": (("5.2e-5", "1.88e-4"), ("5.4e-5", "1.80e-4")),
    "Orsay_Davier1989wz": (("9.4e-7", "6.8e-5"), ("9.5e-7", "6.6e-5")),
    "KEK_Konaka1986cb": (("6.5e-7", "5.7e-5"), ("6.5e-7", "5.6e-5")),
    "E137_Andreas2012mt": (("3.2e-8", "2.3e-5"), ("3.2e-8", "2.29e-5")),
    "KLOE_Anastasi2015qla": (("2.00e-3", None), ("2.01e-3", None)),
    "NA48_Batley2015lha": (("7.3e-4", None), ("8.7e-4", None)),
    "AMMe_Bodas2021fsy_rb": (("1.39e-3", None), ("1.41e-3", None)),
    "AMMe_Bodas2021fsy_cs": (("1.65e-3", None), ("1.68e-3", None)),
}
# The table prints 6.8e-5 for Orsay's upper edge at 16.7 MeV, but linear interpolation between
# the digitised points (16.324, 6.9095e-5) and (16.922, 6.654e-5) gives 6.749e-5, which rounds
# to 6.7e-5: a double rounding in the table (6.749 -> 6.75 -> 6.8). Compared to one unit.
DOUBLE_ROUNDED = {("Orsay_Davier1989wz", 16.7, 1)}


def _ulp(text: str) -> float:
    return float(Decimal(1).scaleb(Decimal(text).as_tuple().exponent))


def test_package_data_checksums():
    """Every copied file is byte-identical to the reference shelf (SHA256SUMS written at copy)."""
    lines = (DATA / "SHA256SUMS").read_text().split("\n")
    entries = [ln.split() for ln in lines if ln.strip()]
    assert len(entries) == 29  # index, README, 26 DarkCast files, the derived (g-2) table
    for digest, name in entries:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_licence_notice_shipped():
    readme = (DATA.parent / "README.md").read_text()
    assert "GPL-2.0-or-later" in readme and "arXiv:1801.04847" in readme
    assert "GNU GENERAL PUBLIC LICENSE" in (DATA / "COPYING.GPL-2").read_text()


def test_every_indexed_curve_loads_and_is_clean():
    names = L.available_limits()
    assert len(names) == 26
    for n in names:
        lim = L.get_limit(n)
        assert lim.mass.size >= 1 and np.all(np.diff(lim.mass) >= 0)
        assert np.all(lim.eps_lower < L.NO_CONSTRAINT_EPS)  # 1e5 markers dropped
        assert 1.0 <= lim.mass.min() and lim.mass.max() <= 100.0
        if lim.two_sided:
            assert np.all(lim.eps_upper >= lim.eps_lower)
        np.testing.assert_allclose(lim.gve_lower, lim.eps_lower * E_CHARGE)


def test_no_constraint_markers_removed():
    # README: one 1e5 row each in A1, BaBar, KLOE_Anastasi2015qla (at 36.004, 20.042, 4.7499 MeV)
    for name, m_marker in (("A1_Merkel2014avp", 36.004), ("BaBar_Lees2014xha", 20.042),
                           ("KLOE_Anastasi2015qla", 4.7499)):
        lim = L.get_limit(name)
        assert lim.mass.min() > m_marker
        assert np.all(np.isnan(lim.eps_at(m_marker)[0]))


@pytest.mark.parametrize("name", sorted(TABLE_11))
def test_linear_interpolation_reproduces_physics_md_table(name):
    lim = L.get_limit(name)
    for mass, refs in zip((16.7, 17.0), TABLE_11[name], strict=True):
        got = lim.eps_at(mass, "linear")
        for k, ref in enumerate(refs):
            if ref is None:
                assert not lim.two_sided and got[1] == np.inf
                continue
            tol = _ulp(ref) * (1.0 if (name, mass, k) in DOUBLE_ROUNDED else 0.5)
            assert abs(float(got[k]) - float(ref)) <= tol * (1 + 1e-9), (mass, k, got[k], ref)


@pytest.mark.parametrize("name", sorted(TABLE_11))
def test_loglog_interpolation_close_to_linear(name):
    """Between digitised points the two interpolations differ by the curvature: < 0.5 % here,
    i.e. at most one unit of the table's last digit."""
    lim = L.get_limit(name)
    for mass, refs in zip((16.7, 17.0), TABLE_11[name], strict=True):
        lin, log = lim.eps_at(mass, "linear"), lim.eps_at(mass, "loglog")
        for k, ref in enumerate(refs):
            if ref is None:
                continue
            assert abs(log[k] / lin[k] - 1) < 5e-3
            assert abs(float(log[k]) - float(ref)) <= _ulp(ref)


@pytest.mark.parametrize("method", L.INTERPOLATION_METHODS)
def test_interpolation_hits_digitised_points(method):
    lim = L.get_limit("NA64_Banerjee2019hmi")
    lo, hi = lim.eps_at(lim.mass, method)
    np.testing.assert_allclose(lo, lim.eps_lower, rtol=1e-12)
    np.testing.assert_allclose(hi, lim.eps_upper, rtol=1e-12)


def test_repeated_masses_keep_the_step():
    """E141 repeats masses (vertical steps): just below and above a step the interpolation
    gives the two ends of the step, and it is never NaN inside the range."""
    lim = L.get_limit("E141_Riordan1987aw")
    same = np.diff(lim.mass) == 0
    starts = np.flatnonzero(same & ~np.r_[False, same[:-1]])  # first point of each step
    assert starts.size > 0
    for i in starts:
        m = lim.mass[i]
        j = i + 1
        while j + 1 < lim.mass.size and lim.mass[j + 1] == m:
            j += 1
        if i > 0:  # a step at the first mass has nothing below it
            below = lim.eps_at(m * (1 - 1e-9), "linear")[0]
            assert below == pytest.approx(lim.eps_lower[i], rel=1e-5)
        if j + 1 < lim.mass.size:
            above = lim.eps_at(m * (1 + 1e-9), "linear")[0]
            assert above == pytest.approx(lim.eps_lower[j], rel=1e-5)
    grid = np.linspace(*lim.mass_range, 2001)
    assert np.all(np.isfinite(lim.eps_at(grid)[0]))


def test_outside_range_and_single_point():
    e774 = L.get_limit("E774_Bross1989mp")  # reaches only 9.8 MeV (physics.md §11)
    assert np.isnan(e774.eps_at(17.0)[0])
    assert not e774.excludes(17.0, 1e-5)
    ps = L.get_limit("PS191_Bernardi1985ny")
    assert ps.mass.size == 1
    assert np.isnan(ps.eps_at(90.0)[0])
    assert ps.eps_at(ps.mass[0])[0] == pytest.approx(ps.eps_lower[0])


def test_applicability_flags():
    # index.csv / README: quark-, proton- or muon-coupling limits do not apply to an
    # electron-only vector
    for n in ("NA48_Batley2015lha", "KLOE_Babusci2012cr", "CHARM_Bergsma1985qz",
              "NuCAL_Blumlein1991xh", "NOMAD_Astier2001ck", "PS191_Bernardi1985ny",
              "AMMmu_Bodas2021fsy"):
        assert L.get_limit(n).model_dependent, n
    for n in ("NA64_Banerjee2019hmi", "E141_Riordan1987aw", "KLOE_Anastasi2015qla",
              "BaBar_Lees2014xha", "AMMe_Bodas2021fsy_rb"):
        assert not L.get_limit(n).model_dependent, n
    assert L.get_limit("AMMmu_Bodas2021fsy_2l").band_edge
    assert "1912.11389" in L.get_limit("NA64_Banerjee2019hmi").reference


def test_excludes_na64_band_at_17_mev():
    na64 = L.get_limit("NA64_Banerjee2019hmi")
    # physics.md §11: 1.19e-4 < ε < 6.43e-4 excluded at 17.0 MeV
    assert na64.excludes(17.0, 3e-4 * E_CHARGE)
    assert not na64.excludes(17.0, 8e-4 * E_CHARGE)
    assert not na64.excludes(17.0, 1e-4 * E_CHARGE)
    assert na64.excludes(np.array([17.0, 17.0]), np.array([3e-4, 8e-4]) * E_CHARGE).tolist() == \
        [True, False]


def test_selection_and_unknown_names():
    assert L.resolve_names(None) == list(L.DEFAULT_PLOT_LIMITS)
    assert L.resolve_names("na64_banerjee2019hmi, E141_Riordan1987aw") == [
        "NA64_Banerjee2019hmi", "E141_Riordan1987aw"]
    electron = L.resolve_names("electron")
    assert "NA48_Batley2015lha" not in electron and "NA64_Banerjee2019hmi" in electron
    assert L.resolve_names("none") == []
    with pytest.raises(InputError) as err:
        L.load_limits("NA64,E141_Riordan1987aw")
    msg = str(err.value)
    assert "'NA64'" in msg and "--limits" in msg and "NA64_Banerjee2019hmi" in msg
    assert "\n" not in msg
    with pytest.raises(InputError):
        L.get_limit("NA64_Banerjee2019hmi").eps_at(17.0, "spline")


@settings(max_examples=40, deadline=None)
@given(st.floats(1.31, 24.7), st.floats(-9.0, -1.0))
def test_excludes_consistent_with_edges(mass, log10_g):
    lim = L.get_limit("NA64_Banerjee2019hmi")
    g = 10.0**log10_g
    lo, hi = lim.gve_at(mass)
    assert bool(lim.excludes(mass, g)) == bool(lo <= g <= hi)
