"""Overlay reading and what the exclusion plot states in its legend."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from x17scan.constraints import atomki, limits, plot
from x17scan.constraints.overlay import load_overlay


def _legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def test_overlay_reads_blocks_nulls_and_errors(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({
        "method": "profile", "dataset": "toy", "cl": 0.95,
        "limits": {"mass_MeV": [16.8, 16.9, 17.0], "observed": [3e-4, None, 3.2e-4]},
        "bestfit": {"mass_MeV": 16.9, "g": 5e-4, "mass_err_low": 0.02, "mass_err_high": None,
                    "g_err_low": 1e-4, "g_err_high": 1.2e-4}}))
    ov = load_overlay(p)
    assert ov.label == "toy profile" and ov.cl == 0.95 and ov.expected is None
    assert np.isnan(ov.observed["observed"][1]) and ov.observed["observed"][2] == 3.2e-4
    assert ov.bestfit == (16.9, 5e-4)
    assert ov.bestfit_err == {"mass_err_low": 0.02, "g_err_low": 1e-4, "g_err_high": 1.2e-4}


def test_legend_states_conventions_and_caveats():
    spec = plot.PlotSpec(limits=list(limits.load_limits().values()), g2_alphas=("rb", "cs"),
                         atomki_bands=list(atomki.coupling_bands().values()))
    fig = plot.exclusion_figure(spec)
    texts = " | ".join(_legend_texts(fig))
    plt.close(fig)
    assert r"α(Rb) 2020, $|\Delta a|+3\sigma$" in texts  # the (g-2) convention is stated
    assert r"α(Cs) 2018, $|\Delta a|+3\sigma$" in texts
    assert "NA48/2" in texts and "needs quark couplings" in texts
    assert "Feng et al. 2016; to be checked" in texts
    assert "source unverified" in texts
    assert "favoured" in texts


@pytest.mark.parametrize("conv", ["2sig", "onesided90"])
def test_legend_says_when_cs_gives_no_bound(conv):
    spec = plot.PlotSpec(limits=[], g2_alphas=("cs",), g2_convention=conv)
    fig = plot.zoom_figure(spec)
    texts = " | ".join(_legend_texts(fig))
    plt.close(fig)
    assert "no bound" in texts
