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
