"""`analyze --method-option`: parsing and routing to the method's constructor or run extras."""

import pytest

from x17scan import analysis
from x17scan.errors import InputError


def test_parse_values_are_json_or_strings():
    opts = analysis.parse_method_options(["g_grid=adaptive", "lee-window=[16.6, 17.2]",
                                          "n_mu=6", "k_prior=null"])
    assert opts == {"g_grid": "adaptive", "lee_window": [16.6, 17.2], "n_mu": 6,
                    "k_prior": None}


def test_routing_between_constructor_and_run_extras(tmp_path):
    job = analysis.prepare(method="padme-run3", outdir=tmp_path, progress=False,
                           method_options={"g_grid": "adaptive", "pseudo_bkg": "scan_lines"})
    assert job.method.config.pseudo_bkg == "scan_lines"        # a config field
    assert job.options.extra == {"g_grid": "adaptive"}         # read by run()
    job = analysis.prepare(method="profile", outdir=tmp_path, progress=False,
                           method_options={"background": "constrained",
                                           "lee_window": [16.6, 17.2]})
    assert job.method.background == "constrained"
    with pytest.raises(InputError, match="has no option 'nosuch'"):
        analysis.prepare(method="profile", outdir=tmp_path, method_options={"nosuch": 1})
