"""``x17scan constraints`` and ``x17scan atomki``: figures written, bad inputs refused on one line
with exit code 2 (manifest of tests/data/bad/constraints)."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from x17scan.cli import main
from x17scan.stats.result import Result

BAD = Path(__file__).parent / "data" / "bad" / "constraints"
MANIFEST = tomllib.loads((BAD / "manifest.toml").read_text())["files"]


def _run(argv, capsys):
    with pytest.raises(SystemExit) as ex:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return ex.value.code, out.out, out.err


def _check_png(path: Path, min_w=1000, min_h=600):
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000, path
    img = imread(path)
    assert img.shape[1] >= min_w and img.shape[0] >= min_h
    # not a blank canvas: many distinct colours
    assert len(np.unique(img.reshape(-1, img.shape[-1])[::97], axis=0)) > 50


@pytest.fixture(scope="module")
def result_json(tmp_path_factory):
    """A synthetic result.json with every block the figures use (known answer: the profile is
    a parabola around 16.90 MeV with σ = 0.03 MeV)."""
    m = np.linspace(16.4, 17.5, 45)
    med = 3e-4 * (1 + 0.1 * np.sin(7 * m))
    mm = np.linspace(16.4, 17.5, 111)
    r = Result(method="profile", dataset="toy", cl=0.90,
               limits={"mass_MeV": m, "observed": med * 1.1},
               expected={"mass_MeV": m, "median": med, "minus2": 0.55 * med,
                         "minus1": 0.75 * med, "plus1": 1.35 * med, "plus2": 1.8 * med},
               bestfit={"mass_MeV": 16.90, "g": 5.6e-4,
                        "profile_mass": {"mass_MeV": mm, "q": ((mm - 16.90) / 0.03) ** 2}})
    path = tmp_path_factory.mktemp("res") / "result.json"
    r.to_json(path)
    return path


def test_constraints_writes_figures(tmp_path, capsys, result_json):
    code, out, err = _run(["constraints", "--overlay", result_json, "--out", tmp_path,
                           "--atomki-band", "both", "--alpha", "rb,cs", "--format", "png"],
                          capsys)
    assert code == 0, err
    for name in ("exclusion", "exclusion_zoom"):
        _check_png(tmp_path / f"{name}.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exclusion.png", "exclusion_zoom.png"]
    assert "NA64_Banerjee2019hmi" in out and "0.000119 - 0.000643" in out  # physics.md §11


def test_atomki_cli_json_and_figure(tmp_path, capsys, result_json):
    code, out, err = _run(["atomki", "--result", result_json, "--out", tmp_path, "--json"],
                          capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc == json.loads((tmp_path / "atomki.json").read_text())
    c = doc["combination"]
    assert (round(c["mass_MeV"], 2), round(c["error_MeV"], 2)) == (16.96, 0.10)  # §13
    # scan (16.90 ± 0.03) with the nuclear average (16.9646 ± 0.1035): product of Gaussians
    w0, w1 = 1 / 0.03**2, 1 / c["error_MeV"] ** 2
    s = doc["scan"]
    assert s["combined_mass_MeV"] == pytest.approx((16.90 * w0 + c["mass_MeV"] * w1) / (w0 + w1),
                                                   abs=1e-5)
    assert s["delta_chi2"] == pytest.approx((16.90 - c["mass_MeV"]) ** 2
                                            / (0.03**2 + c["error_MeV"] ** 2), abs=1e-4)
    assert doc["g2_bestfit"]["rb"]["pull"] > 0 and "cs" in doc["g2_bestfit"]
    thetas = {m["id"]: m["theta_min_deg"] for m in doc["measurements"]}
    assert thetas["Be8_2020"] == pytest.approx(139.1, abs=0.05)  # physics.md §13
    assert len(doc["alternatives"]) == 10
    _check_png(tmp_path / "atomki.png", min_w=900, min_h=800)
    pdf = (tmp_path / "atomki.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomki.json", "atomki.pdf",
                                                         "atomki.png"]  # no temporary files


def test_atomki_cli_table_without_result(tmp_path, capsys):
    code, out, err = _run(["atomki", "--out", tmp_path, "--format", "png", "--correlation",
                           "nucleus", "--rho", "0.5"], capsys)
    assert code == 0, err
    assert "combined mass" in out and "rho = 0.5" in out and "MEG II" in out
    _check_png(tmp_path / "atomki.png", min_w=700, min_h=300)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_inputs_refused(name, tmp_path, capsys):
    entry = MANIFEST[name]
    argv = [a.replace("{path}", str(BAD / name)).replace("{out}", str(tmp_path))
            for a in entry["command"]]
    code, _, err = _run(argv, capsys)
    assert code == 2
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"field '{entry['field']}'" in line, line
    if "row" in entry:
        assert f"row {entry['row']}" in line, line
    assert not list(tmp_path.iterdir())  # refused before writing anything


@pytest.mark.parametrize("argv, needle", [
    (["constraints", "--limits", "NA64,E141_Riordan1987aw"], "NA64_Banerjee2019hmi"),
    (["constraints", "--alpha", "k"], "--alpha"),
    (["constraints", "--g2-convention", "5sig"], "--g2-convention"),
    (["constraints", "--atomki-band", "all"], "--atomki-band"),
    (["atomki", "--correlation", "full"], "--correlation"),
    (["atomki", "--rho", "2"], "--rho"),
    (["atomki", "--measurements", "Be8_2016,Be8_1999"], "Be8_1999"),
])
def test_bad_options_refused(argv, needle, tmp_path, capsys):
    code, _, err = _run([*argv, "--out", tmp_path], capsys)
    assert code == 2 and needle in err and "\n" not in err.strip()
