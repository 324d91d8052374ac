"""ProfileMethod end to end: result blocks, injected-signal recovery, reproducibility, inputs."""

import json

import numpy as np
import pytest

from x17scan.errors import InputError
from x17scan.stats.method import METHODS, AnalysisOptions
from x17scan.stats.profile import ProfileMethod
from x17scan.stats.result import EXCESS_KEYS, EXPECTED_KEYS, Result
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table

MASSES = np.round(np.arange(16.5, 17.301, 0.05), 3)


@pytest.fixture(scope="module")
def injected():
    return synthetic_table(signal=SignalModel(), mass=16.9, g=6e-4, below=5)   # expected counts


def test_asymptotic_run_recovers_injected_signal(injected):
    assert METHODS["profile"] is ProfileMethod
    res = ProfileMethod(injected).run(AnalysisOptions(asymptotic=True, masses=MASSES, seed=3))
    bf = res.bestfit
    assert bf["mass_MeV"] == pytest.approx(16.9, abs=0.006)
    assert bf["g"] == pytest.approx(6e-4, rel=0.02)       # Asimov data: mu_hat = truth
    assert bf["g_lo"] < 6e-4 < bf["g_hi"] and bf["mass_lo"] < 16.9 < bf["mass_hi"]
    prof = bf["profile_mass"]
    assert min(prof["q"]) == 0.0 and len(prof["mass_MeV"]) == len(prof["q"])
    assert res.excess["mass_MeV"] == pytest.approx(16.9, abs=0.03)
    assert all(k in res.excess for k in EXCESS_KEYS)
    assert res.excess["z_local"] > 3 and res.excess["z_global"] < res.excess["z_local"]
    ex = res.expected
    assert all(k in ex for k in EXPECTED_KEYS)
    assert np.all(np.diff(np.stack([ex[k] for k in ("minus2", "minus1", "median", "plus1",
                                                    "plus2")]), axis=0) > 0)
    # the observed limit sits above the expected one where the signal is
    j = int(np.argmin(np.abs(MASSES - 16.9)))
    assert res.limits["observed"][j] > ex["plus2"][j]
    f = res.fits
    assert len(f["sqrt_s"]) == len(injected) and "pulls_s_plus_b" in f
    assert set(res.control["regions"]) >= {"below"}
    back = Result.from_dict(json.loads(res.to_json()))
    assert back.limits["mass_MeV"] == list(MASSES)


def test_toy_run_small_is_reproducible(injected):
    table = synthetic_table(seed=12)
    pm = ProfileMethod(table, n_mu=4)
    opts = dict(masses=MASSES[::4], toys=40, pseudo_experiments=60, seed=5, progress=False)
    r1 = pm.run(AnalysisOptions(workers=1, **opts)).to_dict()
    r2 = pm.run(AnalysisOptions(workers=2, **opts)).to_dict()
    for r in (r1, r2):
        r["diagnostics"].pop("timings")
        r["options"].pop("workers")
    assert r1 == r2
    assert r1["diagnostics"]["failed_fits"] == 0
    assert r1["excess"]["p_global_err"] > 0 and r1["cls_scan"]["source"] == "toys"
    assert r1["provenance"]["root_seed"] == 5
    lim = np.array(r1["limits"]["observed"])
    assert np.isfinite(lim).all() and (lim > 0).all()


def test_seed_is_drawn_and_recorded_and_bad_inputs():
    t = synthetic_table(n_points=12)
    pm = ProfileMethod(t)
    res = pm.run(AnalysisOptions(asymptotic=True, masses=[16.8, 16.9], seed=None))
    assert isinstance(res.provenance["root_seed"], int) and not res.provenance["seed_given"]
    with pytest.raises(InputError, match="increasing"):
        pm.run(AnalysisOptions(asymptotic=True, masses=[16.9, 16.8]))
    with pytest.raises(InputError, match="threshold"):
        pm.run(AnalysisOptions(asymptotic=True, masses=[0.9]))
    with pytest.raises(InputError, match="line shape"):
        ProfileMethod(t, lineshape="gauss")
    with pytest.raises(InputError, match="background"):
        ProfileMethod(t, background="fitted")
    with pytest.raises(InputError, match="LEE window"):
        ProfileMethod(t, lee_window=(18.0, 19.0)).run(
            AnalysisOptions(asymptotic=True, masses=[16.8, 16.9]))
