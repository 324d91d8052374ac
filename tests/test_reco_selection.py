"""Two-cluster selection: kinematic curves, cuts on hand-made cluster pairs, ETag tagging,
TOML validation, and the geometric acceptance of the full chain against c(sqrt s).

References: PADMERunIIISensitivity plotmaking/Kinematics.C values quoted in docs/detector.md
§9.2 (R_min, E_min, E_max at four sqrt s; D = 3640.4 mm reproduces R_min to 3e-6, the energies to
<= 0.15 %); the analytic acceptance c(sqrt s) of docs/physics.md §9 (|cos theta*| < c for both
bodies inside R_max); exact two-body kinematics for the hand-made pairs.
"""

import math

import numpy as np
import pytest

from x17scan.errors import InputError
from x17scan.physics import kinematics as kin
from x17scan.physics.constants import M_E
from x17scan.reco import Selection, process, select
from x17scan.reco.clustering import Clusters
from x17scan.reco.selection import two_body_energies
from x17scan.reco.toys import two_body
from x17scan.sim.detector import DetectorConfig

CFG = DetectorConfig.default_run3()
SEL = Selection.preset()
D = 3640.4


@pytest.mark.parametrize("w,r_min,e_min,e_max", [
    (14.500, 243.8, 97.6, 108.1), (16.425, 190.0, 109.0, 154.9),
    (16.975, 177.9, 112.0, 170.0), (17.525, 166.9, 114.8, 185.7)])
def test_kinematic_curves_reproduce_kinematics_c(w, r_min, e_min, e_max):
    eb = float(kin.e_beam(w, m_e=0.511))  # PADME's table uses m_e = 0.511 MeV
    cv = SEL.cut_values(eb)
    assert cv["sqrt_s"] == pytest.approx(w, abs=2e-5)
    assert cv["r_max"] == 270.0 and cv["distance"] == D
    assert cv["r_min"] == pytest.approx(r_min, abs=0.06)
    assert cv["e_min"] == pytest.approx(e_min, rel=1.5e-3)
    assert cv["e_max"] == pytest.approx(e_max, rel=1.5e-3)
    assert cv["e_min"] + cv["e_max"] == pytest.approx(eb + M_E, rel=1e-12)


E_BEAM = float(kin.e_beam(17.0))


def pair(cos_star=0.1, phi=0.3, dt=0.0, scale=(1.0, 1.0), r_scale=(1.0, 1.0), dphi=0.0):
    """A perfect e+e- pair at sqrt s = 17 MeV (cluster positions at the ECal face)."""
    th1 = float(kin.theta_lab(cos_star, 17.0))
    th2 = float(kin.theta_lab(-cos_star, 17.0))
    e1, e2 = two_body_energies(th1, 17.0)
    r1, r2 = D * math.tan(th1) * r_scale[0], D * math.tan(th2) * r_scale[1]
    p2 = phi + math.pi + dphi
    return ([float(e1) * scale[0], float(e2) * scale[1]],
            [r1 * math.cos(phi), r2 * math.cos(p2)], [r1 * math.sin(phi), r2 * math.sin(p2)],
            [10.0, 10.0 + dt])


def run(pairs, sel=SEL, etag=None):
    e, x, y, t = ([v for p in pairs for v in p[k]] for k in range(4))
    off = np.arange(len(pairs) + 1) * 2
    kw = {}
    if etag is not None:
        kw = {"etag_offsets": np.cumsum([0] + [len(h) for h in etag]),
              "etag_bar": [b for h in etag for b, _ in h],
              "etag_time": [tt for h in etag for _, tt in h]}
    return select(Clusters.from_arrays(off, e, x, y, t, CFG, **kw), sel, E_BEAM)


def test_cuts_on_hand_made_pairs():
    cases = {
        "good": pair(),
        "good_other_wedge": pair(phi=math.pi - 0.2),
        "time": pair(dt=5.5),
        "radius": pair(cos_star=0.3),                       # |cos*| > c(17 MeV) = 0.207
        "energy_sum": pair(scale=(1.0, 0.3)),               # sum 0.68 E_tot
        "cog": pair(scale=(1.5, 1.0)),                      # cog 42 mm from the axis
        "phi": pair(phi=math.radians(45.0)),
        "phi_other": pair(phi=math.radians(-139.0)),
    }
    r = run(list(cases.values()))
    stage = dict(zip(cases, r.stage, strict=True))
    names = list(r.cut_names)
    for case in ("time", "energy_sum", "cog", "phi"):
        assert names[stage[case]] == case, case
    # acoplanarity moves the centre of gravity too (30 mm ~ 0.28 rad): test delta phi alone
    b2b = run([pair(dphi=0.4), pair(dphi=0.3)], sel=_variant(cog__enabled=False))
    assert names[b2b.stage[0]] == "back_to_back" and b2b.two_cluster.tolist() == [False, True]
    assert names[stage["phi_other"]] == "phi"
    # a perfect two-body pair beyond R_max: the one-sided cuts (R_1 < R_max on the inner,
    # leading cluster, R_2 > R_min on its partner, E_1 > E_min, E_2 < E_max) all hold, only the
    # ECal edge (absent from hand-made clusters) limits it; the window preset rejects it
    assert r.two_cluster.tolist() == [True, True, False, True] + [False] * (len(cases) - 4)
    window = Selection.preset("padme-run3-window")
    rw = run([cases["radius"], cases["good"]], sel=window)
    assert names[rw.stage[0]] == "radius" and rw.two_cluster.tolist() == [False, True]
    # the selected pair: cluster 1 = higher energy
    assert r.e1[0] > r.e2[0] and r.r1[0] < r.r2[0]
    assert r.phi1[0] == pytest.approx(0.3)
    assert r.cutflow()["topology"] == len(cases)


def test_one_sided_cuts_act_on_mismeasured_pairs():
    # cluster 1 pushed beyond R_max -> fails the radius cut; cluster 2 inside R_min likewise
    # E_1 below E_min, E_2 above E_max (cluster 1 staying the higher-energy one)
    r = run([pair(r_scale=(1.8, 1.0)), pair(r_scale=(1.0, 0.7)), pair(scale=(0.7, 0.7)),
             pair(scale=(1.2, 1.38))], sel=_variant(cog__enabled=False,
                                                     energy_sum__enabled=False))
    names = list(r.cut_names)
    assert [names[s] for s in r.stage] == ["radius", "radius", "energy", "energy"]


def _variant(**mods):
    doc = SEL.to_dict()
    for k, v in mods.items():
        table, key = k.split("__")
        doc[table][key] = v
    return Selection.from_dict(doc)


def test_best_pair_and_exactly_two():
    e, x, y, _t = pair()
    extra = ([e[0], e[1], 30.0], [x[0], x[1], 100.0], [y[0], y[1], -150.0], [10.0, 10.0, 10.0])
    off = [0, 3]
    cl = Clusters.from_arrays(off, *extra, CFG)
    assert select(cl, SEL, E_BEAM).two_cluster[0]
    only2 = select(cl, _variant(pair__mode="exactly-two"), E_BEAM)
    assert not only2.two_cluster[0] and only2.stage[0] == 0


def test_etag_classification():
    base = pair(phi=0.55)  # rows 9 and 4: full-length bars
    z = CFG.etag.z / CFG.ecal.z_front
    rows = [int(np.floor(yy * z / 44.3 + 0.5)) + 7 for yy in base[2]]
    bar = [10 * r for r in rows]
    hits = [
        [(bar[0], 10.2), (bar[1], 9.7)],          # both tagged -> ee
        [],                                       # none -> gamma gamma
        [(bar[0], 10.0)],                         # one -> neither
        [(bar[0], 30.0), (bar[1], -2.0)],         # out of time -> gamma gamma
        [(bar[0] + 30, 10.0), (bar[1] - 30, 10.0)],  # wrong rows -> gamma gamma
    ]
    r = run([base] * len(hits), etag=hits)
    assert r.two_cluster.all()
    assert r.n_tagged.tolist() == [2, 0, 1, 0, 0]
    assert r.ee.tolist() == [True, False, False, False, False]
    assert r.gg.tolist() == [False, True, False, True, True]


def test_etag_split_rows():
    # a pair along the horizontal axis: both clusters in row 7, split into two short bars
    p = pair(phi=0.0)
    r = run([p, p], etag=[[(71, 10.0), (70, 10.0)], [(70, 10.0), (71, 10.0)]])
    assert r.n_tagged.tolist() == [2, 2]
    r = run([p], etag=[[(71, 10.0), (71, 10.0)]])  # cluster 2 is at x < 0: bar 70 needed
    assert r.n_tagged.tolist() == [1]


@pytest.mark.parametrize("final", ["ee", "gg"])
def test_geometric_acceptance_matches_c(final):
    """Both clusters inside R_max (the window on both, every other cut off) keeps the fraction
    c(sqrt s)/cos_max of two-body events uniform in |cos theta*| < cos_max."""
    sel = Selection.from_dict({**{k: v for k, v in Selection.preset("padme-run3-window")
                                  .to_dict().items()},
                               "energy": {"enabled": False}, "energy_sum": {"enabled": False},
                               "cog": {"enabled": False}, "back_to_back": {"enabled": False},
                               "phi": {"enabled": False}, "tagging": {"enabled": False}})
    e_beam = float(kin.e_beam(17.0))
    cmax = 0.35
    n = 30000
    ev = two_body(n, e_beam, np.random.default_rng(21), final=final, cos_max=cmax)
    r = process(ev, CFG, sel, e_beam, 3)
    mass = M_E if final == "ee" else 0.0
    c = float(kin.acceptance_cos(17.0, 270.0, D, mass=mass))
    frac = r.two_cluster.mean()
    # binomial error plus the smearing of the two radius edges (< 0.5 % of the acceptance)
    assert frac == pytest.approx(c / cmax, abs=3 * math.sqrt(frac * (1 - frac) / n) + 0.005)


def test_process_deterministic_and_pileup_owner():
    rng = np.random.default_rng(0)
    ev = two_body(2000, E_BEAM, rng, cos_max=0.3)
    a = process(ev, CFG, SEL, E_BEAM, 99)
    b = process(ev, CFG, SEL, E_BEAM, np.random.default_rng(99))
    for name in ("two_cluster", "ee", "gg", "stage", "e1", "x2", "t1"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)
    assert len(a) == len(ev) and a.two_cluster.sum() > 0
    # overlay a second, selected event on the bunch of each event: each pair is attributed to
    # the event that owns its seed, and no event gets two pairs
    from x17scan.sim.events import TruthEvents
    sel_idx = np.flatnonzero(a.two_cluster)[:200]
    pu = ev.take(sel_idx)
    pu = TruthEvents(**{**{f: getattr(pu, f) for f in ("process", "vertex", "pdg", "p", "e",
                                                       "e_beam", "sqrt_s",
                                                       "cos_theta_star")},
                        "t0": np.full(len(pu), 100.0), "bunch": ev.bunch[:200],
                        "primary": np.zeros(len(pu), bool)})
    both = TruthEvents.concatenate([ev, pu])
    r = process(both, CFG, SEL, E_BEAM, 5)
    assert len(r) == len(both)
    assert r.two_cluster[:200].sum() + r.two_cluster[len(ev):].sum() <= 200
    assert r.two_cluster.sum() >= 0.9 * a.two_cluster.sum()


@pytest.mark.parametrize("doc,field", [
    ({"radius": {"r_maxx": 270.0}}, "radius.r_maxx"),
    ({"cuts": {}}, "cuts"),
    ({"radius": {"r_max": "270"}}, "radius.r_max"),
    ({"radius": {"r_max": -270.0}}, "radius.r_max"),
    ({"pair": {"max_dt": 0.0}}, "pair.max_dt"),
    ({"energy": {"margin_low": -5.0}}, "energy.margin_low"),
    ({"energy_sum": {"min_fraction": 1.2, "max_fraction": 0.8}}, "energy_sum.min_fraction"),
    ({"radius": {"inner": "fixed", "r_min": 300.0}}, "radius.r_min"),
    ({"phi": {"half_width": 120.0}}, "phi.half_width"),
    ({"pair": {"cluster1": "random"}}, "pair.cluster1"),
    ({"clustering": {"window": 2.5}}, "clustering.window"),
    ({"clustering": {"seed_threshold": 0.5, "hit_threshold": 1.0}}, "clustering.hit_threshold"),
    ({"clustering": {"position": "cog"}}, "clustering.position"),
    ({"tagging": True}, "tagging"),
    ({"base": "padme-run3-final"}, "base"),
    ({"base": 3}, "base"),
])
def test_toml_validation(doc, field):
    with pytest.raises(InputError) as err:
        Selection.from_dict(doc, source="sel.toml")
    msg = str(err.value)
    assert err.value.field == field and f"field '{field}'" in msg
    assert "\n" not in msg and "fix:" in msg and "sel.toml" in msg


def test_presets_load_and_round_trip():
    for name in ("padme-run3-inferred", "padme-run3-window"):
        s = Selection.preset(name)
        again = Selection.from_dict(s.to_dict())
        assert again.cuts == s.cuts and again.clustering.to_dict() == s.clustering.to_dict()
    with pytest.raises(InputError):
        Selection.preset("no-such-preset")
    with pytest.raises(InputError):
        SEL.cut_values(-3.0)


def test_schema_defaults_are_the_inferred_preset():
    """A file without ``base`` takes the schema's defaults for what it leaves out: they must be
    the shipped preset's values, or a partial file would silently select something else."""
    empty, preset = Selection.from_dict({}), Selection.preset("padme-run3-inferred")
    assert empty.cuts == preset.cuts
    assert empty.clustering.to_dict() == preset.clustering.to_dict()


@pytest.mark.parametrize("base", ["padme-run3-inferred", "padme-run3-window"])
def test_base_file_changes_only_what_it_says(base, tmp_path):
    path = tmp_path / "sel.toml"
    path.write_text(f'base = "{base}"\n[phi]\nhalf_width = 30.0\n[clustering]\n'
                    'seed_threshold = 25.0\n')
    sel, ref = Selection.load(str(path)), Selection.preset(base)
    assert sel.cuts["phi"] == dict(ref.cuts["phi"], half_width=30.0)
    assert {k: v for k, v in sel.cuts.items() if k != "phi"} == \
        {k: v for k, v in ref.cuts.items() if k != "phi"}
    assert sel.clustering.to_dict() == dict(ref.clustering.to_dict(), seed_threshold=25.0)
    assert base in sel.name and sel.source == str(path)
    # the merged document is what gets recorded: it loads to the same selection without a base
    again = Selection.from_dict(sel.to_dict())
    assert again.cuts == sel.cuts and again.clustering.to_dict() == sel.clustering.to_dict()


def test_cluster1_definitions():
    """Which cluster of a pair is "cluster 1": listed order (the clustering's, i.e. decreasing
    seed energy) for "seed", smaller radius for "inner", higher energy for "leading"."""
    e, x, y, t = pair()                     # [inner+leading, outer+trailing]
    rev = ([e[1], e[0]], [x[1], x[0]], [y[1], y[0]], [t[1], t[0]])  # outer listed first
    # energies swapped by a mismeasurement: the inner cluster is now the lower-energy one
    swp = ([e[1] * 0.98, e[0]], x, y, t)
    no_cuts = {"radius__enabled": False, "energy__enabled": False, "cog__enabled": False,
               "energy_sum__enabled": False}
    res = {m: run([pair(), rev, swp], sel=_variant(pair__cluster1=m, **no_cuts))
           for m in ("leading", "seed", "inner")}
    r_in, r_out = math.hypot(x[0], y[0]), math.hypot(x[1], y[1])
    assert res["leading"].r1.tolist() == pytest.approx([r_in, r_in, r_out])
    assert res["seed"].r1.tolist() == pytest.approx([r_in, r_out, r_in])
    assert res["inner"].r1.tolist() == pytest.approx([r_in, r_in, r_in])
    assert all(r.two_cluster.all() for r in res.values())
    # with the one-sided cuts the energy swap moves the outer cluster into the R_max test
    swapped = run([swp], sel=_variant(pair__cluster1="leading", cog__enabled=False,
                                      energy_sum__enabled=False))
    kept = run([swp], sel=_variant(pair__cluster1="inner", cog__enabled=False,
                                   energy_sum__enabled=False, energy__enabled=False))
    assert swapped.r1[0] == pytest.approx(r_out) and kept.two_cluster[0]
