"""Statistical validation (reduced size; `x17scan validate --size full` runs it in full).

The references are the definitions themselves: a 90 % CL upper limit covers the truth in at
least 90 % of repeated experiments (CLs: conservatively; CL_{s+b}: exactly, asymptotically),
p-values are uniform under the hypothesis they test, a global p-value is the probability of
max_M q0 beyond the observed value, pulls are standard normal. Tolerances: binomial (or
standard-error) sigmas, as stated per test; nothing is tuned to the seed.
"""

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from x17scan.stats import validation as val
from x17scan.stats.calculators import AsymptoticCalculator
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.signal import SignalModel
from x17scan.stats.synthetic import synthetic_table

pytestmark = pytest.mark.validation


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One reduced run of the real command: `x17scan validate --size reduced --quiet`."""
    from x17scan.cli import main

    out = tmp_path_factory.mktemp("validate")
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--out", str(out), "--size", "reduced", "--quiet"])
    assert exc.value.code in (0, None)
    return json.loads((out / "validation.json").read_text()), out


def test_outputs_written(report):
    summary, out = report
    for name in ("coverage", "pvalues", "global", "pulls"):
        png = out / "figures" / f"{name}.png"
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    samples = np.load(out / "samples.npz")
    assert "null_t" in samples and samples["null_t"].shape == (1000, 49)
    assert (out / "run.json").exists()
    assert summary["size"]["coverage"] == val.SIZES["reduced"].coverage
    # every fit is accounted for, never silently dropped
    tot = summary["diagnostics_total"]
    assert tot["fits"] > 300_000
    for d in summary["diagnostics"].values():
        assert d["excluded_pseudo_data_sets"] <= d["pseudo_data_sets"]
    assert summary["passed"]["n_checks"] == len(summary["checks"])


def test_cls_coverage_at_three_masses(report):
    """CLs limits cover at >= 90 % (within 2 binomial sigma of the nominal 90 %), the CL_{s+b}
    limits at 90 % (within 2 sigma), and CLs >= CL_{s+b} data set by data set."""
    rows = report[0]["coverage"]["rows"]
    assert {r["mass_MeV"] for r in rows} == {16.6, 16.9, 17.2}
    for r in rows:
        c, s = r["cls"], r["clsb"]
        sig = math.sqrt(0.9 * 0.1 / c["n"])
        assert c["err_nominal"] == pytest.approx(sig)
        assert c["coverage"] >= 0.9 - 2 * sig, r
        assert abs(s["coverage"] - 0.9) <= 2 * sig, r
        assert c["covered"] >= s["covered"]  # CLs = CL_{s+b}/CL_b >= CL_{s+b}


def test_cls_coverage_with_toys(report):
    rows = report[0]["coverage_toys"]["rows"]
    assert len(rows) == 3
    for r in rows:
        c = r["cls"]
        assert c["n"] == val.SIZES["reduced"].coverage_toys_data
        assert c["coverage"] >= 0.9 - 2 * math.sqrt(0.09 / c["n"]), r


def test_local_pvalues_uniform_under_h0(report):
    lp = report[0]["local_pvalues"]
    for kind in ("asymptotic", "toys"):
        assert len(lp[kind]) == 3
        for e in lp[kind]:
            assert e["ks_pvalue"] > 0.01, (kind, e)


def test_global_significance_calibration(report):
    """Fraction of background-only pseudo-data with max_M q0 beyond Z_local thresholds: the
    toy prediction (an independent ensemble) within 2 sigma; first-order Gross-Vitells (an
    upper bound on the probability; the neglected multiple excursions are an O(p) relative
    correction) never more than 2 sigma below the observed fraction, within 2 sigma where it
    predicts <= 0.05."""
    g = report[0]["global"]
    for row in g["thresholds"]:
        f = row["fraction"]
        toys = row["predicted"]["toys"]
        assert abs(f - toys["p"]) <= 2 * toys["sigma"], row
        for name in ("gross_vitells_rice", "gross_vitells_toys"):
            pr = row["predicted"][name]
            assert f <= pr["p"] + 2 * pr["sigma"], (name, row)
            if pr["p"] <= 0.05:
                assert abs(f - pr["p"]) <= 2 * pr["sigma"], (name, row)
    for row in g["alphas"]:
        assert abs(row["pull_toys"]) <= 2.0, row
    assert g["toy_p_uniformity"]["ks_pvalue"] > 0.01
    # the Rice formula and the toys' up-crossings estimate the same <N(u0)>
    assert g["upcrossings_u0_rice"] == pytest.approx(g["upcrossings_u0_toys"], rel=0.15)


def test_pulls_of_g2_and_mass(report):
    """Mean 0 and width 1 within 3 standard errors for the mass and for g^2 at the true mass.
    g^2 at the fitted mass (what the method reports) is biased up by maximising over M: for
    Z(M) = Z0 rho(M - M0) + n(M) with n the Gaussian process whose correlation is the signal
    shape, the maximum exceeds Z(M0) by n'(M0)^2/(2 Z0 lambda2), mean 1/(2 Z0) (leading
    order): its mean pull must agree with that within 3 standard errors."""
    rows = report[0]["pulls"]["rows"]
    assert len(rows) == 3
    for r in rows:
        assert 4.0 < r["z_asimov"] < 6.5          # 3 x the median limit: about 5 sigma
        for key in ("mass", "mu_at_true_mass"):
            s = r[key]
            assert abs(s["pull_mean"]) <= 3 * s["pull_mean_err"], (key, r)
            assert abs(s["pull_width"] - 1.0) <= 3 * s["pull_width_err"], (key, r)
        s = r["mu"]
        assert s["expected_pull_mean"] == pytest.approx(0.5 / r["z_asimov"])
        assert abs(s["pull_mean"] - s["expected_pull_mean"]) <= 3 * s["pull_mean_err"], r
        assert abs(s["pull_width"] - 1.0) <= 3 * s["pull_width_err"]
        # the mass is unbiased at the level of its errors (about 13 keV)
        assert abs(r["mass"]["bias_MeV"]) <= 3 * r["mass"]["bias_MeV_err"]


# -- the machinery against independent references ---------------------------------------------
def test_batched_asymptotic_cls_matches_calculator():
    """The batched CLs of the coverage study equals AsymptoticCalculator data set by data set."""
    from x17scan.stats.calculators import FitCounter

    model = ScanModel.from_table(synthetic_table(seed=None), SignalModel(), [16.7, 17.0])
    g, loc = val.truth(model, 2e-7, 3)
    data = model.sample(g, loc, np.ones(3, np.intp), np.random.default_rng(3))
    mu = 1.5e-7
    r = val._asymptotic_cls(model, data, 1, mu, FitCounter())
    for i in range(3):
        a = AsymptoticCalculator(model, data=data.take([i]), cl=0.9)
        cls, clsb, clb = a.cls([1], [mu])
        assert r["cls"][i] == pytest.approx(cls[0], rel=1e-6)
        assert r["clsb"][i] == pytest.approx(clsb[0], rel=1e-6)
        assert r["clb"][i] == pytest.approx(clb[0], rel=1e-6)


def test_crossing_and_bisection_on_a_parabola():
    x = np.linspace(-1.0, 1.0, 41)
    centre = np.array([0.1, -0.23])
    width = np.array([0.2, 0.31])
    r = np.abs(x[None, :] - centre[:, None]) / width[:, None]     # sqrt(q) of a parabola
    k = np.argmin(r, 1)
    np.testing.assert_allclose(val._crossing_side(x, r, k, +1), centre + width, atol=1e-12)
    np.testing.assert_allclose(val._crossing_side(x, r, k, -1), centre - width, atol=1e-12)
    up = val._bisect_level(lambda m: ((m - centre) / width) ** 2, centre, centre + 3 * width,
                           increasing=True, n_iter=60)
    np.testing.assert_allclose(up, centre + width, rtol=1e-12)


def test_global_calibration_single_mass_is_local():
    """One mass: no look-elsewhere effect; P(q0 >= u) = 1 - Phi(sqrt(u)) (half chi^2_1)."""
    rng = np.random.default_rng(11)
    ta, tb = rng.standard_normal((20000, 1)), rng.standard_normal((20000, 1))
    st = val.ValidationSetup(z_thresholds=(1.0, 2.0), alphas=(0.1,))
    g = val.global_calibration(ta, tb, 0.0, st)
    assert g["upcrossings_u0_toys"] == 0.0
    for row in g["thresholds"]:
        p = norm.sf(row["z_local"])
        assert row["predicted"]["gross_vitells_rice"]["p"] == pytest.approx(p)
        assert abs(row["fraction"] - p) < 4 * math.sqrt(p * (1 - p) / 20000)


def test_tiny_campaign_identical_across_workers_and_resume(tmp_path):
    """Same seed -> bit-identical validation.json contents with 1 and 2 workers, and after a
    resume from a partial checkpoint."""
    tiny = val.ValidationSize(coverage=30, coverage_toys_data=4, coverage_toys=20, null=40,
                              null_ref=40, pvalue_toys_data=4, pvalue_toys=20, pulls=20,
                              chunk=15, chunk_toys=2)
    studies = ("coverage", "coverage_toys", "null", "null_ref", "pvalue_toys", "pulls")
    a = val.run_validation(tiny, 5, studies=studies)
    b = val.run_validation(tiny, 5, studies=studies, workers=2)
    ck = tmp_path / "ck"
    c1 = val.run_validation(tiny, 5, studies=studies, checkpoint_dir=str(ck))
    files = sorted(ck.rglob("task-*.pkl"))
    assert len(files) > 10
    for f in files[::2]:        # as if killed half-way through every study
        f.unlink()
    c2 = val.run_validation(tiny, 5, studies=studies, checkpoint_dir=str(ck))
    dump = [json.dumps(r.summary, sort_keys=True) for r in (a, b, c1, c2)]
    assert dump[0] == dump[1] == dump[2] == dump[3]
    other = val.run_validation(tiny, 6, studies=("null",))
    assert not np.array_equal(other.samples["null_t"], a.samples["null_t"])
