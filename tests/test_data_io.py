"""Scan-table readers and writers: exact round trips, foreign-tool readability, atomic writes,
and random corruptions (hypothesis) that must give a valid table or an InputError, nothing else.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from x17scan.data import COLUMNS, UNITS, ScanTable, load, read_table, write_table
from x17scan.data.io import read_csv_string, to_csv_string
from x17scan.errors import InputError
from x17scan.physics import e_beam

SUFFIXES = [".csv", ".parquet", ".root"]


def sample_table(n=7, seed=3) -> ScanTable:
    rng = np.random.default_rng(seed)
    s = np.sort(rng.uniform(16.3, 17.5, n))
    return ScanTable.from_columns(
        {"sqrt_s": s, "e_beam": e_beam(s), "n_obs": rng.uniform(2e4, 3e4, n),
         "pot": rng.uniform(5e9, 1.1e10, n), "pot_err": rng.uniform(1e7, 4e7, n),
         "bkg_per_pot": rng.uniform(3.3e-6, 3.8e-6, n), "bkg_per_pot_err": np.full(n, 1.9e-8),
         "sig_eff": rng.uniform(0.07, 0.1, n), "sig_eff_err": np.full(n, 4.2e-4),
         "scan_part": rng.integers(-1, 2, n), "period": rng.permutation(n),
         "used": np.arange(n) % 3 != 1},
        meta={"name": "sample", "observable": "ee", "source": "a test", "number": 3,
              "text_that_looks_like_json": "42", "nested": {"a": [1, 2.5, "x"], "b": None},
              "unicode": "√s ε σ", "multi\nline": "first\nsecond"})


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_exact(tmp_path, suffix):
    t = sample_table()
    p = write_table(t, tmp_path / f"table{suffix}")
    u = read_table(p)
    assert u.equals(t)
    assert json.loads(json.dumps(dict(u.meta))) == json.loads(json.dumps(dict(t.meta)))
    assert all(getattr(u, c).dtype == getattr(t, c).dtype for c in COLUMNS)


def test_padme_table_through_every_format(tmp_path):
    t = load("padme-run3")
    a = read_table(write_table(t, tmp_path / "a.parquet"))
    b = read_table(write_table(a, tmp_path / "b.root"))
    c = read_table(write_table(b, tmp_path / "c.csv"))
    assert c.equals(t) and dict(c.meta) == dict(t.meta)
    assert to_csv_string(c) == to_csv_string(t)


def test_root_file_readable_by_uproot_alone(tmp_path):
    import uproot

    t = load("padme-run3")
    write_table(t, tmp_path / "t.root")
    with uproot.open(tmp_path / "t.root") as f:
        assert f.classnames()["scan;1"] == "TTree"
        tree = f["scan"]
        assert list(tree.keys()) == list(COLUMNS)
        arrays = tree.arrays(library="np")
        for c in COLUMNS:
            assert np.array_equal(arrays[c], getattr(t, c))
        assert json.loads(str(f["meta"]))["source_commit"] == t.meta["source_commit"]
        assert json.loads(str(f["units"])) == UNITS
        h = f["h_n_obs"]
        assert np.array_equal(h.values(), t.n_obs)
        np.testing.assert_allclose(h.errors(), np.sqrt(t.n_obs), rtol=1e-14)
        r = f["h_ratio"]
        # R and its error from the columns, independently of ScanTable.ratio
        ratio = arrays["n_obs"] / (arrays["pot"] * arrays["bkg_per_pot"])
        srel = np.sqrt((arrays["pot_err"] / arrays["pot"]) ** 2 + 1 / arrays["n_obs"]
                       + (arrays["bkg_per_pot_err"] / arrays["bkg_per_pot"]) ** 2)
        np.testing.assert_allclose(r.values(), ratio, rtol=1e-14)
        np.testing.assert_allclose(r.errors(), ratio * srel, rtol=1e-12)
        assert r.axis().edges()[0] == -0.5 and len(r.values()) == len(t)


def test_parquet_readable_by_pyarrow_alone(tmp_path):
    import pyarrow.parquet as pq

    t = sample_table()
    write_table(t, tmp_path / "t.parquet")
    pt = pq.read_table(tmp_path / "t.parquet")
    assert pt.column_names == list(COLUMNS)
    info = json.loads(pt.schema.metadata[b"x17scan"])
    assert info["meta"]["name"] == "sample" and info["units"]["sqrt_s"] == "MeV"
    assert pt.schema.field("pot").metadata[b"unit"] == b"positrons"
    assert np.array_equal(pt.column("n_obs").to_numpy(), t.n_obs)


def test_csv_layout():
    text = to_csv_string(sample_table())
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    assert "# name: sample" in comments and "# observable: ee" in comments
    assert any(ln.startswith("# units: sqrt_s=MeV e_beam=MeV") for ln in comments)
    header = lines[len(comments)]
    assert header == ",".join(COLUMNS)
    assert len(lines) == len(comments) + 1 + 7


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_writes_are_atomic(tmp_path, suffix, monkeypatch):
    """A writer that fails half-way leaves the previous file intact and no temporary file."""
    import pyarrow.parquet as pq
    import uproot

    import x17scan.atomic

    target = tmp_path / f"t{suffix}"
    write_table(sample_table(seed=1), target)
    before = target.read_bytes()

    def fail_after_partial_write(path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full (simulated)")

    if suffix == ".csv":
        def fail_open(path, *a, **k):
            fail_after_partial_write(path)
        monkeypatch.setattr(x17scan.atomic, "open", fail_open, raising=False)
    elif suffix == ".parquet":
        monkeypatch.setattr(pq, "write_table", lambda t, path, *a, **k:
                            fail_after_partial_write(path))
    else:
        monkeypatch.setattr(uproot, "recreate", fail_after_partial_write)
    with pytest.raises(OSError, match="simulated"):
        write_table(sample_table(seed=2), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="file not found") as info:
        read_table(tmp_path / "nope.csv")
    assert info.value.field == "path" and "nope.csv" in str(info.value)
    with pytest.raises(InputError) as info:
        read_table(tmp_path)  # no suffix
    assert info.value.field == "path"
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(InputError, match="directory"):
        read_table(d)
    with pytest.raises(InputError) as info:
        write_table(sample_table(), tmp_path / "t.xlsx")
    assert info.value.field == "path" and not (tmp_path / "t.xlsx").exists()


def test_corpus_base_table_is_valid():
    """The bad-input corpus corrupts a valid table: each file fails only for its defect."""
    path = Path(__file__).parent / "data" / "bad" / "scantables" / "make_bad.py"
    spec = importlib.util.spec_from_file_location("make_bad", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    t = read_csv_string(mod.csv_text(mod.as_lists()))
    assert len(t) == 8 and t.n_used == 8
    assert len(mod.CASES) >= 25


# -- random corruptions -------------------------------------------------------------------------
GOOD_CSV = to_csv_string(sample_table(n=5, seed=9))
GOOD_COLUMNS = sample_table(n=5, seed=9).columns()
NASTY = st.sampled_from([",", ";", "\t", "#", '"', "\n", "e", "-", ".", " ", "x", "\x00", "9",
                         "nan", "inf", "1e400", "-0", "true", "maybe", "\r", ":", "{", "]"])
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                   st.text(max_size=6), st.booleans(), st.none())


def _assert_clean(fn, *args):
    try:
        t = fn(*args)
    except InputError as err:
        text = str(err)
        assert "\n" not in text and "fix:" in text, text
        return None
    assert isinstance(t, ScanTable)
    return t


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "dropline",
                                                 "swaplines"]),
                                st.integers(0, 10**6), st.integers(0, 10**6), NASTY),
                      min_size=1, max_size=4))
def test_corrupted_csv_text(edits):
    text = GOOD_CSV
    for op, a, b, token in edits:
        if op in ("insert", "delete", "replace") and text:
            i = a % len(text)
            text = {"insert": text[:i] + token + text[i:],
                    "delete": text[:i] + text[i + 1 + b % 5:],
                    "replace": text[:i] + token + text[i + 1:]}[op]
        elif op in ("dropline", "swaplines"):
            lines = text.split("\n")
            i, j = a % len(lines), b % len(lines)
            if op == "dropline":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    _assert_clean(read_csv_string, text)


@settings(max_examples=150, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(COLUMNS), st.integers(0, 4), VALUES),
                        min_size=1, max_size=3),
       drop=st.one_of(st.none(), st.sampled_from(COLUMNS)))
def test_corrupted_columns(changes, drop):
    cols = {c: np.asarray(v).astype(object) for c, v in GOOD_COLUMNS.items()}
    for c, row, value in changes:
        cols[c][row] = value
    if drop is not None:
        cols.pop(drop)
    _assert_clean(ScanTable.from_columns, cols)


_GOOD_BINARIES: dict[str, bytes] = {}


def good_binary(suffix: str) -> bytes:
    if suffix not in _GOOD_BINARIES:
        with tempfile.TemporaryDirectory() as d:
            p = write_table(sample_table(n=5, seed=9), Path(d) / f"t{suffix}")
            _GOOD_BINARIES[suffix] = p.read_bytes()
    return _GOOD_BINARIES[suffix]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from([".parquet", ".root"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                      min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_corrupted_binary_files(suffix, flips, cut):
    data = bytearray(good_binary(suffix))
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"t{suffix}"
        p.write_bytes(bytes(data))
        _assert_clean(read_table, p)
