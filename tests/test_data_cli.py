"""``x17scan data``: list, show, import-padme, convert (in-process through x17scan.cli.main)."""

from __future__ import annotations

import json
from pathlib import Path

from test_bad_inputs import run_cli  # tests/ is on sys.path (pytest prepend import mode)

from x17scan.data import load, read_table
from x17scan.data.datasets import path_of

INPUTS = Path(__file__).parent / "data" / "padme-run3"


def run(*args: str) -> tuple[int, str]:
    return run_cli(list(args))


def test_list():
    code, text = run("data", "list")
    assert code == 0 and "padme-run3" in text and "52" in text and "42" in text


def test_show_used_all_and_json():
    code, text = run("data", "show", "padme-run3")
    assert code == 0
    assert "42 of 52 points" in text and "3.1513e+11" in text and "arXiv:2505.24797" in text
    assert "0.0932355" in text and "PROVENANCE.md" in text
    # R of period 1 (README reference row: 1.008153) appears rounded to 5 decimals
    assert "1.00815" in text
    code, text = run("data", "show", "padme-run3", "--all")
    assert code == 0 and "52 of 52 points" in text and "14.5495" in text
    code, text = run("data", "show", "padme-run3", "--json")
    assert code == 0
    d = json.loads(text)
    assert len(d["columns"]["sqrt_s"]) == 52 and sum(d["columns"]["used"]) == 42
    assert d["units"]["pot"] == "positrons" and d["meta"]["name"] == "padme-run3"
    t = load("padme-run3")
    assert d["derived"]["ratio"] == t.ratio.tolist()


def test_import_padme_writes_by_suffix(tmp_path):
    for suffix in (".csv", ".root"):  # Parquet: same writer as convert, tested in test_data_io
        out = tmp_path / f"padme{suffix}"
        code, text = run("data", "import-padme", str(INPUTS), "--out", str(out))
        assert code == 0, text
        assert "42 used" in text and "47-51" in text
        t = read_table(out)
        assert t.equals(load("padme-run3"))


def test_import_padme_summary_only_and_raw_errors(tmp_path):
    code, text = run("data", "import-padme", str(INPUTS), "--syst-pot", "0", "--syst-bkg", "0")
    assert code == 0 and "'pot': 0.0" in text
    assert list(tmp_path.iterdir()) == []


def test_import_padme_bad_directory(tmp_path):
    (tmp_path / "completeAnalysis").mkdir()
    code, text = run("data", "import-padme", str(tmp_path), "--out", str(tmp_path / "x.csv"))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Sqrts.root" in lines[0] and "fix:" in lines[0]
    assert not (tmp_path / "x.csv").exists()
    code, text = run("data", "import-padme", str(INPUTS), "--out", str(tmp_path / "x.txt"))
    assert code == 2 and "field 'path'" in text and not (tmp_path / "x.txt").exists()


def test_convert_round_trip(tmp_path):
    code, text = run("data", "convert", "padme-run3", str(tmp_path / "a.root"))
    assert code == 0 and "52 points, 42 used" in text
    code, _ = run("data", "convert", str(tmp_path / "a.root"), str(tmp_path / "b.csv"))
    assert code == 0
    assert read_table(tmp_path / "b.csv").equals(load("padme-run3"))
    assert (tmp_path / "b.csv").read_text() == path_of("padme-run3").read_text()


def test_show_unknown_name():
    code, text = run("data", "show", "no-such-set")
    assert code == 2 and "padme-run3" in text and "fix:" in text and "Traceback" not in text
