"""Report layer: figures and the self-contained HTML report from a Result."""

from html.parser import HTMLParser

import numpy as np
import pytest
from scipy import stats

from x17scan.analysis import parse_mass_grid
from x17scan.data import ScanTable
from x17scan.errors import InputError
from x17scan.physics import e_beam
from x17scan.report.figures import write_figures
from x17scan.report.html import render_html
from x17scan.stats.result import Result


@pytest.fixture(scope="module")
def result():
    m = np.round(np.arange(16.22, 17.7201, 0.02), 4)
    med = 5.5e-4 + 1.5e-4 * np.abs(m - 16.95)
    s = np.linspace(16.4, 17.4, 20)
    b = 1.01 - 0.01 * (s - 16.92)
    return Result.from_dict(Result(
        method="profile", dataset="synthetic", cl=0.9,
        limits={"mass_MeV": m, "observed": med * 1.05},
        expected={"mass_MeV": m, "median": med, "minus2": med * 0.6, "minus1": med * 0.8,
                  "plus1": med * 1.2, "plus2": med * 1.5},
        local={"mass_MeV": m, "p": stats.norm.sf(2 * np.exp(-((m - 16.9) / 0.1) ** 2))},
        excess={"mass_MeV": 16.9, "p_local": stats.norm.sf(2), "z_local": 2.0,
                "p_global": 0.2, "z_global": stats.norm.isf(0.2)},
        fits={"sqrt_s": s, "ratio": b + 0.003, "ratio_err": np.full(20, 0.009), "b_only": b,
              "s_plus_b": b, "used": [True] * 20},
        cls_scan={"mass_MeV": 16.9, "g": np.linspace(1e-4, 1e-3, 10),
                  "cls": np.linspace(1, 0, 10), "cl": 0.9},
    ).to_dict())


def test_figures_written(tmp_path, result):
    paths = write_figures(result, tmp_path)
    assert {p.stem for p in paths} == {"ratio", "local_p", "limits", "cls_scan"}
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))

    def handle_data(self, data):
        self.text.append(data)


def test_html_self_contained(result):
    s = np.linspace(16.4, 17.4, 5)
    table = ScanTable.from_columns({
        "sqrt_s": s, "e_beam": e_beam(s), "n_obs": np.full(5, 3e4), "pot": np.full(5, 1e10),
        "pot_err": np.full(5, 3e7), "bkg_per_pot": np.full(5, 3e-6),
        "bkg_per_pot_err": np.full(5, 1e-8), "sig_eff": np.full(5, 0.09),
        "sig_eff_err": np.full(5, 1e-3)})
    page = render_html(result, table, {"elapsed_s": 1.0})
    p = _Collector()
    p.feed(page)
    assert len(p.imgs) == 4 and all(src.startswith("data:image/png;base64,") for src in p.imgs)
    assert p.links == []  # nothing fetched from outside: opens offline
    text = " ".join(p.text)
    assert "largest excess" in text and "16.90 MeV" in text and "Scan points (5, 5 used)" in text


def test_mass_grid():
    g = parse_mass_grid("16.22:17.72:0.02")
    assert g.size == 76 and g[0] == 16.22 and g[-1] == 17.72
    assert parse_mass_grid("16.9:16.9:0.1").tolist() == [16.9]
    assert parse_mass_grid("16.8:17.0:0.2").tolist() == [16.8, 17.0]
    for bad in ("16:17", "17:16:0.1", "a:b:c", "0.5:2:0.1", "16:17:0", "16.8:17.0:0.5"):
        with pytest.raises(InputError):
            parse_mass_grid(bad)


def test_hepdata_record_validates(tmp_path, result):
    """The HEPData record passes hepdata-validator with no errors and no warnings."""
    from x17scan.report.hepdata import validation_messages, write_hepdata

    s = np.linspace(16.4, 17.4, 5)
    table = ScanTable.from_columns({
        "sqrt_s": s, "e_beam": e_beam(s), "n_obs": np.full(5, 3e4), "pot": np.full(5, 1e10),
        "pot_err": np.full(5, 3e7), "bkg_per_pot": np.full(5, 3e-6),
        "bkg_per_pot_err": np.full(5, 1e-8), "sig_eff": np.full(5, 0.09),
        "sig_eff_err": np.full(5, 1e-3)})
    out = write_hepdata(result, table, tmp_path / "hepdata")
    assert (out / "submission.tar.gz").stat().st_size > 0
    (out / "submission.tar.gz").unlink()  # the validator checks the YAML record itself
    assert validation_messages(out) == []
    import yaml

    limits = yaml.safe_load((out / "upper_limit_on_g_ve_at_90%_cl.yaml").read_text())
    obs = limits["dependent_variables"][0]
    assert [v["value"] for v in obs["values"]][:3] == pytest.approx(
        result.limits["observed"][:3], rel=1e-4)


def test_result_dataframe_repr_and_plot(result):
    df = result.to_dataframe()
    assert df.index.name == "mass_MeV" and len(df) == 76
    assert df.loc[16.9, "observed"] == pytest.approx(result.limits["observed"][34])
    assert df.loc[16.9, "expected_median"] == pytest.approx(result.expected["median"][34])
    assert "excess at 16.900 MeV" in repr(result)
    import matplotlib.pyplot as plt

    for kind in ("limits", "local_p", "ratio", "cls_scan"):
        fig, ax = plt.subplots()
        assert result.plot(kind, ax=ax) is fig
        plt.close(fig)
    with pytest.raises(ValueError, match="unknown figure"):
        result.plot("nope")


def test_figure_labels_render_as_written(result):
    """The S+B legend built from the fitted mass and coupling reads "... 4.37$\\times 10^{-4}$"
    (a non-raw "\\times" used to become a tab + "imes"), and a cls_scan block with the limit and
    a fit (padme-run3 writes both) labels them."""
    import dataclasses

    from x17scan.report.figures import plot_cls_scan, plot_ratio

    fits = dict(result.fits, s_plus_b_mass_MeV=16.9, s_plus_b_g=4.37e-4)
    g = np.linspace(1e-4, 1e-3, 10)
    cls = dict(result.cls_scan, g_limit=5.6e-4, g_fit=g, cls_fit=np.linspace(1, 0, 10),
               fit_label="tanh fit (PADME)")
    r = dataclasses.replace(result, fits=fits, cls_scan=cls)
    labels = plot_ratio(r).axes[0].get_legend_handles_labels()[1]
    assert any(lab.endswith(r"4.37$\times 10^{-4}$") for lab in labels), labels
    assert not any("\t" in lab for lab in labels)
    labels = plot_cls_scan(r).axes[0].get_legend_handles_labels()[1]
    assert "tanh fit (PADME)" in labels
    assert any(lab.startswith("90 % CL limit") and r"5.60$\times 10^{-4}$" in lab
               for lab in labels), labels


def test_control_figure_breaks_the_axis_at_empty_ranges():
    """Regions more than 0.5 MeV apart get one panel each on a common y axis, each panel's x
    range covering its points; a caller's axis gets everything on one axis."""
    import matplotlib.pyplot as plt

    from x17scan.report.figures import _x_groups, plot_control

    below, side = np.linspace(14.55, 14.76, 5), np.r_[np.linspace(16.39, 16.58, 5), 17.3, 17.4]
    assert _x_groups(np.r_[side, below], 0.5) == [(14.55, 14.76), (16.39, 16.58), (17.3, 17.4)]
    regions = {name: {"label": name, "sqrt_s": x, "ratio": np.ones(x.size),
                      "ratio_err": np.full(x.size, 0.01)}
               for name, x in (("below", below), ("side bands", side))}
    res = Result(method="profile", control={"regions": regions})
    fig = plot_control(res)
    axes = fig.axes
    assert len(axes) == 3
    assert all(a.get_shared_y_axes().joined(axes[0], a) for a in axes)
    for a, (lo, hi) in zip(axes, [(14.55, 14.76), (16.39, 16.58), (17.3, 17.4)], strict=True):
        x0, x1 = a.get_xlim()
        assert x0 < lo and hi < x1 and x1 - x0 < hi - lo + 0.2
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plot_control(res, ax=ax) is fig and len(fig.axes) == 1
    assert ax.get_xlim()[0] < 14.55 and ax.get_xlim()[1] > 17.4
    plt.close(fig)
