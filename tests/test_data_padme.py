"""PADME Run III importer: re-import the committed ROOT inputs and check every quirk.

References: README of PADME's Run III inputs (reference rows, aggregates, TEfficiency counts)
and padme-run3-method.md section 1 (eps_0 patch: p0 = 24805.3 +- 36.7, p1 = 2675.3 +- 117.5,
eps_0 = 0.0932355) and section 3b (eps/B line over the 42 points: e0 = 24828.66 +- 26.49,
e1 = 2710.52 +- 92.35 MeV^-1, rho = -0.0305, chi2 = 34.67), from PADME's code
tommasoSpadaro/PADMERunIIISensitivity @ f9d62b0 (arXiv:2505.24797). Line fits here use
numpy.polyfit, independent of the importer's own fit.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_data_datasets import EPS0_PATCHED, check_aggregates, check_reference_rows, row_of

from x17scan.data import import_padme, load
from x17scan.data import padme as padme_mod
from x17scan.errors import InputError

INPUTS = Path(__file__).parent / "data" / "padme-run3"
PIVOT = 16.92


@pytest.fixture(scope="module")
def table():
    return import_padme(INPUTS)


@pytest.fixture()
def inputs_copy(tmp_path):
    dst = tmp_path / "padme"
    shutil.copytree(INPUTS, dst)
    return dst


def polyfit_line(x, y, sigma):
    """Weighted straight line y = p0 + p1 (x - 16.92) with numpy.polyfit (unscaled errors)."""
    (p1, p0), cov = np.polyfit(x - PIVOT, y, 1, w=1.0 / sigma, cov="unscaled")
    chi2 = float(np.sum(((y - p0 - p1 * (x - PIVOT)) / sigma) ** 2))
    e1, e0 = np.sqrt(np.diag(cov))  # polyfit orders the covariance (p1, p0)
    return p0, e0, p1, e1, cov[0, 1] / (e0 * e1), chi2


def test_import_equals_shipped_table_exactly(table):
    shipped = load("padme-run3")
    assert table.equals(shipped)
    assert dict(table.meta) == dict(shipped.meta)


def test_reference_rows_and_aggregates(table):
    check_reference_rows(table)
    check_aggregates(table)


def test_scan_part_rule_not_stored_flags(table):
    p, s = table.period, table.sqrt_s
    expected = np.where(s < 16.2, -1, np.where(p < 23, 0, 1))
    expected[p > 46] = -1
    assert np.array_equal(table.scan_part, expected)
    assert np.array_equal(table.used, np.isin(expected, (0, 1)))
    note = table.meta["stored_scan_part_flags"]
    assert "47-51" in note and "rule is applied" in note


def test_eps0_patch_recomputed_independently(table):
    """Method doc section 1: scan-1 eps/B line without period 0, times B_0."""
    t = table
    part0 = (t.scan_part == 0) & (t.period != 0)
    b_err = t.bkg_per_pot_err  # includes the 0.3 % term (default import)
    y = t.sig_eff / t.bkg_per_pot
    sigma = y * np.sqrt((b_err / t.bkg_per_pot) ** 2 + (t.sig_eff_err / t.sig_eff) ** 2)
    p0, e0, p1, e1, _, _ = polyfit_line(t.sqrt_s[part0], y[part0], sigma[part0])
    assert p0 == pytest.approx(24805.3, abs=0.05) and e0 == pytest.approx(36.7, abs=0.05)
    assert p1 == pytest.approx(2675.3, abs=0.05) and e1 == pytest.approx(117.5, abs=0.05)
    i0 = row_of(t, 0)
    eps0 = (p0 + p1 * (t.sqrt_s[i0] - PIVOT)) * t.bkg_per_pot[i0]
    assert round(eps0, 7) == EPS0_PATCHED
    assert t.sig_eff[i0] == pytest.approx(eps0, rel=1e-12)
    # error of the replaced value kept: mean of the README's -5.696e-4 / +5.708e-4
    assert t.sig_eff_err[i0] == pytest.approx(5.702e-4, abs=1e-7)
    patch = t.meta["patches"][0]
    assert patch["sig_eff_file"] == 0.203354 and patch["line_points"] == 22


def test_eps_over_b_line_of_the_method(table):
    """Method doc section 3b (d): the 42-point eps/B line PADME constrains in the S+B fit."""
    t = table.fit_points()
    y = t.sig_eff / t.bkg_per_pot
    sigma = y * np.hypot(t.bkg_per_pot_err / t.bkg_per_pot, t.sig_eff_err / t.sig_eff)
    p0, e0, p1, e1, rho, chi2 = polyfit_line(t.sqrt_s, y, sigma)
    assert p0 == pytest.approx(24828.66, abs=0.005) and e0 == pytest.approx(26.49, abs=0.005)
    assert p1 == pytest.approx(2710.52, abs=0.005) and e1 == pytest.approx(92.35, abs=0.005)
    assert rho == pytest.approx(-0.0305, abs=5e-5)
    assert chi2 == pytest.approx(34.67, abs=0.005)
    # the importer's closed-form fit agrees with polyfit
    p, cov, chi2_b = padme_mod.line_fit(t.sqrt_s, y, sigma)
    np.testing.assert_allclose(p, [p0, p1], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [e0, e1], rtol=1e-10)
    assert chi2_b == pytest.approx(chi2, rel=1e-10)


def test_raw_file_errors_with_zero_syst():
    t = import_padme(INPUTS, syst_pot=0, syst_bkg=0)
    check_reference_rows(t, with_syst=False)
    assert t.meta["syst_added_in_quadrature"] == {"pot": 0.0, "bkg_per_pot": 0.0}
    # the eps_0 patch is part of the data definition: independent of the error options
    assert round(float(t.sig_eff[row_of(t, 0)]), 7) == EPS0_PATCHED


def test_tefficiency_counts_buffer_and_fallback(table, monkeypatch):
    passed, total = padme_mod.read_tefficiency_counts(
        INPUTS / "completeAnalysis" / "SignalEffvsPer_all.root")
    # README: 101 677 / 500 000 for period 0, 46 761-48 627 for periods 1-4, 499 612 total for 51
    assert passed[0] == 101677 and (total[:51] == 500000).all() and total[51] == 499612
    assert 46761 <= passed[1:5].min() and passed[1:5].max() <= 48627
    assert "buffer" in table.meta["sig_eff_counts"]["method"]

    def broken(*a, **k):
        raise padme_mod.TEfficiencyLayoutError("simulated")

    monkeypatch.setattr(padme_mod, "read_tefficiency_counts", broken)
    t = import_padme(INPUTS)
    assert t.equals(table)
    assert t.meta["sig_eff_counts"]["passed"] == table.meta["sig_eff_counts"]["passed"]
    assert "fallback" in t.meta["sig_eff_counts"]["method"]


def test_clopper_pearson_check_can_fail(monkeypatch):
    monkeypatch.setattr(padme_mod, "CP_LEVEL", 0.90)
    with pytest.raises(InputError) as info:
        import_padme(INPUTS)
    assert info.value.field == "SigEffvsS" and "Clopper-Pearson" in str(info.value)


STUBS = {
    "PoTCorrvsSqrt.root": "PoTCorrvsSqrtS_all_scan_corr.root",
    "BackgroundYieldvsSqrtS.root": "YieldvsSqrsS_bkg_all_nosyst_noBkg.root",
    "SignalEffvsSqrtS.root": "SignalEffvsSqrtS_all.root",
}


def test_git_link_stubs_are_followed(table, inputs_copy):
    ca = inputs_copy / "completeAnalysis"
    for stub, target in STUBS.items():
        (ca / stub).write_text(target)  # what git writes without symlink support
    t = import_padme(inputs_copy)
    assert t.equals(table)
    links = t.meta["links_followed"]
    assert len(links) == 3 and all("git link stub" in x for x in links)
    assert t.meta["input_sha256"] == table.meta["input_sha256"]


@pytest.mark.skipif(os.name == "nt", reason="symbolic links")
def test_symbolic_links_are_followed(table, inputs_copy):
    ca = inputs_copy / "completeAnalysis"
    for stub, target in STUBS.items():
        os.symlink(target, ca / stub)
    t = import_padme(inputs_copy)
    assert t.equals(table) and len(t.meta["links_followed"]) == 3
    assert t.meta["input_sha256"] == table.meta["input_sha256"]


def one_line_error(fn, *args, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kw)
    text = str(info.value)
    assert "\n" not in text and "fix:" in text
    return info.value


def test_stub_to_missing_target(inputs_copy):
    ca = inputs_copy / "completeAnalysis"
    (ca / "PoTCorrvsSqrt.root").write_text("PoTCorrvsSqrtS_all_scan_corr.root")
    (ca / "PoTCorrvsSqrtS_all_scan_corr.root").unlink()
    err = one_line_error(import_padme, inputs_copy)
    assert "PoTCorrvsSqrt.root" in str(err) and "missing" in str(err)


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty", "random"])
@pytest.mark.parametrize("name", ["Sqrts.root", "N2ClvsSqrsS_data_all_nosyst_noBkg.root",
                                  "SignalEffvsPer_all.root"])
def test_damaged_input_names_the_file(inputs_copy, name, damage):
    p = inputs_copy / "completeAnalysis" / name
    data = p.read_bytes()
    if damage == "missing":
        p.unlink()
    elif damage == "truncated":
        p.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        p.write_bytes(b"")
    else:
        p.write_bytes(np.random.default_rng(5).integers(0, 256, len(data), np.uint8).tobytes())
    err = one_line_error(import_padme, inputs_copy)
    assert name in str(err)


def test_graph_x_must_match_sqrts(monkeypatch):
    real = padme_mod._read_graph

    def shifted(path, name, rel):
        g = real(path, name, rel)
        if name == "PoTCorr":
            g["x"] = g["x"].copy()
            g["x"][7] += 3.5e-5
        return g

    monkeypatch.setattr(padme_mod, "_read_graph", shifted)
    err = one_line_error(import_padme, INPUTS)
    assert err.field == "PoTCorr" and "period 7" in str(err)
    assert "PoTCorrvsSqrtS_all_scan_corr.root" in str(err)


def test_changed_inputs_do_not_claim_the_commit(monkeypatch):
    monkeypatch.setitem(padme_mod.KNOWN_SHA256, "completeAnalysis/Sqrts.root", "0" * 64)
    t = import_padme(INPUTS)
    assert t.meta["source_commit"].startswith("unknown")


@pytest.mark.parametrize(("kw", "field"), [({"syst_pot": -0.1}, "syst_pot"),
                                           ({"syst_bkg": float("nan")}, "syst_bkg"),
                                           ({"syst_pot": 1.5}, "syst_pot")])
def test_bad_syst_options(kw, field):
    assert one_line_error(import_padme, INPUTS, **kw).field == field


def test_not_a_directory(tmp_path):
    err = one_line_error(import_padme, tmp_path / "nowhere")
    assert err.field == "directory"
