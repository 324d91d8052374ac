"""pyhf version of the scan likelihood: asymptotic CLs agree with x17scan's own."""

import numpy as np
import pytest

from x17scan.errors import InputError
from x17scan.stats.calculators import AsymptoticCalculator
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.pyhf_model import pyhf_model, workspace
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table

pyhf = pytest.importorskip("pyhf")


def test_pyhf_asymptotic_cls_agree():
    sm = SignalModel()
    t = synthetic_table(n_points=8, signal=sm, mass=16.9, g=3e-4, seed=5)
    ws, info = workspace(t, sm, 16.9, with_info=True, efficiency="none")
    model, data = pyhf_model(ws)
    # the two background samples add up to the K curve exactly (here K = 1)
    nominal = model.expected_actualdata(model.config.suggested_init())
    mu_ref = info["mu_ref"]
    assert np.allclose(nominal, t.pot * t.bkg_per_pot
                       + mu_ref * sm.template(t, [16.9])[0], rtol=1e-10)
    mine = AsymptoticCalculator(ScanModel.from_table(t, sm, [16.9], efficiency="none"))
    for mu in (1.5, 2.5):                                 # CLs ~ 0.3 and ~ 0.07
        cls_pyhf = float(pyhf.infer.hypotest(mu, data, model, test_stat="qtilde"))
        cls_mine = mine.cls(np.array([0]), np.array([mu * mu_ref]))[0][0]
        assert cls_mine == pytest.approx(cls_pyhf, rel=0.05)


def test_constrained_background_refused():
    t = synthetic_table(n_points=5)
    with pytest.raises(InputError, match="free K"):
        workspace(t, SignalModel(), 16.9, background="constrained")
