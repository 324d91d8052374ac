"""Event generators: Bhabha, e+e- -> gamma gamma and resonant X17 -> e+e- on a thin target.

Each generator is built once per scan point (tables) and then produces unweighted events in
chunks: ``gen.generate(n, rng) -> (TruthEvents, GenStats)``. Every event carries the full chain:

1. the beam positron (Gaussian energy, spot, independent x/y divergence; :mod:`.target`),
   an interaction depth uniform along it, its collision and bremsstrahlung energy loss and its
   multiple scattering before the vertex;
2. the target electron: energy m_e, momentum drawn from the carbon Compton profile J(p_z)
   (:mod:`x17scan.physics.compton`) along the positron, and a transverse momentum drawn from the
   isotropic momentum density consistent with J: for an isotropic density
   P(|p| > k | p_z) = J(k)/J(|p_z|) for k >= |p_z|, so |p| = J^-1(u J(|p_z|)) with u uniform
   (exact for a spherically averaged atom; diamond bonding is not modelled);
3. the hard process in the exact CM frame of (positron, electron): cos theta* drawn from the
   tree-level dsigma/dcos (``xsec.dsigma_bhabha``, ``xsec.dsigma_gg``) by inverse CDF on a
   4097-point table inside a generation window |cos theta*| < c_gen, wider than the acceptance
   (both bodies within ``r_gen`` = 360 mm at the ECal face, beyond its ~320 mm outer edge);
   the axis is the positron direction in the CM frame; exact boost back to the lab (no
   approximate gamma as in PadmeMC, docs/detector.md §10 item 3);
4. multiple scattering and energy loss of the outgoing e+- in the rest of the target.

Background events are unweighted in sqrt(s): a proposal (beam, electron) is kept with
probability sigma_gen(sqrt s)/sigma_env (sigma_env = window cross section at 0.8 E_beam; the
~1e-3 of proposals with a larger cross section, after a hard bremsstrahlung or on a fast 1s
electron, are counted in ``GenStats.extra["n_over_env"]`` and kept with probability 1, i.e.
with the capped cross section min(sigma_gen, sigma_env)); the dsigma/dcos *shape* is
tabulated at the nominal sqrt(s) (its sqrt(s) dependence over the event spread is
O(m_e^2/s) x 1 % ~ 1e-5). The kept events therefore follow min(sigma_gen, sigma_env), and the
rate that matches them is sigma_env x kept/proposed (the capped-rate estimator used by
:func:`x17scan.sim.pipeline.aggregate`). ``GenStats.sigma_sum/n_proposed`` (the mean of the
uncapped sigma_gen) is *not* that rate: near-threshold proposals after a hard
bremsstrahlung give it a heavy tail (jumps of several per cent per chunk were seen), so it is
kept only as a diagnostic.

Implementation: each ``generate`` call is one fused numba kernel over the chunk
(:mod:`x17scan.sim._kernels`), event by event, with its own random stream seeded from ``rng``
(one draw), so the events are a deterministic function of the chunk's seed. A proposal draws
only what its acceptance depends on (beam energy and direction, depth, energy loss, electron
momentum); the rest is drawn for kept proposals. sigma_gen(sqrt s) and the stopping powers are
interpolated from fine tables of the closed forms (relative error < 1e-12 and < 1e-9). For the
backgrounds the electron's (p_z, |p|) come from the equivalent radial form of step 2 (|p| from
-2 p J'(p), p_z = |p| cos, cos uniform: the same joint law, one table lookup).

Signal (narrow resonance, sqrt(s) = M exactly): a proposal is the positron energy E at the
vertex (beam spread and target energy loss); the electron p_z that puts the pair on resonance is
p_z = (1 - E_res/E)/alpha a.u. (physics.md §6.1, the condition of the physics kernel), and the
proposal is kept with probability proportional to J(p_z)(1 - p_z/m_e)^2, the Jacobian that makes
the p_z density J(p_z) f(E*(p_z)), exactly the integrand of the physics kernel K(E_b)
(``lineshape.kernel``, physics.md §6.2; O(p/m_e) flux changes neglected as there). The X
momentum is the positron's plus the electron's, its energy sqrt(M^2 + P^2). V/A decay
1 + cos^2 theta*, S/P flat, about the positron direction in the X rest frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from x17scan.physics.constants import ALPHA, ECAL_DISTANCE_RUN3, M_E
from x17scan.sim import _kernels
from x17scan.sim.events import PROCESS_CODES, TruthEvents, empty_columns
from x17scan.sim.kinematics import window_cos
from x17scan.sim.target import BeamSetup, orthonormal_basis, sample_beam

R_GEN: float = 360.0
"""Radius (mm) at the ECal face inside which both bodies of a generated event fall (nominal
kinematics): wider than the ECal (outer crystal edge ~320 mm) and than the selection. Checked
with events generated out to 420 mm (P01 and P47, both shipped selections, ~2.4e5 selected
events per process): of the selected Bhabha events one (4e-6, a fast 1s electron far from
nominal kinematics, which any window in nominal kinematics can miss) lies beyond 360 mm, no
gamma gamma or signal event does; 350 mm would lose no more and generate 8-10 % fewer events
(``benchmarks/bench_sim.py`` prints this scan). The halo model's calibration
(``sim.halo.HALO_SELECTED_FRACTION``) depends on this value."""

MOTION_MODELS: tuple[str, ...] = ("atomic", "sto", "free", "voigt")
"""Electron-motion models (the names of ``lineshape`` line shapes): HF or Slater carbon
profiles, electrons at rest, or PADME's effective Lorentzian (in p_z, half width
gamma_L/(alpha E_res) a.u. with gamma_L = 1.72 MeV)."""

SPINS_VA = ("vector", "axial")
SPINS_SP = ("scalar", "pseudoscalar")
_AU = ALPHA * M_E  # MeV per atomic unit of momentum
_PZ_MAX = 100.0  # a.u.
_NGRID = 20_001  # 0.005 a.u. steps: interpolation error << MC precision, cache-friendly


# -- electron motion  -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ElectronMotion:
    """Projected-momentum distribution of the target electrons on a |p_z| grid (a.u.).

    ``j``: J(q)/Z on ``q`` >= 0 (even, normalised to 1/2 on q >= 0), non-increasing;
    ``cdf``: int_0^q j (0 ... 1/2)."""

    model: str
    q: np.ndarray
    j: np.ndarray
    cdf: np.ndarray

    @cached_property
    def radial_cdf(self) -> np.ndarray:
        """CDF of |p| (a.u.) at the grid nodes for the isotropic density whose projection is
        the piecewise-linear J: the radial density -2 p J'(p) integrates to (j_k - j_k+1)
        (q_k + q_k+1) over cell k; it ends at 1 - 2 q_max J(q_max) (the rest is the atom at
        q_max, as in :meth:`sample_p`)."""
        inc = (self.j[:-1] - self.j[1:]) * (self.q[:-1] + self.q[1:])
        out = np.concatenate(([0.0], np.cumsum(inc)))
        out.setflags(write=False)
        return out

    @cached_property
    def radial_guide(self) -> np.ndarray:
        """Guide table of :attr:`radial_cdf` for the kernels' inverse-CDF lookup."""
        return _kernels.guide_table(self.radial_cdf, 1.0)

    def sample_pz_p(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs (p_z, |p|) (a.u.) as the background kernels draw them: |p| from the
        radial law, p_z = |p| cos with cos uniform (the joint law of :meth:`sample_pz` then
        :meth:`sample_p`)."""
        pz, p = np.empty(n), np.empty(n)
        if self.at_rest:
            pz[:] = 0.0
            p[:] = 0.0
        else:
            _kernels.motion_chunk(_kernels.seed_state(rng), self.q, self.radial_cdf,
                                  self.radial_guide, pz, p)
        return pz, p

    @property
    def at_rest(self) -> bool:
        return self.model == "free"

    def sample_pz(self, u: np.ndarray) -> np.ndarray:
        """p_z (a.u.) for uniform ``u`` by inverse CDF."""
        if self.at_rest:
            return np.zeros_like(u)
        d = u - 0.5
        return np.sign(d) * np.interp(np.abs(d), self.cdf, self.q)

    def density(self, pz: np.ndarray) -> np.ndarray:
        """J(p_z)/Z (1/a.u.)."""
        return np.interp(np.abs(pz), self.q, self.j, right=0.0)

    def sample_p(self, pz: np.ndarray, u: np.ndarray) -> np.ndarray:
        """|p| (a.u.) given p_z, for uniform ``u``: J^-1(u J(|p_z|)) (isotropic density)."""
        if self.at_rest:
            return np.abs(pz)
        target = u * self.density(pz)
        # j is non-increasing in q: interpolate on the reversed (increasing) arrays
        p = np.interp(target, self.j[::-1], self.q[::-1])
        return np.maximum(p, np.abs(pz))

    def momentum(self, pz_au: np.ndarray, d: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
        """Electron momentum vectors (n, 3) MeV with component ``pz_au`` (a.u.) along the unit
        vectors ``d`` and an isotropic-consistent transverse part."""
        if self.at_rest:
            return pz_au[:, None] * _AU * d
        n = pz_au.size
        p = self.sample_p(pz_au, rng.random(n))
        pt = np.sqrt(np.maximum(p * p - pz_au * pz_au, 0.0))
        phi = 2 * np.pi * rng.random(n)
        u, v = orthonormal_basis(d)
        vec = (pz_au[:, None] * d + (pt * np.cos(phi))[:, None] * u
               + (pt * np.sin(phi))[:, None] * v)
        return vec * _AU


@lru_cache(maxsize=16)
def electron_motion(model: str = "atomic", gamma_l: float = 1.72, e_res: float = 282.27
                    ) -> ElectronMotion:
    """The tabulated :class:`ElectronMotion` of ``model`` (see :data:`MOTION_MODELS`).
    ``gamma_l`` (MeV) and ``e_res`` (MeV) only matter for "voigt"."""
    if model not in MOTION_MODELS:
        raise ValueError(f"electron-motion model must be one of {', '.join(MOTION_MODELS)}")
    q = np.linspace(0.0, _PZ_MAX, _NGRID)
    if model == "free":
        j = np.zeros_like(q)
        j[0] = 1.0
    elif model == "voigt":
        g = gamma_l / (ALPHA * e_res)
        j = 1.0 / (np.pi * g * (1.0 + (q / g) ** 2))
    else:
        from x17scan.physics.compton import profile

        j = profile(q, "hf" if model == "atomic" else "sto")
    j = np.minimum.accumulate(np.asarray(j, dtype=float))  # enforce monotonic (table noise)
    c = np.concatenate(([0.0], np.cumsum(0.5 * (j[1:] + j[:-1]) * np.diff(q))))
    j = j / (2 * c[-1]) if model != "free" else j
    c = c / (2 * c[-1]) if model != "free" else np.full_like(c, 0.5)
    for a in (q, j, c):
        a.setflags(write=False)
    return ElectronMotion(model, q, j, c)


# -- shared pieces  -------------------------------------------------------------------------------
@dataclass
class GenStats:
    """Bookkeeping of one generated chunk: ``n`` events kept out of ``n_proposed`` proposals;
    ``sigma_sum`` = sum over proposals of the window cross section (mb), so that the rate per
    PoT is n_e l sigma_sum/n_proposed (backgrounds); for the signal ``weight_sum`` = sum of the
    acceptance weights (line-shape normalisation with energy loss, see
    :meth:`SignalGenerator.rate_factor`)."""

    n: int = 0
    n_proposed: int = 0
    sigma_sum: float = 0.0
    weight_sum: float = 0.0
    extra: dict = field(default_factory=dict)

    def __iadd__(self, other: GenStats) -> GenStats:
        self.n += other.n
        self.n_proposed += other.n_proposed
        self.sigma_sum += other.sigma_sum
        self.weight_sum += other.weight_sum
        return self


@dataclass
class _Incoming:
    vertex: np.ndarray   # (n, 3)
    depth: np.ndarray    # (n,) z of the vertex, mm
    e: np.ndarray        # (n,) positron energy at the vertex
    d: np.ndarray        # (n, 3) positron direction at the vertex


def incoming(n: int, beam: BeamSetup, rng: np.random.Generator) -> _Incoming:
    """Beam positrons at their interaction point (uniform in depth along the positron),
    after energy loss and multiple scattering in the target material before it (the first
    steps of every generator kernel)."""
    if beam.target is None:
        xy, d0, e0 = sample_beam(n, beam, rng)
        v = np.column_stack([xy, np.zeros(n)])
        return _Incoming(v, np.zeros(n), e0, d0)
    vertex, e, d = np.empty((n, 3)), np.empty(n), np.empty((n, 3))
    _kernels.incoming_chunk(_kernels.seed_state(rng), n, _kernels.beam_params(beam), vertex, e,
                            d)
    return _Incoming(vertex, vertex[:, 2].copy(), e, d)


def _table_sampler(pdf, c: float, n_grid: int = 4097):
    grid = np.linspace(-c, c, n_grid)
    f = np.asarray(pdf(grid), dtype=float)
    cdf = np.concatenate(([0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(grid))))
    cdf /= cdf[-1]
    return grid, cdf


def gamma_beta(e_beam: float, parent_mass: float | None = None) -> tuple[float, float]:
    """Lorentz factor and velocity of the parent system for a positron of ``e_beam`` on an
    electron at rest (parent mass = sqrt(s) unless given)."""
    w = math.sqrt(2 * M_E * (e_beam + M_E)) if parent_mass is None else parent_mass
    g = (e_beam + M_E) / w
    return g, math.sqrt(1 - 1 / (g * g))


def generation_window(e_beam: float, final_mass: float, parent_mass: float | None = None,
                      r_gen: float = R_GEN, distance: float = ECAL_DISTANCE_RUN3) -> float:
    """c_gen: both bodies inside ``r_gen`` (mm) at ``distance`` (mm) for nominal kinematics."""
    w = math.sqrt(2 * M_E * (e_beam + M_E)) if parent_mass is None else parent_mass
    g, _ = gamma_beta(e_beam, w)
    bstar = math.sqrt(max(1 - 4 * final_mass**2 / w**2, 1e-300))
    return window_cos(math.atan(r_gen / distance), g, bstar)


def _dedx_tables(beam: BeamSetup):
    # every final-state energy is below the beam's + its CM share of an electron's kick
    return _kernels.dedx_tables(beam.target, 1.2 * beam.e_mean + 10 * beam.sigma_e + 10.0)


def _rows(cols: dict[str, np.ndarray], a: int, b: int) -> dict[str, np.ndarray]:
    # views of rows a..b-1 (contiguous: the columns are sliced along their first axis)
    return {k: v[a:b] for k, v in cols.items()}


def _label(out: dict[str, np.ndarray], process: str, pdg: tuple[int, int]) -> None:
    out["process"][:] = PROCESS_CODES[process]
    out["pdg"][:] = pdg
    out["bunch"][:] = np.arange(out["bunch"].shape[0], dtype=np.int64)
    out["primary"][:] = True


def generate_events(gen, n: int, rng: np.random.Generator) -> tuple[TruthEvents, GenStats]:
    """``n`` events of a generator with ``generate_into`` (a fresh chunk) and their bookkeeping."""
    cols = empty_columns(n)
    stats = gen.generate_into(cols, 0, n, rng)
    return TruthEvents(**cols), stats


# -- backgrounds  ---------------------------------------------------------------------------------
class BackgroundGenerator:
    """Bhabha (``process="bhabha"``) or gamma gamma (``"gg"``) events at one scan point."""

    def __init__(self, process: str, beam: BeamSetup, motion: str = "atomic",
                 r_gen: float = R_GEN, distance: float = ECAL_DISTANCE_RUN3) -> None:
        from x17scan.physics import xsec

        if process not in ("bhabha", "gg"):
            raise ValueError(f"unknown background process {process!r}")
        if beam.target is None:
            raise ValueError("background processes need a target")
        self.process, self.beam = process, beam
        self.motion = electron_motion(motion)
        self.final_mass = M_E if process == "bhabha" else 0.0
        self.sqrt_s_nominal = math.sqrt(2 * M_E * (beam.e_mean + M_E))
        self.c_gen = generation_window(beam.e_mean, self.final_mass, r_gen=r_gen,
                                       distance=distance)
        w = self.sqrt_s_nominal
        if process == "bhabha":
            self._dsigma = lambda c: xsec.dsigma_bhabha(w, c)
            self._sigma = lambda ws: xsec.sigma_bhabha(ws, self.c_gen)
        else:
            self._dsigma = lambda c: xsec.dsigma_gg(w, c)
            self._sigma = lambda ws: xsec.sigma_gg(ws, self.c_gen)
        self.grid, self.cdf = _table_sampler(self._dsigma, self.c_gen)
        self.sigma_env = float(self._sigma(math.sqrt(2 * M_E * (0.8 * beam.e_mean + M_E))))
        self._guide = _kernels.guide_table(self.cdf, 1.0)
        self._par = _kernels.beam_params(beam)
        self._dedx = _dedx_tables(beam)
        self._sig = _kernels.sigma_table(process == "gg", self.c_gen, w)

    @property
    def sigma_nominal(self) -> float:
        """Window cross section (mb) at the nominal sqrt(s) (electron at rest)."""
        return float(self._sigma(self.sqrt_s_nominal))

    def sample_cos(self, u: np.ndarray) -> np.ndarray:
        """cos theta* from the tabulated dsigma/dcos (the positron's angle for Bhabha)."""
        return np.interp(u, self.cdf, self.grid)

    def generate(self, n: int, rng: np.random.Generator) -> tuple[TruthEvents, GenStats]:
        """``n`` unweighted events and their bookkeeping (proposals are counted up to the
        last kept one, so the rate estimate is unbiased)."""
        return generate_events(self, n, rng)

    def generate_into(self, cols: dict[str, np.ndarray], a: int, b: int,
                      rng: np.random.Generator) -> GenStats:
        """The ``b - a`` events of :meth:`generate` written into rows a..b-1 of the chunk
        columns ``cols`` (:func:`~x17scan.sim.events.empty_columns`; bunch 0, 1, ... from row
        a; primary); returns their bookkeeping."""
        out = _rows(cols, a, b)
        n = b - a
        sqrt_s = out["sqrt_s"]
        mot = self.motion
        rad = (mot.radial_cdf, mot.radial_guide) if not mot.at_rest else (mot.cdf, self._guide)
        dpos, dele = self._dedx
        state = _kernels.seed_state(rng)
        i = n_prop = n_over = 0
        sig_sum = 0.0
        while i < n:
            i, k, s, o = _kernels.background_chunk(
                state, i, n, _kernels.MAX_PROPOSALS, self._par, self.process == "gg",
                mot.at_rest, mot.q, *rad, self.grid, self.cdf, self._guide, self.c_gen,
                self.sigma_env, self._sig.f, self._sig.x0, self._sig.h, dpos.f, dele.f,
                dpos.x0, dpos.h, out["vertex"], out["t0"], out["e"], out["p"], out["e_beam"],
                sqrt_s, out["cos_theta_star"])
            n_prop, sig_sum, n_over = n_prop + k, sig_sum + s, n_over + o
        _label(out, self.process, (11, -11) if self.process == "bhabha" else (22, 22))
        return GenStats(n=n, n_proposed=int(n_prop), sigma_sum=float(sig_sum),
                        extra={"n_over_env": int(n_over)})


# -- signal  --------------------------------------------------------------------------------------
def _sample_1pcos2(u: np.ndarray, c: float) -> np.ndarray:
    """x in [-c, c] with density proportional to 1 + x^2 (inverse CDF, Cardano)."""
    ymax = c + c**3 / 3
    y = (2 * u - 1) * ymax
    q = 1.5 * y
    r = np.sqrt(q * q + 1.0)
    return np.cbrt(q + r) + np.cbrt(q - r)


def angular_fraction(c: float, spin: str) -> float:
    """Fraction of X -> e+e- decays with |cos theta*| < c: (3/8)(2c + 2c^3/3) for V/A, c for
    S/P (physics.md §5.2)."""
    return 0.375 * (2 * c + 2 * c**3 / 3) if spin in SPINS_VA else c


class SignalGenerator:
    """Resonant X -> e+e- events of ``mass`` (MeV) at one scan point (see module docstring)."""

    def __init__(self, beam: BeamSetup, mass: float, spin: str = "vector",
                 motion: str = "atomic", r_gen: float = R_GEN,
                 distance: float = ECAL_DISTANCE_RUN3) -> None:
        if spin not in SPINS_VA + SPINS_SP:
            raise ValueError(f"unknown spin {spin!r}")
        if beam.target is None:
            raise ValueError("the signal needs a target")
        self.beam, self.mass, self.spin = beam, float(mass), spin
        self.e_res = (mass * mass - 2 * M_E * M_E) / (2 * M_E)
        self.motion = electron_motion(motion, e_res=self.e_res) if motion == "voigt" else \
            electron_motion(motion)
        self.c_gen = generation_window(beam.e_mean, M_E, parent_mass=self.mass, r_gen=r_gen,
                                       distance=distance)
        self.fraction = angular_fraction(self.c_gen, spin)
        q, j = self.motion.q, self.motion.j
        # envelope of J(p)(1 - alpha p)^2 over the p_z reachable by the proposals: positron
        # energies reach at most E_mean + 8 sigma_E (energy loss only lowers them)
        p_hi = (1.0 - self.e_res / (beam.e_mean + 8 * beam.sigma_e + 1e-6)) / ALPHA
        neg = j * (1 + q * ALPHA) ** 2
        env = float(neg[q >= -p_hi].max()) if p_hi < 0 else float(neg.max())
        if p_hi > 0:
            env = max(env, float((j * (1 - q * ALPHA) ** 2)[q <= p_hi].max()))
        self._env = env * (1 + 1e-9)
        self._par = _kernels.beam_params(beam)
        self._dedx = _dedx_tables(beam)

    def generate(self, n: int, rng: np.random.Generator) -> tuple[TruthEvents, GenStats]:
        """``n`` unweighted signal events (with |cos theta*| < c_gen; multiply efficiencies by
        :attr:`fraction`)."""
        return generate_events(self, n, rng)

    def generate_into(self, cols: dict[str, np.ndarray], a: int, b: int,
                      rng: np.random.Generator) -> GenStats:
        """The ``b - a`` events of :meth:`generate` written into rows a..b-1 of the chunk
        columns ``cols`` (:func:`~x17scan.sim.events.empty_columns`; bunch 0, 1, ... from row
        a; primary); returns their bookkeeping."""
        if self.motion.at_rest:
            raise ValueError("the signal needs electron motion or a beam spread: for electrons "
                             "at rest use the 'voigt' or 'atomic' model")
        out = _rows(cols, a, b)
        n = b - a
        dpos, dele = self._dedx
        state = _kernels.seed_state(rng)
        i = n_prop = n_over = 0
        w_sum = 0.0
        while i < n:
            i, k, s, o = _kernels.signal_chunk(
                state, i, n, _kernels.MAX_PROPOSALS, self._par, self.motion.q, self.motion.j,
                self.e_res, self._env, self.mass, self.spin in SPINS_VA, self.c_gen, dpos.f,
                dele.f, dpos.x0, dpos.h, out["vertex"], out["t0"], out["e"], out["p"],
                out["e_beam"], out["cos_theta_star"])
            n_prop, w_sum, n_over = n_prop + k, w_sum + s, n_over + o
        out["sqrt_s"][:] = self.mass
        _label(out, "signal", (11, -11))
        return GenStats(n=n, n_proposed=int(n_prop), weight_sum=float(w_sum),
                        extra={"n_over_env": int(n_over)})

    def rate_factor(self, stats: GenStats) -> float:
        """Line-shape normalisation of the generated events relative to the physics kernel
        without target energy loss: (mean acceptance weight with the loss) / (the same without
        it), estimated by the caller from two :class:`GenStats`; here the mean weight of
        ``stats`` (1/a.u.)."""
        return stats.weight_sum / max(stats.n_proposed, 1)
