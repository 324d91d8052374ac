"""ScanTable validation: good tables build, bad ones give one line naming field, row and fix."""

import numpy as np
import pytest

from x17scan.data import ScanTable
from x17scan.errors import InputError
from x17scan.physics import e_beam


def columns(n=4):
    s = np.linspace(16.5, 17.1, n)
    return {
        "sqrt_s": s, "e_beam": e_beam(s), "n_obs": np.full(n, 3.5e4), "pot": np.full(n, 1e10),
        "pot_err": np.full(n, 3e7), "bkg_per_pot": np.full(n, 3.5e-6),
        "bkg_per_pot_err": np.full(n, 1.5e-8), "sig_eff": np.full(n, 0.09),
        "sig_eff_err": np.full(n, 4e-4),
    }


def test_defaults_and_readonly():
    t = ScanTable.from_columns(columns())
    assert len(t) == 4 and t.n_used == 4
    assert list(t.period) == [0, 1, 2, 3] and (t.scan_part == 0).all()
    np.testing.assert_allclose(t.ratio, 3.5e4 / (1e10 * 3.5e-6))
    with pytest.raises(ValueError):
        t.pot[0] = 1.0


def test_select_and_replace():
    t = ScanTable.from_columns({**columns(), "used": [True, False, True, True]})
    assert len(t.fit_points()) == 3
    t2 = t.replace(n_obs=np.full(4, 1.0))
    assert (t2.n_obs == 1.0).all() and (t.n_obs == 3.5e4).all()


def _mutate(name, fn):
    c = columns()
    fn(c)
    return c


BAD = {
    "missing column": (lambda c: c.pop("pot"), "pot", None),
    "NaN pot": (lambda c: c["pot"].__setitem__(1, np.nan), "pot", 1),
    "negative pot": (lambda c: c["pot"].__setitem__(2, -1e10), "pot", 2),
    "zero background": (lambda c: c["bkg_per_pot"].__setitem__(0, 0.0), "bkg_per_pot", 0),
    "unsorted": (lambda c: c.update(sqrt_s=c["sqrt_s"][::-1], e_beam=c["e_beam"][::-1]),
                 "sqrt_s", 1),
    "GeV": (lambda c: c.update(sqrt_s=c["sqrt_s"] / 1e3, e_beam=c["e_beam"] / 1e3), "sqrt_s", 0),
    "unknown column": (lambda c: c.update(lumi=np.ones(4)), "lumi", None),
    "efficiency in percent": (lambda c: c["sig_eff"].__setitem__(3, 9.0), "sig_eff", 3),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line(case):
    fn, field, row = BAD[case]
    with pytest.raises(InputError) as info:
        ScanTable.from_columns(_mutate(case, fn), source="table.csv")
    err = info.value
    assert err.field == field and err.row == row
    text = str(err)
    assert "\n" not in text and text.startswith("table.csv") and "fix:" in text


def test_duplicate_sqrt_s_refused_unless_unused():
    c = columns()
    c["sqrt_s"][2] = c["sqrt_s"][1]
    c["e_beam"] = e_beam(c["sqrt_s"])
    with pytest.raises(InputError, match="duplicated"):
        ScanTable.from_columns(c)
    ScanTable.from_columns({**c, "used": [True, True, False, True]})


MORE_BAD = {
    "relative pot_err": (lambda c: c["pot_err"].__setitem__(1, 0.003), "pot_err", 1),
    "relative bkg err": (lambda c: c["bkg_per_pot_err"].__setitem__(2, 0.004),
                         "bkg_per_pot_err", 2),
    "eff err in percent": (lambda c: c["sig_eff_err"].__setitem__(0, 4.0), "sig_eff_err", 0),
    "huge period": (lambda c: c.update(period=[0, 1, 1e30, 3]), "period", 2),
    "used 2": (lambda c: c.update(used=np.array([1, 2, 1, 1])), "used", 1),
    "no rows": (lambda c: c.update({k: v[:0] for k, v in c.items()}), "rows", None),
}


@pytest.mark.parametrize("case", sorted(MORE_BAD))
def test_more_bad_input(case):
    fn, field, row = MORE_BAD[case]
    with pytest.raises(InputError) as info:
        ScanTable.from_columns(_mutate(case, fn))
    assert info.value.field == field and info.value.row == row and "fix:" in str(info.value)


def test_numeric_used_and_string_cells():
    c = {k: np.array([str(x) for x in v]) for k, v in columns().items()}
    t = ScanTable.from_columns({**c, "used": np.array([1.0, 0.0, 1.0, 1.0])})
    assert t.n_used == 3 and t.equals(ScanTable.from_columns({**columns(),
                                                              "used": [1, 0, 1, 1]}))


def test_ratio_rel_err_and_checksum(tmp_path):
    t = ScanTable.from_columns(columns())
    # sigma_rel = sqrt((3e7/1e10)^2 + 1/3.5e4 + (1.5e-8/3.5e-6)^2), by hand
    expected = np.sqrt(3e-3**2 + 1 / 3.5e4 + (1.5e-8 / 3.5e-6) ** 2)
    np.testing.assert_allclose(t.ratio_rel_err, expected, rtol=1e-14)
    assert t.checksum() == ScanTable.from_columns(columns()).checksum()
    assert t.checksum() != t.replace(n_obs=np.full(4, 3.6e4)).checksum()
    assert t.checksum() == t.with_meta(name="other").checksum()
    t.write(tmp_path / "t.parquet")
    assert ScanTable.read(tmp_path / "t.parquet").equals(t)
