"""`x17scan export pyhf`: pyhf reproduces x17scan's asymptotic CLs; `import pyhf` round-trips."""

import json

import numpy as np
import pytest
from test_bad_inputs import run_cli  # tests/ is on sys.path (pytest prepend import mode)

from x17scan import analysis
from x17scan.data import load
from x17scan.stats.calculators import AsymptoticCalculator
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.signal import SignalModel

pyhf = pytest.importorskip("pyhf")


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis")
    job = analysis.prepare(method="profile", asymptotic=True, outdir=out, progress=False,
                           mass_grid="16.80:17.00:0.05")
    analysis.execute(job, html=False, figures=False)
    return out


def test_pyhf_cls_matches_x17scan(result_dir, tmp_path):
    ws_path = tmp_path / "ws.json"
    code, text = run_cli(["export", "pyhf", str(result_dir), "--mass", "16.9",
                          "--out", str(ws_path)])
    assert code == 0, text
    ws = json.loads(ws_path.read_text())
    info = json.loads(ws_path.with_name("ws.x17scan.json").read_text())["info"]
    w = pyhf.Workspace(ws)
    model = w.model(modifier_settings={"normsys": {"interpcode": "code4"},
                                       "histosys": {"interpcode": "code0"}})
    data = w.data(model)
    mu_ref = info["mu_ref"]
    table = load("padme-run3")
    mine = AsymptoticCalculator(ScanModel.from_table(table, SignalModel(), [16.9]))
    mu_limit = mine.upper_limits()[0][0]
    # CLs from ~0.5 down to ~0.05: the range that decides a 90 % CL limit
    for frac in (0.5, 1.0, 1.2):
        mu = frac * mu_limit / mu_ref
        cls_pyhf = float(pyhf.infer.hypotest(mu, data, model, test_stat="qtilde"))
        cls_mine = mine.cls(np.array([0]), np.array([mu * mu_ref]))[0][0]
        assert cls_mine == pytest.approx(cls_pyhf, rel=0.05), (frac, cls_mine, cls_pyhf)


def test_import_round_trip(result_dir, tmp_path):
    ws_path = tmp_path / "ws.json"
    assert run_cli(["export", "pyhf", str(result_dir), "--mass", "16.9",
                    "--out", str(ws_path)])[0] == 0
    out = tmp_path / "back.parquet"
    code, text = run_cli(["import", "pyhf", str(ws_path), "--out", str(out)])
    assert code == 0, text
    from x17scan.data import read_table

    back = read_table(out)
    fit = load("padme-run3").fit_points()
    assert len(back) == 42 and back.equals(fit)


def test_export_into_existing_folder(result_dir, tmp_path):
    """--out naming an existing folder writes the default file name in it (it used to fail with
    an internal error when the workspace was moved onto the folder)."""
    code, text = run_cli(["export", "pyhf", str(result_dir), "--mass", "16.9",
                          "--out", str(tmp_path)])
    assert code == 0, text
    ws = tmp_path / "workspace_M16.900.json"
    assert pyhf.Workspace(json.loads(ws.read_text())).model().config.nmaindata == 42
    assert (tmp_path / "workspace_M16.900.x17scan.json").is_file()
