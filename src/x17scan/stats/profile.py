"""The default statistical method of x17scan: ``profile``.

An LHC-style profile-likelihood analysis of a resonance scan (docs/padme-run3-method.md §13):

* likelihood: :mod:`x17scan.stats.likelihood` (one Poisson term per point with model-expectation
  variances; a free, data-driven linear background normalisation K(sqrt s); Gaussian
  per-point nuisances for PoT x B and for the signal efficiency; signal-shape nuisances);
* upper limits: CLs with the one-sided q~_mu, from toys (default) or asymptotic formulae;
  expected bands from the background-only distribution of q~_mu (toys) or the Asimov data set;
* local significance from q0 per mass; global significance from max_M q0 in
  background-only toys (the same toys for every mass), with Gross-Vitells as a cross-check;
* best fit (M, g) from the profile likelihood in M and in mu = g^2;
* control-region stability fits (:mod:`x17scan.stats.control`).

``ProfileMethod(table, ...).run(AnalysisOptions(...))`` returns a
:class:`~x17scan.stats.result.Result`. ``--toys`` sets the signal-plus-background toys per
(mass, mu) grid point, ``--pseudo-experiments`` the background-only toys.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2 as chi2_dist

from x17scan.errors import InputError
from x17scan.physics.constants import M_E
from x17scan.stats import teststat as ts
from x17scan.stats.calculators import (
    BAND_KEYS,
    AsymptoticCalculator,
    FitCounter,
    ToyCalculator,
    ToySettings,
)
from x17scan.stats.control import (
    DEFAULT_SIGNAL_WINDOW,
    control_regions,
    control_regions_arrays,
)
from x17scan.stats.fit import minimize
from x17scan.stats.lee import gross_vitells, rice_n1
from x17scan.stats.likelihood import ScanModel
from x17scan.stats.method import AnalysisOptions, register_method
from x17scan.stats.ratio import RatioModel
from x17scan.stats.result import Result
from x17scan.stats.signal import LINESHAPES, SignalModel

Array = NDArray[np.float64]

DEFAULT_MASSES = np.round(16.22 + 0.02 * np.arange(76), 10)
"""Default mass grid (MeV): 16.22-17.72 in 0.02 MeV steps (PADME's observed grid)."""

DEFAULT_TOYS_SB = 1000
"""Signal-plus-background toys per (mass, mu) grid point (``--toys``)."""
DEFAULT_TOYS_B = 2000
"""Background-only toys (``--pseudo-experiments``): CL_b, bands, local and global p-values."""
DEFAULT_N_MU = 8
"""mu grid points per mass for the toy CLs scan."""
PROFILE_MASS_STEP = 0.005
"""Step (MeV) of the fine mass grid of the best-fit mass profile."""


def _check_masses(masses: Any) -> Array:
    m = np.atleast_1d(np.asarray(masses, dtype=float))
    if m.ndim != 1 or m.size == 0 or not np.isfinite(m).all():
        raise InputError("the mass grid must be a non-empty list of finite masses",
                         field="masses", fix="give masses in MeV, e.g. 16.22:17.72:0.02")
    if (m <= 2 * M_E).any():
        raise InputError(f"mass {m.min()} MeV is below the e+e- threshold", field="masses",
                         fix=f"masses must exceed 2 m_e = {2 * M_E:.4f} MeV")
    if (np.diff(m) <= 0).any():
        raise InputError("the mass grid is not strictly increasing", field="masses",
                         fix="sort the masses and remove duplicates")
    return m


@register_method("profile")
class ProfileMethod:
    """Profile-likelihood CLs analysis of a scan table (module docstring).

    Parameters
    ----------
    table
        The :class:`~x17scan.data.ScanTable` (its ``used`` points enter the fit).
    signal_model
        A :class:`~x17scan.stats.signal.SignalModel`; default built from ``lineshape``/``spin``.
    lineshape, spin
        Line shape (``voigt`` default, ``atomic``, ``sto``, ``free``) and spin of the boson.
    background
        ``"free"`` (default: K = k0 + k1 (sqrt s - 16.92) from the scan itself) or
        ``"constrained"`` (PADME's K prior 1.01163 +- 0.0013, -1.03e-2 +- 0.004 /MeV, rho -0.06).
    efficiency
        ``"per-point"`` (default) Gaussian efficiency nuisances, or ``"none"``.
    lee_window
        (lo, hi) MeV: masses entering the global significance (default: the whole grid).
    sidebands
        sqrt(s) window (MeV) excluded from the side-band control region.
    n_mu, gv_u0, profile_step
        mu points per mass of the toy CLs grid; level u0 of the Gross-Vitells up-crossings;
        step (MeV) of the best-fit mass profile.
    table_gg
        With ``table`` the ee-tagged and ``table_gg`` the gamma-gamma-tagged table of the same
        scan: analyse the PoT-free ratio N(ee)/N(gg) (:mod:`x17scan.stats.ratio`) instead.
    """

    name = "profile"

    def __init__(self, table: Any, signal_model: SignalModel | None = None, *,
                 lineshape: str | None = None, spin: str = "vector", background: str = "free",
                 k_prior: Any = None, efficiency: str = "per-point",
                 lee_window: tuple[float, float] | None = None,
                 sidebands: tuple[float, float] = DEFAULT_SIGNAL_WINDOW,
                 n_mu: int = DEFAULT_N_MU, gv_u0: float = 1.0,
                 profile_step: float = PROFILE_MASS_STEP, table_gg: Any = None) -> None:
        if lineshape is not None and lineshape not in LINESHAPES:
            raise InputError(f"unknown line shape {lineshape!r}", field="--lineshape",
                             fix=f"use one of {', '.join(LINESHAPES)}")
        if signal_model is None:
            signal_model = SignalModel(lineshape=lineshape or "voigt", spin=spin)
        elif lineshape is not None and lineshape != signal_model.lineshape:
            raise InputError("both a signal model and a different line shape were given",
                             field="lineshape", fix="give one of them")
        if table.n_used < 4:
            raise InputError(f"only {table.n_used} points are used", field="used",
                             fix="the profile method needs at least 4 fit points")
        if n_mu < 4:
            raise InputError(f"n_mu = {n_mu} is too small", field="n_mu",
                             fix="use at least 4 mu points per mass")
        self.table = table
        self.table_gg = table_gg
        self.observable = "ratio" if table_gg is not None else table.observable
        self.signal = signal_model
        self.background = background
        self.k_prior = k_prior
        self.efficiency = efficiency
        self.lee_window = lee_window
        self.sidebands = tuple(sidebands)
        self.n_mu = int(n_mu)
        self.gv_u0 = float(gv_u0)
        self.profile_step = float(profile_step)
        if table_gg is not None:
            if background != "free" or efficiency != "per-point":
                raise InputError("the ee/gg ratio supports only a free background ratio and no "
                                 "efficiency nuisances", field="observable",
                                 fix="drop the background/efficiency options")
            self.efficiency = "none"
            RatioModel.from_tables(table, table_gg, signal_model, [17.0])
        else:  # fail early on bad options
            ScanModel.from_table(table, signal_model.variations(table.fit_points(), [17.0]),
                                 [17.0], background=background, k_prior=k_prior,
                                 efficiency=efficiency)

    def model(self, masses: Any) -> ScanModel | RatioModel:
        """The likelihood model of the used points for ``masses`` (MeV)."""
        m = _check_masses(masses)
        if self.table_gg is not None:
            return RatioModel.from_tables(self.table, self.table_gg, self.signal, m)
        return ScanModel.from_table(self.table, self.signal, m, background=self.background,
                                    k_prior=self.k_prior, efficiency=self.efficiency)

    # -- main entry point ---------------------------------------------------------------------
    def run(self, options: AnalysisOptions) -> Result:
        """Full analysis (module docstring); ``options.asymptotic`` -> asymptotic formulae."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        masses = _check_masses(DEFAULT_MASSES if options.masses is None else options.masses)
        if not 0.5 <= options.cl < 1.0:
            raise InputError(f"confidence level {options.cl} outside [0.5, 1)", field="cl",
                             fix="give e.g. 0.90")
        extra = dict(options.extra or {})
        model = self.model(masses)
        window = np.ones(masses.size, bool)
        lw = extra.get("lee_window", self.lee_window)
        if lw is not None:
            window = (masses >= lw[0] - 1e-9) & (masses <= lw[1] + 1e-9)
            if not window.any():
                raise InputError(f"no mass of the grid inside the LEE window {lw}",
                                 field="lee_window", fix="widen the window")
        seed_given = options.seed is not None
        seed = int(options.seed) if seed_given else int(np.random.SeedSequence().entropy)

        asym = AsymptoticCalculator(model, cl=options.cl)
        mu_obs_a, ok_obs = asym.upper_limits()
        mu_exp_a, ok_exp = asym.expected_limits()
        diag_notes: list[str] = []
        if not (ok_obs.all() and ok_exp.all()):
            # no root within 1e8 x the naive scale: no sensitivity there -> no limit (null)
            mu_obs_a = np.where(ok_obs, mu_obs_a, np.nan)
            mu_exp_a = np.where(ok_exp, mu_exp_a, np.nan)
            diag_notes.append(f"no asymptotic limit at {int((~ok_obs).sum())} masses (observed)"
                              f" / {int((~ok_exp).sum())} band values: not bracketed, reported "
                              "as null")
        p_a, z_a = asym.local_pvalues()
        q0 = asym.q0
        timings["asymptotic_s"] = time.perf_counter() - t0
        counter = FitCounter()
        counter.merge(asym.counter)

        n_b = options.pseudo_experiments or extra.get("pseudo_experiments") or DEFAULT_TOYS_B
        n_sb = options.toys or extra.get("toys") or DEFAULT_TOYS_SB
        toy = None
        if not options.asymptotic:
            from x17scan.parallel import make_executor

            settings = ToySettings(n_b=int(n_b), n_sb=int(n_sb), n_mu=self.n_mu,
                                   chunk_b=min(100, int(n_b)), chunk_sb=min(1000, int(n_sb)),
                                   gv_u0=self.gv_u0)
            t1 = time.perf_counter()
            with make_executor(options.workers, options.scheduler) as ex:
                toy = ToyCalculator(asym, settings, seed=seed, executor=ex,
                                    checkpoint_dir=options.checkpoint_dir, fresh=options.fresh,
                                    progress=options.progress, window=window,
                                    asym_limits=(mu_obs_a, mu_exp_a))
                toy.run()
            counter.merge(toy.counter)
            timings["toys_s"] = time.perf_counter() - t1

        res = Result(method=self.name, cl=options.cl, dataset=self.table.name)
        g = np.sqrt
        # ---- limits and bands
        res.expected = {"mass_MeV": masses}
        asym_bands = {k: g(mu_exp_a[i]) for i, k in enumerate(BAND_KEYS)}
        if toy is None:
            res.limits = {"mass_MeV": masses, "observed": g(mu_obs_a), "source": "asymptotic",
                          "bracketed": ok_obs}
            res.expected.update(asym_bands)
            res.expected["source"] = "asymptotic (Asimov)"
        else:
            lim = toy.upper_limits()
            obs = lim["observed"].copy()
            fb = ~np.isfinite(obs)
            obs[fb] = mu_obs_a[fb]
            err_g = 0.5 * lim["observed_err"] / np.sqrt(np.maximum(lim["observed"], 1e-300))
            res.limits = {"mass_MeV": masses, "observed": g(obs), "observed_err": err_g,
                          "observed_asymptotic": g(mu_obs_a),
                          "source": ["asymptotic-fallback" if f else "toys" for f in fb]}
            if fb.any():
                diag_notes.append(f"{int(fb.sum())} observed toy limits fell outside the mu "
                                  "grid; asymptotic values used there")
            for i, k in enumerate(BAND_KEYS):
                v = lim["expected"][i].copy()
                bad = ~np.isfinite(v)
                v[bad] = mu_exp_a[i][bad]
                res.expected[k] = g(v)
                res.expected[k + "_err"] = 0.5 * lim["expected_err"][i] / np.sqrt(
                    np.maximum(lim["expected"][i], 1e-300))
                if bad.any():
                    diag_notes.append(f"{int(bad.sum())} toy '{k}' band limits fell outside the "
                                      "mu grid; asymptotic values used there")
            res.expected["source"] = ("toys: background-only quantiles of q~_mu, CLs from "
                                      "signal+background toys")
            res.expected["asymptotic"] = {"mass_MeV": masses, **asym_bands}

        # ---- local and global significance
        local: dict[str, Any] = {"mass_MeV": masses, "q0": q0, "mu_hat": asym.mu_hat,
                                 "p_asymptotic": p_a, "z_asymptotic": z_a}
        # Rice / Gross-Vitells with analytic up-crossings (used alone in asymptotic mode)
        n1 = self._rice_n1(model, asym, window)
        u = float(q0[window].max())
        jmax = int(np.flatnonzero(window)[np.argmax(q0[window])])
        p_rice = float(gross_vitells(u, n1 * np.exp(-self.gv_u0 / 2.0), self.gv_u0))
        excess: dict[str, Any] = {"mass_MeV": float(masses[jmax]), "q0": u,
                                  "g_hat": float(np.sqrt(max(asym.mu_hat[jmax], 0.0))),
                                  "lee_window_MeV": [float(masses[window][0]),
                                                     float(masses[window][-1])],
                                  "p_local_asymptotic": float(p_a[jmax]),
                                  "z_local_asymptotic": float(z_a[jmax]),
                                  "rice_n1": n1, "p_global_rice": p_rice,
                                  "z_global_rice": float(ts.z_from_p(p_rice))}
        if toy is None:
            local.update(p=p_a, z=z_a, source="asymptotic")
            excess.update(p_local=float(p_a[jmax]), z_local=float(z_a[jmax]),
                          p_global=p_rice, z_global=float(ts.z_from_p(p_rice)),
                          p_global_source="Gross-Vitells with Rice up-crossings (asymptotic)")
        else:
            pt, pe, nv = toy.local_pvalues()
            zero = pt * nv < 0.5
            p_loc = np.where(zero, p_a, pt)
            local.update(p=p_loc, z=ts.z_from_p(p_loc), p_err=pe, p_toys=pt, n_toys=nv,
                         source=["asymptotic (beyond toys)" if zf else "toys" for zf in zero])
            gp = toy.global_pvalue()
            pg = gp["p_global"]
            excess.update(p_local=float(p_loc[jmax]), z_local=float(ts.z_from_p(p_loc[jmax])),
                          p_local_err=float(pe[jmax]), p_global=pg,
                          z_global=float(ts.z_from_p(pg)) if pg > 0 else None,
                          p_global_err=gp["p_global_err"], n_toys=gp["n_toys"],
                          n_toys_exceeding=gp["n_exceeding"],
                          p_global_gv=gp["p_global_gv"],
                          z_global_gv=float(ts.z_from_p(gp["p_global_gv"])),
                          gv_u0=gp["gv_u0"], gv_upcrossings_toys=gp["gv_upcrossings"],
                          p_global_source="background-only toys: max_M q0")
            if pg == 0:
                up95 = 3.0 / max(gp["n_toys"], 1)
                excess.update(p_global_upper_95=up95, z_global=float(ts.z_from_p(up95)),
                              z_global_is_lower_bound=True)
                diag_notes.append("observed max q0 exceeds every toy: p_global < 3/N at 95 % CL;"
                                  " z_global is the corresponding lower bound")
        res.local = local
        res.excess = excess

        # ---- best fit, CLs scan, per-point fits, control regions
        t2 = time.perf_counter()
        res.bestfit = self._bestfit(masses, asym, counter)
        res.cls_scan = self._cls_scan(jmax, masses, asym, toy, mu_obs_a, options.cl)
        if self.table_gg is None:
            res.fits = self._fits(res.bestfit, asym)
            res.control = control_regions(self.table, self.sidebands)
        else:
            res.fits, res.control = self._fits_ratio(res.bestfit, asym)
        timings["bestfit_s"] = time.perf_counter() - t2

        res.diagnostics = {
            **counter.as_dict(),
            "toys": None if toy is None else {
                "background_only": int(n_b), "signal_plus_background_per_grid_point": int(n_sb),
                "mu_points_per_mass": self.n_mu, "mu_grid_factors": [toy.s.mu_lo, toy.s.mu_hi],
                "tasks": {"background_only_chunk": toy.s.chunk_b,
                          "signal_plus_background_chunk": toy.s.chunk_sb}},
            "asymptotic_limits_bracketed": bool(ok_obs.all() and ok_exp.all()),
            "notes": diag_notes,
            "timings": timings | {"total_s": time.perf_counter() - t0},
        }
        res.options = {
            "masses": masses, "cl": options.cl, "asymptotic": options.asymptotic,
            "toys_signal_plus_background": None if toy is None else int(n_sb),
            "toys_background_only": None if toy is None else int(n_b),
            "background": self.background, "efficiency": self.efficiency,
            "k_prior": self.k_prior, "lee_window": lw, "sidebands": list(self.sidebands),
            "n_mu": self.n_mu, "gv_u0": self.gv_u0, "profile_step": self.profile_step,
            "signal_model": self.signal.describe(), "observable": self.observable,
            "workers": options.workers, "scheduler": options.scheduler,
        }
        res.provenance = {"root_seed": seed, "seed_given": seed_given,
                          "seed_scheme": "numpy SeedSequence(root).spawn(2) -> "
                                         "[background-only, signal+background] task seeds"}
        return res

    # -- pieces -------------------------------------------------------------------------------
    def _rice_n1(self, model: Any, asym: AsymptoticCalculator,
                 window: NDArray[np.bool_]) -> float:
        """N1 of the Rice formula from the whitened templates at the background-only fit, with
        the free background directions projected out."""
        t, dirs = model.whitened(asym.bonly.glob[0])
        return rice_n1(t[window], np.ones(t.shape[1]), dirs)

    def _bestfit(self, masses: Array, asym: AsymptoticCalculator,
                 counter: FitCounter) -> dict[str, Any]:
        step = self.profile_step
        fine = np.round(np.arange(masses[0], masses[-1] + 0.5 * step, step), 10)
        model = self.model(fine)
        data = asym.data
        bonly = asym.bonly
        free = minimize(model, data.repeat(fine.size), np.arange(fine.size),
                        init=(np.repeat(bonly.glob, fine.size, 0),
                              np.repeat(bonly.loc, fine.size, 0)))
        counter.add(free, "bestfit_profile_mass")
        nll = np.where(free.mu > 0, free.deviance, bonly.deviance[0])
        q = 2.0 * (nll - nll.min())
        j = int(np.argmin(nll))
        out: dict[str, Any] = {"profile_mass": {"mass_MeV": fine, "q": q}}
        mu_hat = float(max(free.mu[j], 0.0))
        q0 = float(2.0 * (bonly.deviance[0] - nll[j]))
        out.update(mass_MeV=float(fine[j]), mu=mu_hat, g=float(np.sqrt(mu_hat)), q0=q0)
        if mu_hat <= 0:
            out["note"] = "no excess: mu_hat = 0 at every mass"
            return out
        # mass interval: q = 1 crossings on each side (None if the profile stays below 1)
        lo = hi = None
        left = np.nonzero(q[:j] >= 1.0)[0]
        if left.size:
            i = left[-1]
            lo = float(np.interp(1.0, [q[i + 1], q[i]], [fine[i + 1], fine[i]]))
        right = np.nonzero(q[j:] >= 1.0)[0]
        if right.size:
            i = j + right[0]
            hi = float(np.interp(1.0, [q[i - 1], q[i]], [fine[i - 1], fine[i]]))
        out.update(mass_lo=lo, mass_hi=hi,
                   mass_err_low=None if lo is None else float(fine[j] - lo),
                   mass_err_high=None if hi is None else float(hi - fine[j]))
        # mu interval at the best mass from the profile in mu (q = 1)
        ref = free.deviance[j]
        mid = np.array([j])

        def q_mu(mu: Array) -> Array:
            r = minimize(model, data.repeat(mu.size), np.repeat(mid, mu.size), mu,
                         init=(np.repeat(free.glob[j:j + 1], mu.size, 0),
                               np.repeat(free.loc[j:j + 1], mu.size, 0)))
            counter.add(r, "bestfit_profile_mu")
            return 2.0 * (r.deviance - ref)

        from x17scan.stats.calculators import bisect_log

        # sigma from the curvature sets the brackets
        h = 0.05 * mu_hat
        qq = q_mu(np.array([mu_hat + h]))[0]
        sig = h / np.sqrt(max(qq, 1e-12))
        hi_mu, _ = bisect_log(lambda m: 1.0 - q_mu(m), np.array([mu_hat * 1.000001]),
                              np.array([mu_hat + 3 * sig]))
        q_zero = float(2.0 * (bonly.deviance[0] - ref))
        if q_zero <= 1.0:
            lo_mu = 0.0
        else:
            # q(mu) decreases from q(0) > 1 towards mu_hat: bisect on the decreasing side
            lo_b, hi_b = 1e-6 * mu_hat, mu_hat * 0.999999
            for _ in range(60):
                mmid = np.sqrt(lo_b * hi_b)
                if q_mu(np.array([mmid]))[0] > 1.0:
                    lo_b = mmid
                else:
                    hi_b = mmid
                if hi_b / lo_b - 1 < 1e-7:
                    break
            lo_mu = float(np.sqrt(lo_b * hi_b))
        grid = np.linspace(0.0, float(hi_mu[0]) * 1.6, 33)
        prof = np.where(grid > 0, 0.0, q_zero)
        pos = grid > 0
        prof[pos] = q_mu(grid[pos])
        out.update(mu_lo=lo_mu, mu_hi=float(hi_mu[0]), g_lo=float(np.sqrt(lo_mu)),
                   g_hi=float(np.sqrt(hi_mu[0])),
                   g_err_low=float(np.sqrt(mu_hat) - np.sqrt(lo_mu)),
                   g_err_high=float(np.sqrt(hi_mu[0]) - np.sqrt(mu_hat)),
                   profile_mu={"mu": grid, "g": np.sqrt(grid), "q": prof},
                   nuisances=dict(zip(model.glob_names, free.glob[j].tolist(), strict=True)),
                   interval="-2 Delta ln L = 1 (68 % CL, Wilks)")
        self._best = (fine[j], free.glob[j], free.loc[j], model)
        return out

    def _cls_scan(self, jmax: int, masses: Array, asym: AsymptoticCalculator,
                  toy: ToyCalculator | None, mu_obs_a: Array, cl: float) -> dict[str, Any]:
        out: dict[str, Any] = {"mass_MeV": float(masses[jmax]), "cl": cl}
        if toy is not None:
            grid = toy.cls_grid()
            mu = toy.mu_grid[jmax]
            c = grid["cls"][jmax]
            lim = toy.upper_limits()
            mu_fine = np.geomspace(mu[0], mu[-1], 60)
            y = np.interp(mu_fine, mu, np.log(np.maximum(c, 1e-12)))
            cls_a, clsb_a, clb_a = asym.cls(np.full(mu.size, jmax), mu)
            out.update(g=np.sqrt(mu), cls=c, cls_err=grid["cls_err"][jmax],
                       clsb=grid["clsb"][jmax], clsb_err=grid["clsb_err"][jmax],
                       clb=grid["clb"][jmax], clb_err=grid["clb_err"][jmax],
                       g_fit=np.sqrt(mu_fine), cls_fit=np.exp(y),
                       cls_asymptotic=cls_a, source="toys")
            gl = lim["observed"][jmax]
            out["g_limit"] = float(np.sqrt(gl)) if np.isfinite(gl) else None
        else:
            mu = mu_obs_a[jmax] * np.geomspace(0.3, 2.5, 25)
            cls_a, clsb_a, clb_a = asym.cls(np.full(mu.size, jmax), mu)
            out.update(g=np.sqrt(mu), cls=cls_a, clsb=clsb_a, clb=clb_a, source="asymptotic",
                       g_limit=float(np.sqrt(mu_obs_a[jmax])))
        return out

    def _fits(self, bestfit: dict[str, Any], asym: AsymptoticCalculator) -> dict[str, Any]:
        t = self.table
        s = np.asarray(t.sqrt_s)
        x = s - asym.model.pivot
        b_pts = np.asarray(t.pot) * np.asarray(t.bkg_per_pot)
        sig = np.hypot(t.pot_err / t.pot, t.bkg_per_pot_err / t.bkg_per_pot)
        k0, k1 = asym.bonly.glob[0, 1:3]
        kb = k0 + k1 * x
        lam_b = kb * b_pts
        var_b = lam_b * (1.0 + lam_b * sig ** 2)
        ratio = t.n_obs / b_pts
        out: dict[str, Any] = {
            "sqrt_s": s, "used": np.asarray(t.used), "period": np.asarray(t.period),
            "ratio": ratio, "ratio_err": np.sqrt(var_b) / b_pts, "b_only": kb,
            "pulls_b_only": (t.n_obs - lam_b) / np.sqrt(var_b),
            "error_model": "expected: sqrt(lambda (1 + lambda sigma^2))/(PoT B), lambda from "
                           "the background-only fit (K curve, per-point nuisances at 0)",
            "b_only_params": {"k0": float(k0), "k1_per_MeV": float(k1)},
            "deviance_b_only": 2.0 * float(asym.bonly.deviance[0]),
            "n_fit_points": int(t.n_used)}
        dof = int(t.n_used) - 2
        out["gof_b_only"] = {"deviance": float(asym.bonly.deviance[0]) * 2.0, "ndf": dof,
                             "p": float(chi2_dist.sf(2.0 * asym.bonly.deviance[0], dof))}
        su = s[t.used]
        grid = np.linspace(su.min() - 0.05, su.max() + 0.05, 300)
        out["curve_sqrt_s"] = grid
        out["curve_b_only"] = k0 + k1 * (grid - asym.model.pivot)
        best = getattr(self, "_best", None)
        if best is None or not bestfit.get("mu"):
            out["s_plus_b"] = kb
            out["curve_s_plus_b"] = out["curve_b_only"]
            out["s_plus_b_label"] = "best fit: no signal (mu_hat = 0)"
            return out
        mass, glob, _, model = best
        mu, kk0, kk1 = glob[0], glob[1], glob[2]
        thetas = dict(zip(self.signal.nuisance_names(), glob[3:].tolist(), strict=True))
        sig_pts = self.signal.template(t, [mass], thetas)[0]
        ksb = kk0 + kk1 * x
        lam_sb = ksb * (b_pts + mu * sig_pts)
        var_sb = lam_sb * (1.0 + lam_sb * sig ** 2)
        out["s_plus_b"] = ksb * (1.0 + mu * sig_pts / b_pts)
        out["pulls_s_plus_b"] = (t.n_obs - lam_sb) / np.sqrt(var_sb)
        # dense curve: eps/B interpolated between the used points
        from x17scan.physics.kinematics import e_beam

        eob = np.interp(grid, su, (t.sig_eff / t.bkg_per_pot)[t.used])
        y = self.signal.yield_per_pot(e_beam(grid), [mass], thetas)[0]
        out["curve_s_plus_b"] = (kk0 + kk1 * (grid - model.pivot)) * (1.0 + mu * y * eob)
        out["s_plus_b_params"] = {"mass_MeV": float(mass), "g": float(np.sqrt(mu)),
                                  "k0": float(kk0), "k1_per_MeV": float(kk1), **thetas}
        out["s_plus_b_label"] = (f"best S+B fit: M = {mass:.3f} MeV, "
                                 f"g = {np.sqrt(mu) * 1e4:.2f}e-4")
        return out

    def _fits_ratio(self, bestfit: dict[str, Any], asym: AsymptoticCalculator
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Per-point double ratio (N_ee/N_gg)/(B_ee/B_gg) with the fitted curves, and its
        control regions."""
        te, tg = self.table, self.table_gg
        s = np.asarray(te.sqrt_s)
        x = s - asym.model.pivot
        bb = te.bkg_per_pot / tg.bkg_per_pot
        sig = np.hypot(te.bkg_per_pot_err / te.bkg_per_pot, tg.bkg_per_pot_err / tg.bkg_per_pot)
        r = (te.n_obs / np.maximum(tg.n_obs, 1e-300)) / bb
        k0, k1 = asym.bonly.glob[0, 1:3]
        kb = k0 + k1 * x
        # expected error of the double ratio at the background-only fit (binomial + B terms)
        tot = te.n_obs + tg.n_obs
        p = kb * bb / (1.0 + kb * bb)
        rel = np.sqrt(1.0 / (np.maximum(tot, 1.0) * p * (1 - p)) + sig ** 2)
        out: dict[str, Any] = {
            "sqrt_s": s, "used": np.asarray(te.used), "period": np.asarray(te.period),
            "ratio": r, "ratio_err": kb * rel, "b_only": kb,
            "pulls_b_only": (r - kb) / (kb * rel), "observable": "(N_ee/N_gg)/(B_ee/B_gg)",
            "b_only_params": {"k0": float(k0), "k1_per_MeV": float(k1)}}
        best = getattr(self, "_best", None)
        if best is None or not bestfit.get("mu"):
            out["s_plus_b"] = kb
            out["s_plus_b_label"] = "best fit: no signal (mu_hat = 0)"
        else:
            mass, glob, _, _ = best
            thetas = dict(zip(self.signal.nuisance_names(), glob[3:].tolist(), strict=True))
            ye = self.signal.template(te, [mass], thetas)[0] / te.pot
            yg = self.signal.template(tg, [mass], thetas)[0] / tg.pot
            ks = glob[1] + glob[2] * x
            a = ks * te.bkg_per_pot + glob[0] * ye
            c = tg.bkg_per_pot + glob[0] * yg
            out["s_plus_b"] = (a / c) / bb
            out["s_plus_b_label"] = (f"best S+B fit: M = {mass:.3f} MeV, "
                                     f"g = {np.sqrt(glob[0]) * 1e4:.2f}e-4")
        ctrl = control_regions_arrays(s, te.used, r, r * np.sqrt(
            1.0 / np.maximum(te.n_obs, 1.0) + 1.0 / np.maximum(tg.n_obs, 1.0) + sig ** 2),
            te.period, self.sidebands)
        ctrl["error_model"] = "observed: sqrt(1/N_ee + 1/N_gg + (dB_ee/B_ee)^2 + (dB_gg/B_gg)^2)"
        return out, ctrl
