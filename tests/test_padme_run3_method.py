"""padme-run3: the method end to end on reduced sizes (validation-size runs are in
benchmarks/bench_padme_run3.py): a valid Result with every block, bit-identical results with a
serial and a 2-process executor, checkpoint resume, and bad options as InputError."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import x17scan.data as xdata
from x17scan.errors import InputError
from x17scan.stats.method import METHODS, AnalysisOptions
from x17scan.stats.padme_run3 import PadmeRun3Method
from x17scan.stats.result import EXCESS_KEYS, EXPECTED_KEYS, Result

BAND = [16.82, 16.86, 16.90, 16.94, 16.98]


@pytest.fixture(scope="module")
def method() -> PadmeRun3Method:
    return METHODS["padme-run3"](xdata.load("padme-run3"))


def _opts(**kw) -> AnalysisOptions:
    base = dict(masses=np.array([16.86, 16.88, 16.90]), toys=20, pseudo_experiments=6, seed=3,
                progress=False, extra={"band_masses": BAND})
    base.update(kw)
    return AnalysisOptions(**base)


@pytest.fixture(scope="module")
def serial(method) -> Result:
    return method.run(_opts())


def test_result_blocks(serial):
    r = serial
    assert r.method == "padme-run3" and r.dataset == "padme-run3" and r.cl == 0.9
    assert len(r.limits["observed"]) == 3 and np.all(np.isfinite(r.limits["observed"]))
    assert np.all((r.limits["observed"] > 1e-4) & (r.limits["observed"] < 1e-3))
    assert set(EXPECTED_KEYS) <= set(r.expected)
    q = [r.expected[k] for k in ("minus2", "minus1", "median", "plus1", "plus2")]
    assert np.all(np.diff(np.array(q), axis=0) >= 0)
    assert set(EXCESS_KEYS) <= set(r.excess)
    assert 16.86 <= r.excess["mass_MeV"] <= 16.90
    assert 0 <= r.excess["p_global"] <= 1 and 0 <= r.local["p"].min()
    assert r.fits["ratio"].size == 42 and r.fits["s_plus_b"].size == 42
    assert r.cls_scan["g"].size == 40 and np.all(r.cls_scan["cls"] >= 0)
    d = r.diagnostics
    assert d["observed"]["n_fits"] == 3 * 40 * (2 * 20 + 20)
    assert d["observed"]["n_failed_fits"] == 0 and d["band"]["n_pseudo"] == 6
    # the JSON round trip keeps the stable keys
    back = Result.from_dict(json.loads(r.to_json()))
    assert back.excess["mass_MeV"] == r.excess["mass_MeV"]
    assert r.provenance["config"]["n_toys"] == 200 and r.options["toys"] == 20


def test_bit_identical_with_two_processes(method, serial):
    par = method.run(_opts(workers=2))
    a, b = serial.to_dict(), par.to_dict()
    for block in ("limits", "expected", "local", "excess", "fits", "cls_scan", "provenance"):
        assert a[block] == b[block], block
    a["diagnostics"].pop("timings")
    b["diagnostics"].pop("timings")
    assert a["diagnostics"] == b["diagnostics"]


def test_checkpoint_resume(method, tmp_path):
    ck = str(tmp_path / "ck")
    small = dict(masses=np.array([16.90]), pseudo_experiments=3, checkpoint_dir=ck,
                 extra={"band_masses": BAND[1:4]})
    first = method.run(_opts(**small))
    band = os.path.join(ck, "padme-run3-band")
    files = sorted(f for f in os.listdir(band) if f.startswith("task-"))
    assert len(files) == 3
    os.remove(os.path.join(band, files[1]))           # as if killed before that task ended
    again = method.run(_opts(**small))
    assert again.to_dict()["expected"] == first.to_dict()["expected"]
    assert again.to_dict()["limits"] == first.to_dict()["limits"]
    with pytest.raises(InputError):                   # a different job in the same folder
        method.run(_opts(**{**small, "toys": 25}))
    fresh = method.run(_opts(**{**small, "toys": 25, "fresh": True, "pseudo_experiments": 0}))
    assert math.isfinite(fresh.limits["observed"][0]) and fresh.expected == {}


def test_bad_options(method):
    with pytest.raises(InputError):
        method.run(_opts(asymptotic=True))
    with pytest.raises(InputError):
        method.run(_opts(extra={"g_grid": "bisect"}))
    with pytest.raises(InputError):
        method.run(_opts(extra={"colour": 1}))
    with pytest.raises(InputError):
        method.run(_opts(toys=1))
