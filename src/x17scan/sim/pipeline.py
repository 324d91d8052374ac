"""``x17scan simulate``: a scan plan -> events -> reconstruction -> per-point scan tables.

For every point of the plan and every process (Bhabha, gamma gamma, beam halo; the signal at
M = sqrt(s) of the point for the efficiency column; an injected signal if asked) the events are
generated in chunks (tasks with their own ``SeedSequence``), pile-up interactions are added to
their bunches, and each chunk goes through ``x17scan.reco.process`` (detector response,
clustering, selection). Finished chunks are checkpointed, so a killed run resumes and ends with
a bit-identical result whatever the number of workers.

Per point and observable (two-cluster "2cl", ETag-tagged "ee", "gg"):

* B per PoT = sum_processes rate_p x (selected/generated)_p, with rate_p = n_e l sigma_env
  (generated/proposed) x K_NLO for Bhabha and gamma gamma (the mean of min(sigma, sigma_env)
  over the proposals, consistent with the accept-reject sample, see :func:`aggregate`; K = PADME's
  BabaYaga/CalcHEP ratio if ``nlo``, held at the ends of its fitted range) and the calibrated
  halo rate (:func:`halo_events_per_pot`); its error is the binomial MC error;
* signal efficiency = F_window x selected/generated (F_window = fraction of X decays inside the
  generation window, exact), binomial error;
* n_obs = Poisson(PoT_true x (B_true + yield x eps_inj)) in each disjoint category (ee, gg,
  other two-cluster), B_true = max(B + N(0, B_err), 0) (the truth behind the counts differs from
  the table's MC estimate B by its stated error; eps_inj comes from MC events of its own);
  points of one configuration (same beam energy, with or without target: the repeated
  402.5 MeV runs) share one truth, drawn around the inverse-variance mean of their MC estimates
  with its error, so that their counts differ only by Poisson and PoT fluctuations, as for
  repeated runs in data, while each estimate still differs from the truth by its own error;
  PoT_true = PoT_sim (1 + N(0, pot_err/pot)) with PoT_sim = ``pot_fraction`` x
  the plan's PoT; the signal yield is ``lineshape.yield_per_pot`` corrected for the positron's
  energy loss in the target as measured by the generator (:func:`signal_rate`).
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from x17scan.beam import ScanPlan, load_plan
from x17scan.errors import InputError
from x17scan.sim.events import TruthEvents, empty_columns
from x17scan.sim.target import BeamSetup

OBS_CATEGORIES: tuple[str, ...] = ("ee", "gg", "other")
"""Disjoint selected categories: both clusters tagged (ee), none (gg), one (other)."""
OBSERVABLE_FILES: dict[str, str] = {"2cl": "scan_table.parquet", "ee": "scan_table_ee.parquet",
                                    "gg": "scan_table_gg.parquet"}
SPINS = ("vector", "axial", "scalar", "pseudoscalar")
FORMATS = ("parquet", "root")
WRITE_EVENTS = ("none", "selected", "all")


@dataclass(frozen=True)
class SimOptions:
    """Options of a simulation (see ``x17scan simulate --help``)."""

    plan: str = "run3"
    events_per_point: int = 100_000
    pot_fraction: float = 1.0
    signal_mass: float | None = None
    gve: float = 5e-4
    spin: str = "vector"
    motion: str = "atomic"
    nlo: bool = True
    pileup: bool = True
    halo: bool = True
    halo_fraction: float = 0.1
    chunk_size: int = 50_000
    seed: int = 1
    detector: str = "run3"
    selection: str = "padme-run3-inferred"
    kinds: tuple[str, ...] = ("on-resonance", "below", "over", "no-target")
    write_events: str = "selected"
    format: str = "parquet"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kinds"] = list(self.kinds)
        return d


# -- loaders (cached in each worker) ---------------------------------------------------------
@lru_cache(maxsize=8)
def _detector(name: str):
    """A named detector configuration (:data:`x17scan.sim.detector.PRESETS`) or a detector TOML
    file (cached in each worker)."""
    from x17scan.sim.detector import PRESETS, DetectorConfig

    if name in PRESETS:
        return DetectorConfig.preset(name)
    if not Path(name).is_file():
        raise InputError(f"unknown detector configuration {name!r}", field="--detector",
                         fix=f"use {' or '.join(PRESETS)} or a detector TOML file")
    return DetectorConfig.from_toml(name)


def load_detector(name: str):
    """A :class:`~x17scan.sim.detector.DetectorConfig` by preset name or
    from a detector TOML file (optionally ``base = NAME`` plus changes); InputError otherwise."""
    return _detector(name)


@lru_cache(maxsize=8)
def _selection(name: str):
    from x17scan.reco import Selection

    return Selection.load(name)


@lru_cache(maxsize=256)
def _generator(process: str, beam: BeamSetup, motion: str, mass: float | None, spin: str):
    from x17scan.sim.generators import BackgroundGenerator, SignalGenerator
    from x17scan.sim.halo import HaloGenerator

    if process in ("bhabha", "gg"):
        return BackgroundGenerator(process, beam, motion=motion)
    if process == "halo":
        return HaloGenerator(beam)
    return SignalGenerator(beam, mass, spin, motion=motion)


# -- tasks  ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One chunk: ``n`` events of ``process`` at plan point ``point`` (``tag``: "bkg", "eff"
    for the efficiency signal at M = sqrt(s) of the point, "inj" for the injected signal)."""

    index: int
    point: int
    process: str
    tag: str
    chunk: int
    n: int
    beam: BeamSetup
    e_nominal: float
    mass: float | None
    spin: str
    motion: str
    pileup_rates: tuple[tuple[str, float], ...]
    detector: str
    selection: str
    seed: np.random.SeedSequence
    events_dir: str | None
    write_events: str


def _child(ss: np.random.SeedSequence, k: int) -> np.random.Generator:
    """Generator from the k-th child of ``ss``, derived without mutating ``ss``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        entropy=ss.entropy, spawn_key=(*ss.spawn_key, k), pool_size=ss.pool_size)))


def add_pileup(events: TruthEvents, beam: BeamSetup, rates: tuple[tuple[str, float], ...],
               motion: str, rng: np.random.Generator) -> TruthEvents:
    """Add the other interactions of each primary event's bunch: the bunch holds N ~ 1 +
    Poisson(N_mean) positrons when one of them interacted (size-biased Poisson), so the others
    make Poisson((N - 1) lambda) interactions, lambda = sum of the per-positron ``rates`` of the
    processes that reach the ECal. They share the primary's ``bunch`` and have primary=False.

    Layout: the primaries first, then the pile-up interactions by process (in ``rates`` order)
    and by primary (:func:`x17scan.sim.detector.readout_groups` groups this layout without a
    sort)."""
    draws = _draw_pileup(len(events), beam, rates, rng)
    if not draws:
        return events
    n = len(events)
    cols = empty_columns(n + sum(own.size for _, own in draws))
    for name, col in cols.items():
        col[:n] = getattr(events, name)
    _fill_pileup(cols, n, draws, beam, motion, rng)
    return TruthEvents(**cols)


def pileup_count_pmf(mu: float, lam: float, tail: float = 1e-18) -> np.ndarray:
    """P(k), k = 0, 1, ..., of the number of pile-up interactions in a primary's bunch (see
    :func:`add_pileup`): the other positrons number O ~ Poisson(``mu``) and make
    Poisson(O ``lam``) interactions, a Neyman type A distribution, generating function
    G(z) = exp(mu (exp(lam (z - 1)) - 1)). From G' = G mu lam exp(lam (z - 1)):
    p_0 = exp(mu (e^-lam - 1)), (k + 1) p_(k+1) = mu lam e^-lam sum_j lam^j/j! p_(k-j).
    The table stops past the mean once p_k < ``tail``. Empty if p_0 underflows."""
    p0 = math.exp(mu * math.expm1(-lam))
    if not p0 > 1e-300:
        return np.zeros(0)
    mean = mu * lam
    a = mu * lam * math.exp(-lam)
    c = [1.0]  # lam^j / j!
    p = [p0]
    k = 0
    while k < 10_000 and (k <= mean or p[-1] >= tail):
        c.append(c[-1] * lam / (k + 1))
        p.append(a / (k + 1) * math.fsum(c[j] * p[k - j] for j in range(k + 1)))
        k += 1
    return np.array(p)


@lru_cache(maxsize=64)
def _pileup_cdf(mu: float, lam: float) -> np.ndarray:
    cdf = np.cumsum(pileup_count_pmf(mu, lam))
    cdf.setflags(write=False)
    return cdf


def _draw_pileup(n: int, beam: BeamSetup, rates: tuple[tuple[str, float], ...],
                 rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """The pile-up interactions of ``n`` primaries (see :func:`add_pileup`): [(process, index
    of the primary of each of its interactions)], processes without interactions left out.
    Draws only the counts, so it can precede the generation of the primaries.

    The count of each primary is one inverse-CDF draw of :func:`pileup_count_pmf` (exact up to
    the double rounding of the CDF: a uniform above its last value, probability ~1e-16, takes
    the table's last count); for
    an underflowing p_0 (hundreds of interactions per bunch) the two Poisson steps are drawn."""
    lam = sum(r for _, r in rates)
    if n == 0 or lam <= 0 or beam.positrons_per_bunch <= 0:
        return []
    cdf = _pileup_cdf(float(beam.positrons_per_bunch), float(lam))
    if cdf.size:
        u = rng.random(n)
        busy = np.flatnonzero(u >= cdf[0])  # most bunches hold no other interaction
        k = np.minimum(np.searchsorted(cdf, u[busy], side="right"), cdf.size - 1)
    else:
        k = rng.poisson(rng.poisson(beam.positrons_per_bunch, size=n) * lam)
        busy = np.flatnonzero(k)
        k = k[busy]
    total = int(k.sum())
    if total == 0:
        return []
    owners = np.repeat(busy, k)
    probs = np.array([r for _, r in rates]) / lam
    which = rng.choice(len(rates), size=total, p=probs)
    draws = [(name, owners[which == i]) for i, (name, _) in enumerate(rates)]
    return [(name, own) for name, own in draws if own.size]


def _fill_pileup(cols: dict[str, np.ndarray], n: int, draws: list[tuple[str, np.ndarray]],
                 beam: BeamSetup, motion: str, rng: np.random.Generator) -> None:
    """Generate the interactions of ``draws`` into the rows after the ``n`` primaries of the
    chunk columns ``cols`` (bunch: their primary's; primary=False)."""
    pos = n
    for name, own in draws:
        gen = _generator(name, beam, motion, None, "vector")
        gen.generate_into(cols, pos, pos + own.size, rng)
        cols["bunch"][pos:pos + own.size] = cols["bunch"][own]
        pos += own.size
    cols["primary"][n:] = False


@lru_cache(maxsize=1)
def _keep_heap() -> bool:
    """Ask glibc's malloc to keep freed memory in the process (once per process).

    A chunk allocates and frees some ten MB of arrays. By default glibc returns the top of the
    heap to the system after each chunk (trim threshold) and maps large arrays separately, so
    the next chunk page-faults the same memory back in: ~1000 faults per 50k-event chunk, a few
    microseconds each in a virtual machine, plus the zeroing. Keeping up to 256 MB of free heap
    and serving arrays below 32 MB from the heap removes them; the memory held stays that of
    the largest chunk. No effect (returns False) off glibc."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # glibc's option numbers only
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc malloc.h
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 256 << 20))


def run_task(task: Task) -> dict[str, Any]:
    """Generate, reconstruct and count one chunk (module level: runs in worker processes)."""
    from x17scan.reco import process as reco_process

    _keep_heap()
    t_start = time.perf_counter()
    rng_gen, rng_pu, rng_det = (_child(task.seed, k) for k in range(3))
    gen = _generator(task.process, task.beam, task.motion, task.mass, task.spin)
    # the pile-up counts come from their own stream: drawn first, they size the chunk, and the
    # primaries and their pile-up are generated straight into it (as add_pileup would lay it out)
    draws = _draw_pileup(task.n, task.beam, task.pileup_rates, rng_pu)
    cols = empty_columns(task.n + sum(own.size for _, own in draws))
    stats = gen.generate_into(cols, 0, task.n, rng_gen)
    cols["bunch"][:task.n] = np.arange(task.n, dtype=np.int64)
    cols["primary"][:task.n] = True
    _fill_pileup(cols, task.n, draws, task.beam, task.motion, rng_pu)
    events = TruthEvents(**cols)
    t_gen = time.perf_counter()
    sel = reco_process(events, _detector(task.detector), _selection(task.selection),
                       task.e_nominal, rng_det)
    t_reco = time.perf_counter()
    prim = events.primary
    two, ee, gg = sel.two_cluster[prim], sel.ee[prim], sel.gg[prim]
    counts = {"2cl": int(two.sum()), "ee": int((two & ee).sum()), "gg": int((two & gg).sum()),
              "other": int((two & ~ee & ~gg).sum())}
    out: dict[str, Any] = {
        "index": task.index, "point": task.point, "process": task.process, "tag": task.tag,
        "n": task.n, "n_events_total": len(events), "n_proposed": stats.n_proposed,
        "sigma_sum": stats.sigma_sum, "weight_sum": stats.weight_sum, "counts": counts,
        "sigma_env": float(getattr(gen, "sigma_env", 0.0)),
        "extra": dict(stats.extra), "t_gen": t_gen - t_start, "t_reco": t_reco - t_gen,
    }
    if task.events_dir and task.write_events != "none":
        keep = prim & (sel.two_cluster if task.write_events == "selected" else True)
        out["events_file"] = _write_chunk(task, events, sel, keep)
    return out


def _write_chunk(task: Task, events: TruthEvents, sel, keep: np.ndarray) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from x17scan import atomic

    cols = events.take(keep).to_columns()
    for name in ("two_cluster", "ee", "gg", "n_clusters", "e1", "e2", "x1", "y1", "x2", "y2",
                 "t1", "t2"):
        cols[f"reco_{name}"] = np.asarray(getattr(sel, name))[keep]
    cols["point"] = np.full(int(keep.sum()), task.point, np.int32)
    name = f"p{task.point:03d}_{task.process}_{task.tag}_{task.chunk:05d}.parquet"
    path = Path(task.events_dir) / name
    with atomic.atomic_path(path) as tmp:
        pq.write_table(pa.table(cols), tmp)
    return name


# -- planning  ------------------------------------------------------------------------------------
def _electrons_per_mb(beam: BeamSetup) -> float:
    return beam.target.electrons_per_mb if beam.target is not None else 0.0


def validate(options: SimOptions) -> ScanPlan:
    """Check the options (plan, selection, detector, mass, numbers) before anything is written;
    returns the plan restricted to ``options.kinds``. Raises InputError (one line)."""
    from x17scan.beam import KINDS
    from x17scan.sim.generators import MOTION_MODELS

    plan = load_plan(options.plan)
    bad = [k for k in options.kinds if k not in KINDS]
    if bad:
        raise InputError(f"unknown point kind {bad[0]!r}", field="--kinds",
                         fix=f"use {', '.join(KINDS)}")
    plan = plan.select(options.kinds)
    if not plan.points:
        raise InputError("no plan points of the requested kinds", field="--kinds",
                         fix="choose kinds present in the plan")
    if options.events_per_point < 100:
        raise InputError(f"events per point = {options.events_per_point} is too small",
                         field="--events-per-point", fix="give at least 100")
    if not (options.pot_fraction > 0 and math.isfinite(options.pot_fraction)):
        raise InputError(f"PoT fraction = {options.pot_fraction} is not positive",
                         field="--pot-fraction", fix="give a positive fraction, e.g. 0.1")
    _check_pot_fraction(plan, options.pot_fraction)
    if options.chunk_size < 100:
        raise InputError("chunk size must be >= 100", field="--chunk-size", fix="e.g. 50000")
    if options.spin not in SPINS:
        raise InputError(f"unknown spin {options.spin!r}", field="--spin",
                         fix=f"use {', '.join(SPINS)}")
    if options.motion not in MOTION_MODELS or options.motion == "free":
        raise InputError(f"electron-motion model {options.motion!r} not usable", field="--motion",
                         fix="use atomic, sto or voigt")
    if options.format not in FORMATS:
        raise InputError(f"unknown format {options.format!r}", field="--format",
                         fix=f"use {', '.join(FORMATS)}")
    if options.write_events not in WRITE_EVENTS:
        raise InputError(f"unknown --write-events {options.write_events!r}",
                         field="--write-events", fix=f"use {', '.join(WRITE_EVENTS)}")
    if options.signal_mass is not None:
        lo, hi = plan.sqrt_s_range()
        m = options.signal_mass
        if not (math.isfinite(m) and lo <= m <= hi):
            raise InputError(f"signal mass {m} MeV is outside the scan's sqrt(s) range "
                             f"{lo:.3f}-{hi:.3f} MeV", field="--signal-mass",
                             fix="give a mass in MeV inside the scanned range")
    if not (options.gve > 0 and math.isfinite(options.gve) and options.gve < 0.1):
        raise InputError(f"g_ve = {options.gve} is not a small positive coupling",
                         field="--gve", fix="give e.g. 5e-4")
    if not (0 < options.halo_fraction <= 1):
        raise InputError("halo fraction must be in (0, 1]", field="halo_fraction",
                         fix="e.g. 0.1")
    det = _detector(options.detector)
    _check_outer_radius(_selection(options.selection), det)
    _check_field(det, plan, options.detector)
    return plan


def _check_outer_radius(selection, det) -> None:
    """An outer radius cut inside the innermost crystal centre keeps no cluster: almost always
    a length in cm (27 for 270 mm)."""
    rc = selection.cuts["radius"]
    r_in = float(det.ecal.crystal_radii().min())
    if rc["enabled"] and rc["r_max"] <= r_in:
        raise InputError(f"radius.r_max = {rc['r_max']:g} mm is inside the ECal's innermost "
                         f"crystal centre ({r_in:.1f} mm): no cluster can pass",
                         field="radius.r_max", source=selection.source,
                         fix="give the radius in mm (PADME Run III: 270)")


def _check_pot_fraction(plan: ScanPlan, fraction: float) -> None:
    """The scaled PoT and PoT errors of the scan-table rows must pass the scan table's own
    checks; found here, before the simulation, rather than after it."""
    from x17scan.data.scantable import MIN_POT, MIN_POT_ERR

    limits = [(MIN_POT / pt.pot, "PoT", pt.pot, MIN_POT, pt) for pt in plan.points
              if pt.has_target]
    limits += [(MIN_POT_ERR / pt.pot_err, "PoT error", pt.pot_err, MIN_POT_ERR, pt)
               for pt in plan.points if pt.has_target and pt.pot_err > 0]
    if not limits:
        return
    need, what, value, floor, pt = max(limits, key=lambda x: x[0])
    if fraction < need:
        step = 10.0 ** (math.floor(math.log10(need)) - 1)
        least = math.ceil(need / step) * step  # rounded up: the fix must be accepted
        name = pt.label or f"the point at {pt.e_beam:g} MeV"
        raise InputError(f"PoT fraction = {fraction:g} scales the {what} of {name} to "
                         f"{value * fraction:.3g} positrons, below the scan table's minimum of "
                         f"{floor:g}", field="--pot-fraction", fix=f"give at least {least:.2g}")


def _check_field(det, plan: ScanPlan, name: str) -> None:
    """A dipole field must not bend into the ECal particles that the generators leave out: the
    softest body the generators produce (two-body kinematics at R_GEN) must move by less than
    the margin between R_GEN and the outer crystal corner."""
    if not det.magnet.on:
        return
    from x17scan.physics.constants import M_E
    from x17scan.sim.generators import R_GEN, gamma_beta, generation_window

    g = det.ecal
    margin = R_GEN - (float(g.crystal_radii().max()) + g.pitch / math.sqrt(2.0))
    worst = 0.0
    for pt in plan.points:
        _, beta = gamma_beta(pt.e_beam)
        # the backward body at the edge of the massless window: E = gamma (sqrt s / 2)(1 - beta c)
        soft = 0.5 * (pt.e_beam + M_E) * (1.0 - beta * generation_window(pt.e_beam, 0.0))
        worst = max(worst, det.magnet.displacement(soft, g.z_front))
    if worst > margin:
        raise InputError(f"a {det.magnet.field} T field moves {worst:.0f} mm at the ECal, more "
                         f"than the generation window's margin ({margin:.0f} mm)",
                         field="magnet.field", source=name,
                         fix="use a weaker field (the fast generators assume near-straight "
                             "tracks)")


def signal_rate(plan: ScanPlan, point, mass: float, g: float, spin: str, motion: str,
                k_eff: float) -> float:
    """X produced per PoT at ``point`` for ``mass`` (MeV), coupling ``g``: the physics
    ``yield_per_pot`` (no target energy loss) times K_eff/K_0, where K_eff = <acceptance weight>/
    (alpha E_res) is the line shape with the energy loss measured by the generator and K_0 the
    same integral without it (on the generator's p_z grid)."""
    from x17scan.physics.constants import M_E
    from x17scan.physics.lineshape import yield_per_pot

    beam = BeamSetup.from_plan(plan, point)
    e_res = (mass * mass - 2 * M_E * M_E) / (2 * M_E)
    k0 = kernel_no_loss(beam.e_mean, beam.sigma_e, mass, motion)
    bes = beam.sigma_e / e_res
    y = float(yield_per_pot(beam.e_mean, mass, g, spin, bes, motion, plan.target))
    return y * (k_eff / k0) if k0 > 0 else y


def kernel_no_loss(e_mean: float, sigma_e: float, mass: float, motion: str) -> float:
    """Line shape K (1/MeV) at beam energy ``e_mean`` without energy loss, on the generator's
    electron-motion grid: int dp J(p) G(E*(p) - e_mean; sigma_e), E* = E_res/(1 - alpha p)."""
    from x17scan.physics.constants import ALPHA, M_E
    from x17scan.sim.generators import electron_motion

    e_res = (mass * mass - 2 * M_E * M_E) / (2 * M_E)
    mot = electron_motion(motion, e_res=e_res) if motion == "voigt" else electron_motion(motion)
    q = np.concatenate([-mot.q[:0:-1], mot.q])
    j = np.concatenate([mot.j[:0:-1], mot.j])
    ok = np.abs(ALPHA * q) < 0.9
    es = e_res / (1 - ALPHA * q[ok])
    gauss = np.exp(-0.5 * ((es - e_mean) / sigma_e) ** 2) / (math.sqrt(2 * math.pi) * sigma_e)
    f = j[ok] * gauss
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(q[ok])))


def halo_events_per_pot(plan: ScanPlan) -> float:
    """Generated beam-halo events per PoT: the plan's ``halo_rate_per_pot``, read as the
    no-target two-cluster rate per PoT after the reference selection (what PADME measures with
    its no-target runs), divided by the halo model's calibrated selected fraction
    (:data:`x17scan.sim.halo.HALO_SELECTED_FRACTION`)."""
    from x17scan.sim.halo import HALO_SELECTED_FRACTION

    return plan.halo_rate_per_pot / HALO_SELECTED_FRACTION


K_FACTOR_RANGE: tuple[float, float] = (16.4, 17.5)
"""sqrt(s) range (MeV) of PADME's BabaYaga/CalcHEP fit behind ``xsec.k_factor`` (physics.md §9,
"valid only near the scan")."""


def _nlo(process: str, sqrt_s: float, on: bool) -> float:
    """NLO/LO factor of ``process`` at ``sqrt_s`` (MeV). Outside the fitted range (the
    below-resonance points at 14.5-14.8 MeV) the factor is held at the nearest end of the range
    rather than extrapolating the fitted slope 2 MeV beyond its lever arm; the two differ by
    p1 x 1.9 MeV = 1.1 % at 14.55 MeV (the uncertainty of this choice)."""
    if not on:
        return 1.0
    from x17scan.physics.xsec import k_factor

    lo, hi = K_FACTOR_RANGE
    return float(k_factor(min(max(sqrt_s, lo), hi), process))


def pileup_rate(process: str, beam: BeamSetup) -> float:
    """Interactions of ``process`` per positron that reach the ECal: n_e l sigma(sqrt(s_nom),
    |cos theta*| < c_gen) with the generators' window c_gen (both bodies within R_GEN at the
    ECal; the window cross section the background generators use, at the nominal sqrt(s))."""
    from x17scan.physics import xsec
    from x17scan.physics.constants import M_E
    from x17scan.sim.generators import generation_window

    w = math.sqrt(2 * M_E * (beam.e_mean + M_E))
    if process == "bhabha":
        sigma = xsec.sigma_bhabha(w, generation_window(beam.e_mean, M_E))
    else:
        sigma = xsec.sigma_gg(w, generation_window(beam.e_mean, 0.0))
    return float(sigma) * _electrons_per_mb(beam)


def build_tasks(plan: ScanPlan, options: SimOptions, events_dir: str | None) -> list[Task]:
    """The deterministic list of chunks of a simulation."""
    from x17scan.parallel import chunk_sizes, task_seeds

    specs = []
    for j, pt in enumerate(plan.points):
        beam = BeamSetup.from_plan(plan, pt)
        rates: list[tuple[str, float]] = []
        if pt.has_target and options.pileup:
            for proc in ("bhabha", "gg"):
                rates.append((proc, pileup_rate(proc, beam)))
        if options.pileup and options.halo and plan.halo_rate_per_pot > 0:
            rates.append(("halo", halo_events_per_pot(plan)))
        n = options.events_per_point
        procs: list[tuple[str, str, float | None, int]] = []
        if pt.has_target:
            procs += [("bhabha", "bkg", None, n), ("gg", "bkg", None, n),
                      ("signal", "eff", round(pt.sqrt_s, 9), n)]
            if options.signal_mass is not None:
                procs.append(("signal", "inj", options.signal_mass, _n_injected(
                    plan, pt, options, n)))
        if options.halo and plan.halo_rate_per_pot > 0:
            n_halo = n if not pt.has_target else max(100, int(n * options.halo_fraction))
            procs.append(("halo", "bkg", None, n_halo))
        for proc, tag, mass, ntot in procs:
            if ntot <= 0:
                continue
            for c, size in enumerate(chunk_sizes(ntot, options.chunk_size)):
                specs.append((j, proc, tag, c, size, beam, pt.e_beam, mass, tuple(rates)))
    seeds = task_seeds(options.seed, len(specs) + 1)
    return [Task(index=i, point=j, process=proc, tag=tag, chunk=c, n=size, beam=beam,
                 e_nominal=e_nom, mass=mass, spin=options.spin, motion=options.motion,
                 pileup_rates=rates, detector=options.detector, selection=options.selection,
                 seed=seeds[i], events_dir=events_dir, write_events=options.write_events)
            for i, (j, proc, tag, c, size, beam, e_nom, mass, rates) in enumerate(specs)]


def _n_injected(plan: ScanPlan, pt, options: SimOptions, n: int) -> int:
    """MC events for the injected signal: full statistics where the signal matters, fewer
    where the expected count is negligible (the efficiency is then only needed roughly)."""
    from x17scan.physics.constants import M_E
    from x17scan.physics.lineshape import yield_per_pot

    beam = BeamSetup.from_plan(plan, pt)
    m = options.signal_mass
    e_res = (m * m - 2 * M_E**2) / (2 * M_E)
    y = float(yield_per_pot(beam.e_mean, m, options.gve, options.spin,
                            max(beam.sigma_e / e_res, 1e-6), options.motion, plan.target))
    expected = y * pt.pot * options.pot_fraction * 0.1
    if expected < 1e-3:
        return 0
    return int(min(n, max(2000, n * min(1.0, expected / 100.0))))


# -- aggregation  ---------------------------------------------------------------------------------
@dataclass
class PointResult:
    """Per-point outcome of a simulation (rates per PoT, efficiencies, counts)."""

    index: int
    point: Any
    rates: dict[str, float] = field(default_factory=dict)
    n_gen: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    bkg: dict[str, float] = field(default_factory=dict)
    bkg_err: dict[str, float] = field(default_factory=dict)
    eff: dict[str, float] = field(default_factory=dict)
    eff_err: dict[str, float] = field(default_factory=dict)
    sig: dict[str, float] = field(default_factory=dict)
    signal_yield: float = 0.0
    k_eff: float = 0.0
    window_fraction: float = 0.0
    diag: dict[str, float] = field(default_factory=dict)


def _binom(k: int, n: int) -> float:
    return math.sqrt(max(k * (1 - k / n), 0.0)) / n if n else 0.0


def aggregate(plan: ScanPlan, options: SimOptions, tasks: list[Task],
              results: list[dict[str, Any]]) -> list[PointResult]:
    """Combine chunk results into per-point rates, backgrounds and efficiencies."""
    from x17scan.physics.constants import ALPHA, M_E
    from x17scan.sim.generators import angular_fraction, generation_window

    acc: dict[tuple[int, str, str], dict[str, Any]] = {}
    for t, r in zip(tasks, results, strict=True):
        a = acc.setdefault((t.point, t.process, t.tag), {
            "n": 0, "n_proposed": 0, "sigma_sum": 0.0, "weight_sum": 0.0, "sigma_env": 0.0,
            "counts": dict.fromkeys(("2cl", *OBS_CATEGORIES), 0), "mass": t.mass})
        a["sigma_env"] = max(a["sigma_env"], r.get("sigma_env", 0.0))
        a["n"] += r["n"]
        a["n_proposed"] += r["n_proposed"]
        a["sigma_sum"] += r["sigma_sum"]
        a["weight_sum"] += r["weight_sum"]
        for k, v in r["counts"].items():
            a["counts"][k] += v
    out = []
    cats = ("2cl", *OBS_CATEGORIES)
    for j, pt in enumerate(plan.points):
        pr = PointResult(j, pt)
        beam = BeamSetup.from_plan(plan, pt)
        for cat in cats:
            pr.bkg[cat] = 0.0
            pr.bkg_err[cat] = 0.0
        for proc in ("bhabha", "gg", "halo"):
            a = acc.get((j, proc, "bkg"))
            if a is None:
                continue
            n_trials = a["n"]
            if proc == "halo":
                rate = halo_events_per_pot(plan)
            elif a["sigma_env"] > 0:
                # Accept-reject with probability min(sigma, sigma_env)/sigma_env: the kept events
                # follow min(sigma, sigma_env), whose mean is sigma_env n/n_proposed (a binomial
                # estimate). sigma > sigma_env only for proposals far below the beam energy
                # (hard bremsstrahlung in the target, sqrt(s') near threshold), which cannot pass
                # a two-body selection, so this capped rate gives the selected yield exactly,
                # while the mean of sigma (sigma_sum/n_proposed) carries that heavy tail: single
                # near-threshold proposals moved B by up to 3 % at 200k events.
                k_nlo = _nlo(proc, pt.sqrt_s, options.nlo)
                rate = _electrons_per_mb(beam) * a["sigma_env"] * a["n"] / a["n_proposed"] * k_nlo
                n_trials = a["n_proposed"]
                pr.diag[f"rate_mean_sigma_{proc}"] = (_electrons_per_mb(beam) * a["sigma_sum"]
                                                      / a["n_proposed"] * k_nlo)
            else:
                rate = (_electrons_per_mb(beam) * a["sigma_sum"] / a["n_proposed"]
                        * _nlo(proc, pt.sqrt_s, options.nlo))
            pr.rates[proc] = rate
            pr.n_gen[proc] = a["n"]
            pr.counts[proc] = dict(a["counts"])
            # B = rate k/n = c k/n_trials with c = rate n_trials/n: binomial error on k out of
            # n_trials (the proposals for the capped-rate estimate, else the events)
            c_norm = rate * n_trials / a["n"]
            for cat in cats:
                k = a["counts"][cat]
                pr.bkg[cat] += c_norm * k / n_trials
                pr.bkg_err[cat] = math.hypot(pr.bkg_err[cat], c_norm * _binom(k, n_trials))
        for tag in ("eff", "inj"):
            a = acc.get((j, "signal", tag))
            if a is None:
                continue
            m = a["mass"]
            frac = angular_fraction(generation_window(beam.e_mean, M_E, parent_mass=m),
                                    options.spin)
            pr.n_gen[f"signal_{tag}"] = a["n"]
            pr.counts[f"signal_{tag}"] = dict(a["counts"])
            effs = {c: frac * a["counts"][c] / a["n"] for c in cats}
            if tag == "eff":
                pr.window_fraction = frac
                pr.eff = effs
                pr.eff_err = {c: frac * _binom(a["counts"][c], a["n"]) for c in cats}
            else:
                e_res = (m * m - 2 * M_E * M_E) / (2 * M_E)
                pr.k_eff = a["weight_sum"] / a["n_proposed"] / (ALPHA * e_res)
                pr.signal_yield = signal_rate(plan, pt, m, options.gve, options.spin,
                                              options.motion, pr.k_eff)
                pr.sig = {c: pr.signal_yield * effs[c] for c in cats}
        if options.signal_mass is not None and not pr.sig and pt.has_target:
            # injected signal negligible here (no MC): its yield with the efficiency proxy
            m = options.signal_mass
            from x17scan.physics.lineshape import yield_per_pot

            e_res = (m * m - 2 * M_E * M_E) / (2 * M_E)
            pr.signal_yield = float(yield_per_pot(beam.e_mean, m, options.gve, options.spin,
                                                  max(beam.sigma_e / e_res, 1e-6),
                                                  options.motion, plan.target))
            pr.sig = {c: pr.signal_yield * pr.eff.get(c, 0.0) for c in cats}
        out.append(pr)
    return out


def _configuration(point) -> tuple[float, bool]:
    """What makes two plan points the same physics: beam energy (MeV) and target."""
    return float(point.e_beam), bool(point.has_target)


def _pooled(values: list[float], errors: list[float]) -> tuple[float, float]:
    """Combined estimate and error of independent MC estimates of one quantity: the
    inverse-variance mean (the plain mean if an error is 0); a single estimate as it is."""
    if len(values) == 1:
        return values[0], errors[0]
    v, e = np.asarray(values), np.asarray(errors)
    if np.all(e > 0):
        w = 1.0 / e**2
        return float(np.sum(w * v) / np.sum(w)), float(1.0 / math.sqrt(np.sum(w)))
    return float(v.mean()), float(math.sqrt(np.sum(e**2)) / v.size)


def draw_observed(plan: ScanPlan, options: SimOptions, points: list[PointResult],
                  seed: np.random.SeedSequence) -> dict[int, dict[str, float]]:
    """n_obs per point and observable for the simulated PoT (see the module docstring)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    groups: dict[tuple[float, bool], list[PointResult]] = {}
    for pr in points:
        groups.setdefault(_configuration(pr.point), []).append(pr)
    truth = {(key, c): _pooled([m.bkg[c] for m in grp], [m.bkg_err.get(c, 0.0) for m in grp])
             for key, grp in groups.items() for c in OBS_CATEGORIES}
    first_z: dict[tuple, float] = {}
    obs = {}
    for pr in points:
        pt = pr.point
        key = _configuration(pt)
        pot = pt.pot * options.pot_fraction
        rel = pt.pot_err / pt.pot
        pot_true = pot * max(1.0 + rel * rng.standard_normal(), 0.5)
        n = {}
        for c in OBS_CATEGORIES:
            # the truth behind the counts differs from the table's MC estimate B by B's own
            # stated MC error, as for real data (drawing from B itself would make the scan
            # flatter than the table's errors say: B-only deviance ~ 0.6 ndf). Every point
            # draws its deviate, so the streams of the others do not depend on the grouping
            z = first_z.setdefault((key, c), rng.standard_normal())
            b, b_err = truth[key, c]
            b_true = max(b + b_err * z, 0.0)
            n[c] = float(rng.poisson(pot_true * (b_true + pr.sig.get(c, 0.0))))
        n["2cl"] = n["ee"] + n["gg"] + n["other"]
        n["pot"] = pot
        n["pot_err"] = pt.pot_err * options.pot_fraction
        obs[pr.index] = n
    return obs


def scan_tables(plan: ScanPlan, options: SimOptions, points: list[PointResult],
                obs: dict[int, dict[str, float]], meta: dict[str, Any]):
    """One ScanTable per observable ("2cl", "ee", "gg") over the target points."""
    from x17scan.data import ScanTable

    rows = [pr for pr in points if pr.point.has_target]
    rows.sort(key=lambda pr: (pr.point.sqrt_s, pr.point.run))
    tables = {}
    for observable in OBSERVABLE_FILES:
        cat = observable
        b = np.array([pr.bkg[cat] for pr in rows])
        berr = np.array([pr.bkg_err[cat] for pr in rows])
        used = np.array([pr.point.used for pr in rows])
        n_gen = np.array([sum(pr.n_gen.get(p, 0) for p in ("bhabha", "gg")) for pr in rows])
        zero = b <= 0
        if zero.any():
            # no selected MC event: 1.14/N (68 % CL upper rate) x rate, point not fitted
            b = np.where(zero, 1.14 * np.array([pr.rates.get("bhabha", 1e-6) for pr in rows])
                         / np.maximum(n_gen, 1), b)
            used = used & ~zero
        cols = {
            "sqrt_s": np.array([pr.point.sqrt_s for pr in rows]),
            "e_beam": np.array([pr.point.e_beam for pr in rows]),
            "n_obs": np.array([obs[pr.index][cat] for pr in rows]),
            "pot": np.array([obs[pr.index]["pot"] for pr in rows]),
            "pot_err": np.array([obs[pr.index]["pot_err"] for pr in rows]),
            "bkg_per_pot": b, "bkg_per_pot_err": berr,
            "sig_eff": np.array([pr.eff.get(cat, 0.0) for pr in rows]),
            "sig_eff_err": np.array([pr.eff_err.get(cat, 0.0) for pr in rows]),
            "scan_part": np.array([pr.point.scan_part for pr in rows]),
            "period": np.array([pr.point.period for pr in rows]),
            "used": used,
        }
        m = {**meta, "observable": observable, "name": f"sim-{plan.name}-{observable}",
             "source": "x17scan simulate"}
        tables[observable] = ScanTable.from_columns(cols, meta=m)
    return tables


def summary_frame(points: list[PointResult], obs: dict[int, dict[str, float]]):
    """A pandas DataFrame with one row per point: rates, counts, B, efficiencies, n_obs."""
    import pandas as pd

    recs = []
    for pr in points:
        pt = pr.point
        o = obs.get(pr.index, {})
        r = {"index": pr.index, "label": pt.label, "kind": pt.kind, "run": pt.run,
             "period": pt.period, "e_beam": pt.e_beam, "sqrt_s": pt.sqrt_s,
             # the simulated PoT (pot_fraction x the plan's), to which nobs_* belong
             "pot": o.get("pot", pt.pot), "pot_err": o.get("pot_err", pt.pot_err),
             "signal_yield": pr.signal_yield, "k_eff": pr.k_eff,
             "window_fraction": pr.window_fraction, **pr.diag}
        for proc, rate in pr.rates.items():
            r[f"rate_{proc}"] = rate
            r[f"ngen_{proc}"] = pr.n_gen[proc]
            for c, k in pr.counts[proc].items():
                r[f"nsel_{proc}_{c}"] = k
        for key in ("signal_eff", "signal_inj"):
            if key in pr.counts:
                r[f"ngen_{key}"] = pr.n_gen[key]
                for c, k in pr.counts[key].items():
                    r[f"nsel_{key}_{c}"] = k
        for c in ("2cl", *OBS_CATEGORIES):
            r[f"bkg_{c}"] = pr.bkg.get(c, 0.0)
            r[f"bkg_err_{c}"] = pr.bkg_err.get(c, 0.0)
            r[f"eff_{c}"] = pr.eff.get(c, np.nan)
            r[f"eff_err_{c}"] = pr.eff_err.get(c, np.nan)
            r[f"sig_{c}"] = pr.sig.get(c, 0.0)
            r[f"nobs_{c}"] = o.get(c, np.nan)
        recs.append(r)
    return pd.DataFrame.from_records(recs)


# -- the job  -------------------------------------------------------------------------------------
@dataclass
class SimulationResult:
    """What :func:`simulate` returns: per-point results, tables and the output folder."""

    plan: ScanPlan
    options: SimOptions
    points: list[PointResult]
    tables: dict[str, Any]
    summary: Any
    outdir: Path | None
    info: dict[str, Any]


def simulate(options: SimOptions, outdir: str | Path | None = None, *, workers: int = 1,
             scheduler: str | None = None, fresh: bool = False, progress: bool = True,
             plan: ScanPlan | None = None) -> SimulationResult:
    """Run a simulation; with ``outdir`` write scan tables, summary, events and
    simulation.json there (atomically) and checkpoint the chunks in ``outdir/.checkpoint``."""
    from x17scan import __version__, atomic
    from x17scan.parallel import Checkpoint, job_fingerprint, make_executor, run_tasks

    if plan is None:
        plan = validate(options)
    else:  # a caller's own plan: the PoT scaling is the check that depends on it
        _check_pot_fraction(plan, options.pot_fraction)
    out = Path(outdir) if outdir is not None else None
    if out is not None:
        atomic.check_output_dir(out)
    events_dir = None if out is None or options.write_events == "none" else str(out / "events")
    tasks = build_tasks(plan, options, events_dir)
    fp = job_fingerprint({"plan": plan.to_dict(), "options": options.to_dict(),
                          "version": __version__})
    t0 = time.perf_counter()
    # the executor first: a bad scheduler address must leave the output folder untouched
    with make_executor(workers, scheduler) as ex:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            if events_dir is not None:
                Path(events_dir).mkdir(exist_ok=True)
        ckpt = Checkpoint(out / ".checkpoint", fp, fresh=fresh) if out is not None else None
        results = run_tasks(run_task, tasks, executor=ex, checkpoint=ckpt,
                            desc=f"simulate {plan.name}", progress=progress)
    wall = time.perf_counter() - t0
    points = aggregate(plan, options, tasks, results)
    obs_seed = np.random.SeedSequence(options.seed).spawn(len(tasks) + 1)[-1]
    obs = draw_observed(plan, options, points, obs_seed)
    seeds = {"root_seed": options.seed, "n_tasks": len(tasks),
             "scheme": "SeedSequence(seed).spawn(n_tasks + 1): task i -> child i, n_obs -> last"}
    info = {
        "x17scan": __version__, "numpy": np.__version__, "python": platform.python_version(),
        "fingerprint": fp, "wall_seconds": wall, "executor": f"workers={workers}",
        "events_generated": int(sum(r["n"] for r in results)),
        "events_with_pileup": int(sum(r["n_events_total"] for r in results)),
        "time_generation": float(sum(r["t_gen"] for r in results)),
        "time_reconstruction": float(sum(r["t_reco"] for r in results)),
        "over_envelope_proposals": int(sum(r["extra"].get("n_over_env", 0) for r in results)),
    }
    meta = {"plan": plan.name, "plan_fingerprint": plan.fingerprint(),
            "simulation": {k: v for k, v in options.to_dict().items() if k != "kinds"},
            "pot_fraction": options.pot_fraction}
    tables = scan_tables(plan, options, points, obs, meta) if plan.target_points else {}
    summary = summary_frame(points, obs)
    if out is not None:
        from x17scan.sim.io import finalize_events, write_scan_table

        for observable, fname in OBSERVABLE_FILES.items():
            if observable in tables:
                write_scan_table(tables[observable], out / fname)
        with atomic.atomic_path(out / "summary.parquet") as tmp:
            summary.to_parquet(tmp)
        if events_dir is not None:
            info["events"] = finalize_events(out, [r.get("events_file") for r in results],
                                             options.format)
        doc = {"plan": plan.to_dict(), "options": options.to_dict(), "seeds": seeds,
               "versions": {k: info[k] for k in ("x17scan", "numpy", "python")},
               "info": info,
               "points": json.loads(summary.to_json(orient="records"))}
        atomic.write_text(out / "simulation.json", json.dumps(doc, indent=1, default=str))
        ckpt.clear()
    return SimulationResult(plan, options, points, tables, summary, out, info)
