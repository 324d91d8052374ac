"""The simulate pipeline: bit-identical output for 1 and 2 workers, resume after an
interruption, scan tables readable by the data layer, one-line CLI errors with nothing written,
and the background-rate estimator against the tree-level cross section."""

import json
import math

import numpy as np
import pytest
from test_bad_inputs import run_cli  # tests/ is on sys.path (pytest prepend import mode)

from x17scan.beam import load_plan
from x17scan.data import read_table
from x17scan.sim.pipeline import SimOptions, build_tasks, run_task, simulate

# one target point (two chunks per process) and one no-target point: 11 tasks
OPTS = SimOptions(events_per_point=800, chunk_size=400, signal_mass=16.95, seed=7,
                  write_events="selected", halo_fraction=0.5)


@pytest.fixture(scope="module")
def small_plan():
    plan = load_plan("run3")
    keep = {"P09", "NT-282.22"}
    return plan.replace(points=tuple(p for p in plan.points if p.label in keep))


@pytest.fixture(scope="module")
def serial(small_plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return simulate(OPTS, out, plan=small_plan, progress=False), out


def test_tables_and_files(serial):
    res, out = serial
    t = read_table(out / "scan_table.parquet")
    assert len(t) == 1 and t.observable == "2cl"
    for col in ("sqrt_s", "e_beam", "n_obs", "pot", "pot_err", "bkg_per_pot",
                "bkg_per_pot_err", "sig_eff", "sig_eff_err", "scan_part", "period", "used"):
        assert len(np.asarray(getattr(t, col))) == 1, col
    ee, gg = read_table(out / "scan_table_ee.parquet"), read_table(out / "scan_table_gg.parquet")
    # disjoint categories: n(2cl) >= n(ee) + n(gg) and B likewise
    assert np.all(t.n_obs >= ee.n_obs + gg.n_obs)
    assert np.all(t.bkg_per_pot >= ee.bkg_per_pot + gg.bkg_per_pot - 1e-15)
    assert np.all((t.sig_eff > 0) & (t.sig_eff < 1))
    doc = json.loads((out / "simulation.json").read_text())
    assert doc["seeds"]["root_seed"] == 7 and doc["options"]["signal_mass"] == 16.95
    assert not (out / ".checkpoint").exists()
    assert any((out / "events").glob("*.parquet"))
    # no-target point: only halo, at the calibrated generated rate
    from x17scan.sim.halo import HALO_SELECTED_FRACTION

    nt = res.summary[res.summary.kind == "no-target"].iloc[0]
    assert nt.rate_halo == pytest.approx(res.plan.halo_rate_per_pot / HALO_SELECTED_FRACTION)
    assert np.isnan(nt.get("rate_bhabha", np.nan))


def test_summary_counts_belong_to_the_simulated_pot(small_plan, tmp_path):
    """With --pot-fraction the summary's PoT (which the studies divide the counts by) is the
    simulated one, as in the scan table: the plan's PoT and PoT error times the fraction."""
    import dataclasses

    res = simulate(dataclasses.replace(OPTS, pot_fraction=0.25, write_events="none"), tmp_path,
                   plan=small_plan, progress=False)
    t = read_table(tmp_path / "scan_table.parquet")
    for pt in small_plan.points:
        row = res.summary[res.summary.label == pt.label].iloc[0]
        assert row.pot == pytest.approx(0.25 * pt.pot, rel=1e-12)
        assert row.pot_err == pytest.approx(0.25 * pt.pot_err, rel=1e-12)
    assert np.asarray(t.pot)[0] == res.summary[res.summary.label == "P09"].iloc[0].pot


def test_pot_fraction_too_small_refused_before_simulating(small_plan, tmp_path):
    """A PoT fraction that leaves a point fewer positrons (or a PoT error below one positron)
    than a scan table accepts is refused before anything runs, naming --pot-fraction; the
    smallest fraction the message offers is accepted and gives a valid scan table."""
    import dataclasses
    import re

    from x17scan.errors import InputError

    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        simulate(dataclasses.replace(OPTS, pot_fraction=1e-12), out, plan=small_plan,
                 progress=False)
    assert err.value.field == "--pot-fraction"
    assert not out.exists()
    least = float(re.search(r"give at least (\S+)\)", str(err.value)).group(1))
    simulate(dataclasses.replace(OPTS, pot_fraction=least, write_events="none"), out,
             plan=small_plan, progress=False)
    t = read_table(out / "scan_table.parquet")
    (p09,) = (p for p in small_plan.points if p.has_target)
    assert np.asarray(t.pot)[0] == pytest.approx(least * p09.pot, rel=1e-12)


def test_bit_identical_two_workers(serial, small_plan, tmp_path):
    res1, _out1 = serial
    res2 = simulate(OPTS, tmp_path, plan=small_plan, workers=2, progress=False)
    for obs in ("2cl", "ee", "gg"):
        assert res1.tables[obs].equals(res2.tables[obs])
    a = res1.summary.to_numpy()
    b = res2.summary.to_numpy()
    assert a.shape == b.shape
    for x, y in zip(a.ravel(), b.ravel(), strict=True):
        assert (x == y) or (x != x and y != y)


def test_resume_after_interruption(serial, small_plan, tmp_path):
    """Run half the chunks into the checkpoint (as a killed run leaves it), then simulate:
    the finished chunks are reused and the result is bit-identical."""
    from x17scan import __version__
    from x17scan.parallel import Checkpoint, job_fingerprint

    res1, _ = serial
    tasks = build_tasks(small_plan, OPTS, str(tmp_path / "events"))
    (tmp_path / "events").mkdir()
    fp = job_fingerprint({"plan": small_plan.to_dict(), "options": OPTS.to_dict(),
                          "version": __version__})
    ck = Checkpoint(tmp_path / ".checkpoint", fp)
    for t in tasks[: len(tasks) // 2]:
        ck.save(t.index, run_task(t))
    res2 = simulate(OPTS, tmp_path, plan=small_plan, progress=False)
    assert res1.tables["2cl"].equals(res2.tables["2cl"])


def test_capped_rate_matches_cross_section(small_plan):
    """The Bhabha rate per PoT used for B, n_e l sigma_env n/n_proposed (the mean of
    min(sigma, sigma_env) over the proposals), against n_e l sigma(|cos*| < c_gen) of the
    tree-level cross section at the nominal sqrt(s) (physics.xsec, numerical integration).
    Electron motion and the target energy loss move the mean by < 0.3 % (second order in the
    sqrt(s) spread; mean loss 0.2 MeV of 282 MeV); the binomial error of n/n_proposed is
    sqrt((1 - p)/(p n))."""
    from x17scan.sim.generators import BackgroundGenerator
    from x17scan.sim.pipeline import pileup_rate
    from x17scan.sim.target import BeamSetup

    pt = next(p for p in small_plan.points if p.has_target)
    beam = BeamSetup.from_plan(small_plan, pt)
    gen = BackgroundGenerator("bhabha", beam)
    _, st = gen.generate(20_000, np.random.default_rng(3))
    p = st.n / st.n_proposed
    rate = beam.target.electrons_per_mb * gen.sigma_env * p
    ref = pileup_rate("bhabha", beam)
    err = math.sqrt((1 - p) / (p * st.n))
    assert rate == pytest.approx(ref, rel=4 * err + 0.003)


def test_aggregate_ignores_sigma_tail(small_plan):
    """B from hand-made chunk results: n_e l sigma_env K k/n_proposed, whatever the (heavy
    tailed) sum of sigma over the proposals; binomial error on k out of n_proposed."""
    from x17scan.physics.xsec import k_factor
    from x17scan.sim.pipeline import aggregate
    from x17scan.sim.target import BeamSetup

    plan = small_plan.replace(points=tuple(p for p in small_plan.points if p.has_target))
    opts = SimOptions(events_per_point=800, chunk_size=800, halo=False, seed=1)
    tasks = build_tasks(plan, opts, None)
    sig_env = {"bhabha": 0.02, "gg": 0.004}
    base = {"weight_sum": 0.0, "extra": {}, "t_gen": 0.0, "t_reco": 0.0,
            "n_events_total": 800}

    def results(tail):
        out = []
        for t in tasks:
            counts = {"2cl": 200, "ee": 150, "gg": 30, "other": 20}
            r = {**base, "n": t.n, "n_proposed": 1000, "counts": counts,
                 "sigma_env": sig_env.get(t.process, 0.0),
                 "sigma_sum": 15.0 + tail}
            out.append(r)
        return out

    pr1 = aggregate(plan, opts, tasks, results(0.0))[0]
    pr2 = aggregate(plan, opts, tasks, results(1e3))[0]
    beam = BeamSetup.from_plan(plan, plan.points[0])
    ne = beam.target.electrons_per_mb
    w = plan.points[0].sqrt_s
    ref = sum(ne * s * float(k_factor(w, p)) * 200 / 1000 for p, s in sig_env.items())
    assert pr1.bkg["2cl"] == pytest.approx(ref, rel=1e-12)
    assert pr2.bkg["2cl"] == pr1.bkg["2cl"]
    err = math.hypot(*(ne * s * float(k_factor(w, p)) * math.sqrt(200 * 0.8) / 1000
                       for p, s in sig_env.items()))
    assert pr1.bkg_err["2cl"] == pytest.approx(err, rel=1e-12)


@pytest.mark.parametrize(("args", "field"), [
    (["--plan", "nosuchplan"], "--plan"),
    (["--signal-mass", "25.0"], "--signal-mass"),
    (["--pot-fraction", "-1"], "--pot-fraction"),
    (["--detector", "nosuchdetector"], "--detector"),
    (["--study", "nosuchstudy"], "--study"),
])
def test_cli_bad_input(args, field, tmp_path):
    out = tmp_path / "o"
    code, text = run_cli(["simulate", "--out", str(out), *args])
    assert code == 2, text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in text
    assert field in lines[0]
    assert not out.exists()


def test_run_task_chunk_matches_generate_then_add_pileup(small_plan, tmp_path):
    """run_task generates the primaries and their pile-up straight into one chunk; its events
    must equal the two-step reference (generate, then add_pileup) from the same streams."""
    import pyarrow.parquet as pq

    from x17scan.reco import process
    from x17scan.sim.pipeline import _child, _detector, _generator, _selection, add_pileup

    opts = SimOptions(events_per_point=400, chunk_size=400, seed=3, write_events="all")
    tasks = build_tasks(small_plan, opts, str(tmp_path))
    for proc in ("bhabha", "signal", "halo"):
        t = next(t for t in tasks if t.process == proc)
        assert t.pileup_rates
        out = run_task(t)
        got = pq.read_table(tmp_path / out["events_file"])
        gen = _generator(t.process, t.beam, t.motion, t.mass, t.spin)
        ev, _ = gen.generate(t.n, _child(t.seed, 0))
        ev = add_pileup(ev, t.beam, t.pileup_rates, t.motion, _child(t.seed, 1))
        assert len(ev) > t.n  # pile-up present (~27 interactions expected)
        sel = process(ev, _detector(t.detector), _selection(t.selection), t.e_nominal,
                      _child(t.seed, 2))
        ref = ev.take(ev.primary).to_columns()
        ref["reco_e1"] = sel.e1[ev.primary]
        for name, col in ref.items():
            np.testing.assert_array_equal(got[name].to_numpy(), col, err_msg=f"{proc} {name}")


@pytest.mark.parametrize("mu,lam", [(4000.0, 1.67e-5), (4000.0, 1e-3), (50.0, 0.3),
                                    (2000.0, 0.05)])
def test_pileup_count_pmf_is_the_poisson_mixture(mu, lam):
    """The Neyman type A recursion against a second method: the direct sum over the number O
    of other positrons of Poisson(O; mu) Poisson(k; O lam); mean mu lam, variance
    mu lam (1 + lam) (compound Poisson)."""
    from scipy import stats

    from x17scan.sim.pipeline import pileup_count_pmf

    p = pileup_count_pmf(mu, lam)
    k = np.arange(p.size)
    o = np.arange(int(mu + 40 * math.sqrt(mu) + 50))
    ref = (stats.poisson.pmf(o, mu)[:, None]
           * stats.poisson.pmf(k[None, :], o[:, None] * lam)).sum(axis=0)
    np.testing.assert_allclose(p, ref, rtol=1e-9, atol=1e-300)
    assert math.isclose(p.sum(), 1.0, abs_tol=1e-12)
    mean = (k * p).sum()
    assert math.isclose(mean, mu * lam, rel_tol=1e-12)
    assert math.isclose((k * k * p).sum() - mean**2, mu * lam * (1 + lam), rel_tol=1e-9)


@pytest.mark.parametrize("mu,lam", [(50.0, 0.02), (4000.0, 0.5)])
def test_draw_pileup_counts_follow_the_mixture(mu, lam):
    """Counts per primary from _draw_pileup (the table path, and the two-Poisson path used when
    p_0 underflows: mu lam = 2000) against the mixture: chi2 on the count distribution and
    the mean, with a fixed seed; the process split follows the rates."""
    from scipy import stats

    from x17scan.sim.pipeline import _draw_pileup, pileup_count_pmf

    class Beam:
        positrons_per_bunch = mu

    rates = (("bhabha", 0.75 * lam), ("gg", 0.25 * lam))
    n = 200_000 if mu * lam < 10 else 4000
    draws = _draw_pileup(n, Beam, rates, np.random.default_rng(11))
    owners = np.concatenate([own for _, own in draws])
    counts = np.bincount(owners, minlength=n)
    if mu * lam < 10:
        p = pileup_count_pmf(mu, lam)
        obs = np.bincount(counts, minlength=5)[:5]
        exp = n * p[:5]
        obs = np.append(obs, n - obs.sum())
        exp = np.append(exp, n - exp.sum())
        assert stats.chisquare(obs, exp).pvalue > 1e-3
    else:
        assert pileup_count_pmf(mu, lam).size == 0
    sd = math.sqrt(mu * lam * (1 + lam) / n)
    assert abs(counts.mean() - mu * lam) < 4 * sd
    n_bh = sum(own.size for name, own in draws if name == "bhabha")
    assert abs(n_bh / owners.size - 0.75) < 4 * math.sqrt(0.75 * 0.25 / owners.size)


def test_draw_observed_counts_scatter_by_poisson_and_the_mc_error_of_b():
    """The simulated counts fluctuate around a truth that differs from the table's MC B by B's
    stated error: over many points of distinct configurations with the same B, mean PoT sum(B)
    and variance sum_c (PoT B_c + PoT^2 err_c^2) (analytic), per category and for their sum."""
    from types import SimpleNamespace

    from x17scan.sim.pipeline import PointResult, draw_observed

    bkg = {"ee": 2e-6, "gg": 1e-6, "other": 5e-7}
    err = {"ee": 4e-8, "gg": 3e-8, "other": 0.0}
    pot = 1e10
    pts = [PointResult(i, SimpleNamespace(pot=pot, pot_err=0.0, e_beam=200.0 + 0.01 * i,
                                          has_target=True), bkg=dict(bkg), bkg_err=dict(err))
           for i in range(4000)]
    obs = draw_observed(None, SimOptions(), pts, np.random.SeedSequence(5))
    n = {c: np.array([obs[i][c] for i in range(len(pts))]) for c in (*bkg, "2cl")}
    var = {c: pot * bkg[c] + (pot * err[c]) ** 2 for c in bkg}
    var["2cl"] = sum(var.values())
    mean = dict(bkg, **{"2cl": sum(bkg.values())})
    for c in n:
        m = pot * mean[c]
        assert abs(n[c].mean() - m) < 4 * math.sqrt(var[c] / len(pts)), c
        # relative error of a sample variance: sqrt(2 / N) = 2.2 %
        assert abs(n[c].var() / var[c] - 1) < 4 * math.sqrt(2 / len(pts)), c
    assert var["ee"] > 8 * pot * bkg["ee"]  # the MC error dominates here: the test has teeth


def test_draw_observed_repeated_runs_share_one_truth():
    """Runs of one configuration (same beam energy and target) differ only by Poisson: within
    a group of K runs the counts' variance is PoT T, not PoT T + (PoT err)^2; the truth T is drawn
    around the inverse-variance mean of the runs' MC estimates with its error s, so the group
    means vary by PoT B/K + (PoT s)^2 (analytic, 800 groups of 5)."""
    from types import SimpleNamespace

    from x17scan.sim.pipeline import PointResult, draw_observed

    pot, k, n_groups = 1e10, 5, 800
    b_k = 2e-6 * np.array([0.98, 0.99, 1.0, 1.01, 1.02])  # the runs' MC estimates
    e_k = np.array([3e-8, 4e-8, 4e-8, 5e-8, 4e-8])
    w = 1 / e_k**2
    b_pool, s_pool = np.sum(w * b_k) / np.sum(w), 1 / math.sqrt(np.sum(w))
    pts = []
    for g in range(n_groups):
        for j in range(k):
            pt = SimpleNamespace(pot=pot, pot_err=0.0, e_beam=300.0 + g, has_target=True)
            pts.append(PointResult(len(pts), pt, bkg={"ee": b_k[j], "gg": 0.0, "other": 0.0},
                                   bkg_err={"ee": e_k[j], "gg": 0.0, "other": 0.0}))
    obs = draw_observed(None, SimOptions(), pts, np.random.SeedSequence(11))
    n = np.array([obs[i]["ee"] for i in range(len(pts))]).reshape(n_groups, k)
    poisson = pot * b_pool
    within = n.var(axis=1, ddof=1).mean()
    # mean of n_groups sample variances of k Poisson counts: relative error sqrt(2/(k-1)/G)
    assert abs(within / poisson - 1) < 4 * math.sqrt(2 / (k - 1) / n_groups)
    across = n.mean(axis=1).var(ddof=1)
    expected = poisson / k + (pot * s_pool) ** 2
    assert abs(across / expected - 1) < 4 * math.sqrt(2 / (n_groups - 1))
    assert abs(n.mean() - poisson) < 4 * math.sqrt(expected / n_groups)
    # teeth: independent truths per run would add (PoT err_k)^2 >= 4 x Poisson to the within
    # variance; a truth fixed at the pooled mean would take (PoT s)^2 ~ 7 x Poisson/K from across
    assert (pot * e_k.min()) ** 2 > 4 * poisson and (pot * s_pool) ** 2 > 5 * poisson / k
