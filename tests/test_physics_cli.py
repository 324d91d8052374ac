"""`x17scan physics ...`: JSON output against the physics functions and references, figures,
one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from x17scan.cli import main


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(["physics", *args])
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def run_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_yield_json(capsys):
    d = run_json(capsys, "yield", "--mass", "17", "--gve", "5e-4", "--bes", "0.0022",
                 "--lineshape", "atomic")
    # physics.md §5.1 / §6.4: 12.657 g^2 MeV; atomic peak 2.64 g^2 at BES 0.22 %
    assert d["integrated_yield_mev_per_pot"] / 5e-4**2 == pytest.approx(12.657, abs=5e-4)
    assert d["peak_yield_per_pot_per_g2"] == pytest.approx(2.64, abs=5e-3)
    assert d["e_res_mev"] == pytest.approx(282.268, abs=5e-4)
    assert 3.0 < d["fwhm_mev"] < 6.0
    v = run_json(capsys, "yield", "--lineshape", "voigt", "--bes", "0.0025", "--gve", "1",
                 "--padme-convention")
    assert v["peak_yield_per_pot"] == pytest.approx(2.2115, abs=1e-4)  # physics.md §6.5
    assert v["integrated_yield_mev_per_pot"] == pytest.approx(13.56)


def test_xsec_width_g2_kinematics_json(capsys):
    d = run_json(capsys, "xsec", "--sqrt-s", "17", "--sqrt-s", "16.4", "--distance", "3636")
    p17, p164 = d["points"]
    assert p17["c_gg"] == pytest.approx(0.2060, abs=5e-5)  # physics.md §9
    assert p164["sigma_gg_acc_mb"] == pytest.approx(0.0854, abs=5e-5)
    assert p17["sigma_gg_total_mb"] == pytest.approx(2.7286, abs=5e-5)  # physics.md §8
    assert p17["k_bhabha"] == pytest.approx(0.9706 + 0.0060 * 0.08)
    w = run_json(capsys, "width", "--mass", "17", "--gve", "1e-3", "--spin", "vector")
    assert w["widths"][0]["width_ev"] == pytest.approx(0.4509, abs=5e-5)  # physics.md §3
    g = run_json(capsys, "g2", "--mass", "17")
    per = {r["spin"]: r["delta_a_per_g2"] for r in g["contributions"]}
    assert per["vector"] == pytest.approx(7.5264e-6, rel=1e-4)  # physics.md §12
    assert per["pseudoscalar"] == pytest.approx(-5.9516e-5, rel=1e-4)
    k = run_json(capsys, "kinematics", "--sqrt-s", "16.975")
    assert k["r_min_ee_mm"] == pytest.approx(177.9, abs=0.05)  # docs/detector.md
    assert k["e_beam_mev"] == pytest.approx(281.4, abs=0.05)


def test_lineshape_plot_and_report(capsys, tmp_path):
    png = tmp_path / "ls.png"
    d = run_json(capsys, "lineshape", "--mass", "16.9", "--plot", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = [r["lineshape"] for r in d["lineshapes"]]
    assert names == ["free", "atomic", "sto", "voigt"]
    peaks = {r["lineshape"]: r["peak_yield_per_pot"] for r in d["lineshapes"]}
    assert peaks["free"] > 2 * peaks["atomic"] > 0
    code, out, err = run(capsys, "report", "--out", str(tmp_path / "rep"))
    assert code == 0, err
    assert (tmp_path / "rep" / "lineshape.png").stat().st_size > 1000
    rep = json.loads((tmp_path / "rep" / "physics_report.json").read_text())
    assert rep["g2_e_per_g2"]["vector"] == pytest.approx(7.5264e-6, rel=1e-4)
    assert "Bhabha" in out


@pytest.mark.parametrize("args", [
    ["yield", "--mass", "-1"], ["yield", "--spin", "tensor"], ["yield", "--lineshape", "bw"],
    ["yield", "--bes", "0"], ["width", "--gve", "-1"], ["xsec", "--sqrt-s", "0.5"],
    ["kinematics"], ["lineshape", "--plot", "x.txt"], ["g2", "--lepton", "tau"]])
def test_bad_input_one_line(capsys, args):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_input_subprocess():
    r = subprocess.run([sys.executable, "-m", "x17scan", "physics", "yield", "--mass", "-3"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "--mass" in r.stderr
