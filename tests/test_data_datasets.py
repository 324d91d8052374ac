"""Shipped data sets: the padme-run3 table against the published reference values.

References: the README of PADME's Run III inputs as prepared for x17scan (values computed from
the files of tommasoSpadaro/PADMERunIIISensitivity @ f9d62b0, arXiv:2505.24797) and the
method description (padme-run3-method.md sections 1-2). Typed in here: tests never read
outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from x17scan.data import DatasetInfo, list_datasets, load
from x17scan.data.datasets import path_of, provenance_of
from x17scan.errors import InputError
from x17scan.physics import e_beam

# README "Reference rows for an importer" (periods 0-2). Columns: sqrt_s, E_beam (m_e = 0.511),
# PoT, PoT error (file, with 0.3 %), N2, sqrt(N2), B, B error (file, with 0.3 %),
# eps (file), eps error (-low, +high), passed, total, R, sigma_rel.
README_ROWS = {
    0: dict(sqrt_s=17.128531, e_beam_0511=286.56, pot=7.177496e9, pot_err_file=2.5724e7,
            pot_err=3.3546e7, n_obs=27089.811, sqrt_n=164.590, bkg=3.676013e-6,
            bkg_err_file=1.5182e-8, bkg_err=1.8764e-8, eff_file=0.203354,
            eff_low=5.696e-4, eff_high=5.708e-4, passed=101677, total=500000,
            ratio=1.026729, sigma_rel=0.00921),
    1: dict(sqrt_s=17.268178, e_beam_0511=291.26, pot=5.495632e9, pot_err_file=1.8969e7,
            pot_err=2.5133e7, n_obs=20432.295, sqrt_n=142.942, bkg=3.687848e-6,
            bkg_err_file=1.5132e-8, bkg_err=1.8745e-8, eff_file=0.095540,
            eff_low=4.159e-4, eff_high=4.175e-4, passed=47770, total=500000,
            ratio=1.008153, sigma_rel=0.00978),
    2: dict(sqrt_s=17.224326, e_beam_0511=289.78, pot=8.609610e9, pot_err_file=2.7969e7,
            pot_err=3.8071e7, n_obs=31840.077, sqrt_n=178.438, bkg=3.682729e-6,
            bkg_err_file=1.5146e-8, bkg_err=1.8747e-8, eff_file=0.094016,
            eff_low=4.129e-4, eff_high=4.146e-4, passed=47008, total=500000,
            ratio=1.004202, sigma_rel=0.00877),
}
EPS0_PATCHED = 0.0932355  # README quirk 1 / method doc section 1


def rel(a, b):
    return abs(a / b - 1.0)


def row_of(table, period):
    (i,) = np.flatnonzero(table.period == period)
    return int(i)


def check_reference_rows(t, with_syst=True):
    """The README reference rows (shared with test_data_padme)."""
    for period, ref in README_ROWS.items():
        i = row_of(t, period)
        assert t.sqrt_s[i] == pytest.approx(ref["sqrt_s"], abs=5e-7)
        # README E_beam uses PADME's m_e = 0.511 MeV; ours the CODATA mass
        assert round(float(e_beam(t.sqrt_s[i], 0.511)), 2) == ref["e_beam_0511"]
        assert rel(t.e_beam[i], ref["e_beam_0511"]) < 3e-5
        assert rel(t.pot[i], ref["pot"]) < 1e-6
        assert rel(t.pot_err[i], ref["pot_err" if with_syst else "pot_err_file"]) < 5e-5
        assert t.n_obs[i] == pytest.approx(ref["n_obs"], abs=5e-4)
        assert np.sqrt(t.n_obs[i]) == pytest.approx(ref["sqrt_n"], abs=5e-4)
        assert rel(t.bkg_per_pot[i], ref["bkg"]) < 2e-7
        assert rel(t.bkg_per_pot_err[i], ref["bkg_err" if with_syst else "bkg_err_file"]) < 5e-5
        assert t.sig_eff_err[i] == pytest.approx(0.5 * (ref["eff_low"] + ref["eff_high"]),
                                                 abs=1e-7)
        if period == 0:
            assert round(float(t.sig_eff[i]), 7) == EPS0_PATCHED
        else:
            assert t.sig_eff[i] == ref["eff_file"]
        if with_syst:
            assert t.ratio[i] == pytest.approx(ref["ratio"], abs=5e-7)
            assert t.ratio_rel_err[i] == pytest.approx(ref["sigma_rel"], abs=5e-6)
    counts = t.meta["sig_eff_counts"]
    for period, ref in README_ROWS.items():
        i = row_of(t, period)
        assert counts["passed"][i] == ref["passed"] and counts["total"][i] == ref["total"]


def check_aggregates(t):
    """README aggregate checks over the 42 fit points and all 52 periods."""
    assert len(t) == 52 and t.n_used == 42
    used_periods = sorted(t.period[t.used].tolist())
    assert used_periods == list(range(23)) + list(range(28, 47))
    u = t.used
    assert rel(t.pot[u].sum(), 3.1513e11) < 2e-5
    assert rel(t.pot[u & (t.scan_part == 0)].sum(), 1.6979e11) < 3e-5
    assert rel(t.pot[u & (t.scan_part == 1)].sum(), 1.4535e11) < 3e-5
    assert t.n_obs[u].sum() == pytest.approx(1137272.3, abs=0.05)
    srel = t.ratio_rel_err[u]
    assert round(100 * srel.min(), 2) == 0.78 and round(100 * srel.max(), 2) == 0.98
    assert rel(t.pot.sum(), 3.9243e11) < 2e-5
    p = t.period
    assert rel(t.pot[(p >= 23) & (p <= 27)].sum(), 3.611e10) < 2e-4
    assert rel(t.pot[p >= 47].sum(), 4.119e10) < 2e-4
    assert (np.diff(t.sqrt_s) > 0).all()
    assert sorted(p.tolist()) == list(range(52))


def test_shipped_padme_table_loads_with_reference_values():
    t = load("padme-run3")
    assert t.name == "padme-run3" and t.observable == "2cl"
    check_aggregates(t)
    check_reference_rows(t)
    m = t.meta
    assert m["source_commit"] == "f9d62b00d5aaaa041511dc395c56f0555106768a"
    assert m["source_repository"] == "tommasoSpadaro/PADMERunIIISensitivity"
    assert "arXiv:2505.24797" in m["citation"]
    assert "licence" in m["licence"].lower() or "redistribution" in m["licence"]
    assert m["syst_added_in_quadrature"] == {"pot": 0.003, "bkg_per_pot": 0.003}


def test_list_datasets():
    infos = list_datasets()
    assert [d.name for d in infos] == ["padme-run3"]
    d = infos[0]
    assert isinstance(d, DatasetInfo)
    assert (d.points, d.used, d.observable) == (52, 42, "2cl")
    assert d.provenance.is_file() and d.path == path_of("padme-run3")


def test_provenance_note_matches_table_and_test_inputs():
    text = provenance_of("padme-run3").read_text(encoding="utf-8")
    t = load("padme-run3")
    assert "f9d62b00d5aaaa041511dc395c56f0555106768a" in text and "arXiv:2505.24797" in text
    assert "licence" in text.lower()
    # every input checksum recorded in the table is quoted in the note and matches the
    # committed copies used by the importer test
    listed = {}
    sums = Path(__file__).parent / "data" / "padme-run3" / "checksums.sha256"
    for line in sums.read_text().splitlines():
        sha, name = line.split()
        listed[name] = sha
    assert t.meta["input_sha256"] == listed
    for name, sha in listed.items():
        assert re.search(rf"`{re.escape(name)}`.*`{sha}`", text), name


def test_unknown_name_lists_available():
    with pytest.raises(InputError) as info:
        load("padme-run4")
    msg = str(info.value)
    assert "padme-run3" in msg and "fix:" in msg and info.value.field == "dataset"


def test_load_accepts_a_path(tmp_path):
    t = load("padme-run3")
    p = tmp_path / "copy.parquet"
    t.write(p)
    assert load(p).equals(t) and load(str(p)).equals(t)
