"""``padme-run3``: PADME's published Run III statistical treatment as an x17scan method.

:class:`PadmeRun3Method` runs the whole chain of ``docs/padme-run3-method.md`` on any scan
table: observed CLs limits (Tevatron-style Q, toys of two kinds, Wilson errors, tanh fit),
the expected band from background-only pseudo-experiments with all auxiliary observables
re-sampled, local p-values from the limit distributions and the global p-value with PADME's
band-unit look-elsewhere construction.

Parallelism: the observed grid is cut into one task per mass, the band into one task per
pseudo-experiment; every task gets its ``SeedSequence`` from :func:`x17scan.parallel.task_seeds`
(task 0 the data, task 1 + j pseudo-experiment j) and derives keyed streams from it, so the
results are bit-identical for any executor. With ``options.checkpoint_dir`` each finished
task is saved and a re-run resumes.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import asdict
from typing import Any

import numpy as np

from x17scan.data.scantable import ScanTable
from x17scan.errors import InputError
from x17scan.parallel import (
    Checkpoint,
    job_fingerprint,
    make_executor,
    root_seed_sequence,
    run_tasks,
    task_seeds,
)
from x17scan.stats.method import AnalysisOptions, register_method
from x17scan.stats.padme_run3.bands import expected_band
from x17scan.stats.padme_run3.config import SOURCES, PadmeRun3Config
from x17scan.stats.padme_run3.limits import tanh_model, upper_limits
from x17scan.stats.padme_run3.model import (
    PARAM_NAMES,
    PadmeProblem,
    e_beam,
    fit_b,
    ratio_and_weights,
)
from x17scan.stats.padme_run3.pvalues import (
    clopper_pearson,
    global_pvalues,
    local_pvalues,
    z_from_p,
)
from x17scan.stats.padme_run3.scan import PointResults, prepare, scan_mass
from x17scan.stats.padme_run3.side import bkg_stat_only_limits
from x17scan.stats.padme_run3.toys import KIND_PSEUDO, keyed_rng, pseudo_experiment, rel_model_sb
from x17scan.stats.result import Result

METHOD_NAME = "padme-run3"


# --- tasks (module level: picklable for process and Dask executors) -------------------------
def _observed_task(payload: tuple) -> PointResults:
    problem, ss, mass, n_toys, g_mode, alpha = payload
    prep = prepare(problem, problem.data(), ss, n_toys)
    return scan_mass(problem, prep, ss, mass, n_toys, g_mode, alpha)


def _pseudo_task(payload: tuple) -> dict[str, Any]:
    problem, ss, masses, n_toys, g_mode, alpha, inject = payload
    t0 = time.process_time()
    ds = pseudo_experiment(problem, keyed_rng(ss, KIND_PSEUDO), inject)
    prep = prepare(problem, ds, ss, n_toys)
    pts = [scan_mass(problem, prep, ss, float(m), n_toys, g_mode, alpha) for m in masses]
    lim = upper_limits(np.asarray(masses), [p.graph(problem) for p in pts], problem.config,
                       alpha)
    # the CLs counts travel with the limits: limits can be re-derived without new toys
    counts = [{"g": p.g, "nb_valid": p.counts.nb_valid, "nb_pass": p.counts.nb_pass,
               "ns_valid": p.counts.ns_valid, "ns_pass": p.counts.ns_pass} for p in pts]
    return {"limit": lim.limit, "limit_clsb": lim.limit_clsb, "method": lim.method,
            "counts": counts,
            "n_fits": sum(p.n_fits for p in pts), "n_failed": sum(p.n_failed for p in pts),
            "n_retried": sum(p.n_retried for p in pts),
            "n_points": sum(p.g.size for p in pts),
            "data_failed": int(sum((~p.data_converged).sum() for p in pts)),
            "cpu_s": time.process_time() - t0}


def _table_digest(problem: PadmeProblem) -> str:
    h = hashlib.sha256()
    for a in (problem.sqrt_s, problem.n_obs, problem.pot, problem.pot_err, problem.bkg,
              problem.bkg_err, problem.sig_eff, problem.sig_eff_err):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


@register_method(METHOD_NAME)
class PadmeRun3Method:
    """PADME Run III treatment (arXiv:2505.24797) on a :class:`~x17scan.data.ScanTable`.

    ``config``: a :class:`PadmeRun3Config` (PADME's published values by default), or keyword
    overrides of it. The table's errors are used as given: for the shipped ``padme-run3``
    table the 0.3 % systematic terms are already in ``pot_err`` and ``bkg_per_pot_err``.
    """

    name = METHOD_NAME

    def __init__(self, table: ScanTable, config: PadmeRun3Config | None = None,
                 **overrides: Any) -> None:
        cfg = config or PadmeRun3Config()
        if overrides:
            cfg = cfg.replace(**overrides)
        self.table = table
        self.config = cfg
        self.problem = PadmeProblem.from_table(table, cfg)

    # -- building blocks usable on their own --------------------------------------------------
    def observed_points(self, masses: np.ndarray, n_toys: int, seed: Any = None,
                        g_mode: str | None = None, alpha: float = 0.10, workers: int = 1,
                        scheduler: str | None = None, checkpoint: Checkpoint | None = None,
                        progress: bool = False) -> list[PointResults]:
        """CLs ingredients at every (mass, g) of the data (one task per mass)."""
        ss = task_seeds(seed, 1)[0] if not isinstance(seed, np.random.SeedSequence) else seed
        g_mode = g_mode or self.config.g_mode
        tasks = [(self.problem, ss, float(m), n_toys, g_mode, alpha) for m in masses]
        with make_executor(workers, scheduler) as ex:
            return run_tasks(_observed_task, tasks, executor=ex, checkpoint=checkpoint,
                             desc="padme-run3: observed limits", progress=progress)

    def pseudo_limits(self, seeds: list[np.random.SeedSequence], masses: np.ndarray,
                      n_toys: int, g_mode: str = "padme", alpha: float = 0.10,
                      workers: int = 1, scheduler: str | None = None,
                      checkpoint: Checkpoint | None = None, progress: bool = False,
                      inject: tuple[float, float] | None = None) -> list[dict[str, Any]]:
        """Limits of background-only (or injected) pseudo-experiments, one task each."""
        tasks = [(self.problem, s, np.asarray(masses, dtype=np.float64), n_toys, g_mode, alpha,
                  inject) for s in seeds]
        with make_executor(workers, scheduler) as ex:
            return run_tasks(_pseudo_task, tasks, executor=ex, checkpoint=checkpoint,
                             desc="padme-run3: pseudo-experiments", progress=progress)

    # -- the full analysis --------------------------------------------------------------------
    def run(self, options: AnalysisOptions) -> Result:
        """Observed limits, expected band, local and global p-values (see module docstring).

        ``options.extra`` understood: ``g_grid`` ("padme" | "adaptive", observed limits,
        default the config's ``g_mode`` = "padme"), ``band_g_grid`` (pseudo-experiments, same
        default), ``band_masses`` (MeV), ``quantiles`` ("root" | "exact"), ``inject`` ((M, g)
        signal in the pseudo-experiments). Observed and expected limits should use the same g
        mode: the tanh fit depends on which points enter it, and the adaptive subset shifts the
        limits by about 1 % (see benchmarks/bench_padme_run3.py).
        """
        cfg = self.config
        if options.asymptotic:
            raise InputError("the padme-run3 method has no asymptotic mode (PADME used toys)",
                             field="--asymptotic", fix="drop --asymptotic, or use --method "
                             "profile for asymptotic results")
        if not 0 < options.cl < 1:
            raise InputError(f"cl = {options.cl} is not a confidence level", field="--cl",
                             fix="e.g. --cl 0.90")
        extra = dict(options.extra or {})
        unknown = set(extra) - {"g_grid", "band_g_grid", "band_masses", "quantiles", "inject"}
        if unknown:
            raise InputError(f"unknown padme-run3 option(s) {sorted(unknown)}", field="extra",
                             fix="use g_grid, band_g_grid, band_masses, quantiles, inject")
        if "quantiles" in extra:
            cfg = cfg.replace(quantiles=extra["quantiles"])
        alpha = 1.0 - options.cl
        n_toys = int(options.toys or cfg.n_toys)
        n_pe = int(options.pseudo_experiments if options.pseudo_experiments is not None
                   else cfg.n_pseudo)
        if n_toys < 2:
            raise InputError(f"toys = {n_toys} is too few", field="--toys",
                             fix="use at least a few tens (PADME: 200)")
        masses = (cfg.observed_masses if options.masses is None
                  else np.asarray(options.masses, dtype=np.float64))
        band_masses = np.asarray(extra.get("band_masses", cfg.band_masses), dtype=np.float64)
        g_obs = extra.get("g_grid", cfg.g_mode)
        g_band = extra.get("band_g_grid", cfg.g_mode)
        for key, val in (("g_grid", g_obs), ("band_g_grid", g_band)):
            if val not in ("padme", "adaptive"):
                raise InputError(f"{key} = {val!r} is not 'padme' or 'adaptive'", field=key,
                                 fix="use 'padme' (PADME's 40 g values) or 'adaptive'")
        inject = extra.get("inject")
        root = root_seed_sequence(options.seed)
        seeds = task_seeds(root, 1 + n_pe)
        digest = _table_digest(self.problem)
        fp_common = {"method": METHOD_NAME, "config": asdict(cfg), "seed": root.entropy,
                     "table": digest, "n_toys": n_toys, "alpha": alpha}

        def ckpt(stage: str, **more: Any) -> Checkpoint | None:
            if not options.checkpoint_dir:
                return None
            fp = job_fingerprint({**fp_common, "stage": stage, **more})
            return Checkpoint(os.path.join(options.checkpoint_dir, f"padme-run3-{stage}"), fp,
                              fresh=options.fresh)

        t0 = time.perf_counter()
        pts = self.observed_points(masses, n_toys, seeds[0], g_obs, alpha, options.workers,
                                   options.scheduler,
                                   ckpt("observed", masses=masses.tolist(), g=g_obs),
                                   options.progress)
        t_obs = time.perf_counter() - t0
        graphs = [p.graph(self.problem) for p in pts]
        lim = upper_limits(masses, graphs, cfg, alpha)

        t1 = time.perf_counter()
        pe = []
        if n_pe > 0:
            pe = self.pseudo_limits(seeds[1:], band_masses, n_toys, g_band, alpha,
                                    options.workers, options.scheduler,
                                    ckpt("band", masses=band_masses.tolist(), g=g_band,
                                         n_pe=n_pe, inject=inject),
                                    options.progress,
                                    None if inject is None else tuple(inject))
        t_band = time.perf_counter() - t1

        result = Result(method=METHOD_NAME, cl=options.cl, dataset=self.table.name)
        result.limits = {"mass_MeV": masses, "observed": lim.limit,
                         "observed_err": lim.limit_err, "method": lim.method,
                         "observed_clsb": lim.limit_clsb, "observed_half_alpha": lim.limit_95,
                         "tanh_params": lim.params,
                         "missing_mass_MeV": masses[~np.isfinite(lim.limit)],
                         "bkg_stat_only": bkg_stat_only_limits(self.problem, masses),
                         "note": "CLs upper limit on g_ve (tanh fit of CLs(g), fallback "
                                 "linear interpolation); observed_err: toy-statistics "
                                 "estimate sigma_CLs/|dCLs/dg|; missing: CLs(g_max) >= 0.7; "
                                 "bkg_stat_only: PADME's side curve (method doc §10)"}
        i_ex = self._fill_pvalues(result, cfg, masses, lim.limit, band_masses, pe)
        self._fill_fits(result, pts, graphs, masses, i_ex)
        n_fits_obs = sum(p.n_fits for p in pts)
        result.diagnostics = {
            "observed": {"n_masses": len(masses), "n_grid_points": sum(p.g.size for p in pts),
                         "n_fits": n_fits_obs, "n_failed_fits": sum(p.n_failed for p in pts),
                         "n_retried_fits": sum(p.n_retried for p in pts),
                         "n_data_fits_failed": int(sum((~p.data_converged).sum()
                                                       for p in pts)),
                         "n_invalid_b_toys": int(sum((n_toys - p.counts.nb_valid).sum()
                                                     for p in pts)),
                         "n_invalid_sb_toys": int(sum((n_toys - p.counts.ns_valid).sum()
                                                      for p in pts)),
                         "limit_methods": dict(Counter(lim.method))},
            "band": {"n_pseudo": n_pe, "n_fits": sum(d["n_fits"] for d in pe),
                     "n_failed_fits": sum(d["n_failed"] for d in pe),
                     "n_retried_fits": sum(d["n_retried"] for d in pe),
                     "n_data_fits_failed": sum(d["data_failed"] for d in pe),
                     "n_grid_points": sum(d["n_points"] for d in pe),
                     "limit_methods": dict(Counter(m for d in pe for m in d["method"])),
                     "missing_limits": int(sum((~np.isfinite(d["limit"])).sum() for d in pe))},
            "toys_per_hypothesis": n_toys,
            "fits_counting": "S+B fits of b-toys and s+b-toys plus background-only fits of "
                             "s+b-toys (PADME's 1.83 million for the observed grid)",
            # machine-dependent: x17scan.analysis moves this key to run.json
            "timings": {"observed_wall_s": t_obs,
                        "observed_fits_per_s": n_fits_obs / max(t_obs, 1e-9),
                        "band_wall_s": t_band,
                        "band_cpu_s_in_tasks": sum(d["cpu_s"] for d in pe)},
        }
        result.options = {"masses": masses, "cl": options.cl, "toys": n_toys,
                          "pseudo_experiments": n_pe, "seed": options.seed,
                          "workers": options.workers, "scheduler": options.scheduler,
                          "checkpoint_dir": options.checkpoint_dir, "g_grid": g_obs,
                          "band_g_grid": g_band, "band_masses": band_masses,
                          "quantiles": cfg.quantiles, "inject": inject}
        result.provenance = self._provenance(root, digest)
        return result

    # -- result blocks ------------------------------------------------------------------------
    def _fill_pvalues(self, result: Result, cfg: PadmeRun3Config, masses: np.ndarray,
                      obs: np.ndarray, band_masses: np.ndarray, pe: list[dict]) -> int:
        """Expected band, local and global p-values; returns the index (in ``masses``) of the
        largest deviation (or of the smallest observed/expected ratio if no band)."""
        if not pe:
            result.expected = {}
            result.local = {}
            result.excess = {}
            return int(np.nanargmin(obs)) if np.isfinite(obs).any() else 0
        pe_lim = np.array([d["limit"] for d in pe])
        band = expected_band(band_masses, pe_lim, cfg.hist_bins, cfg.quantiles)
        result.expected = {**band.as_dict(), "n_pseudo": band.n_pseudo,
                           "n_missing": band.n_missing, "quantiles": cfg.quantiles,
                           "histogram_range": [band.xmin, band.xmax],
                           "pseudo_limits": pe_lim}
        loc = local_pvalues(masses, obs, band, cfg)
        result.local = {"mass_MeV": loc.mass, "p": loc.p, "z": loc.z, "p_lo": loc.p_lo,
                        "p_hi": loc.p_hi, "interpolated": loc.interpolated,
                        "note": "68 % Clopper-Pearson interval [p_lo, p_hi] (toy statistics)"}
        glo = global_pvalues(masses, obs, band, pe_lim, cfg)
        if glo.i_max < 0:
            result.excess = {}
            return int(np.nanargmin(obs)) if np.isfinite(obs).any() else 0
        m_ex = float(glo.mass[glo.i_max])
        k_loc = np.flatnonzero(np.abs(loc.mass - m_ex) < 1e-9)
        p_l = float(loc.p[k_loc[0]]) if k_loc.size else float("nan")
        tp = glo.trueprob
        # the same with exact sample quantiles / counts instead of rL.C's 200-bin histograms
        band_x = expected_band(band_masses, pe_lim, cfg.hist_bins, "exact")
        loc_x = local_pvalues(masses, obs, band_x, cfg, pe_lim, mode="exact")
        glo_x = global_pvalues(masses, obs, band_x, pe_lim, cfg)
        kx = np.flatnonzero(np.abs(loc_x.mass - m_ex) < 1e-9)
        variant = {"note": "exact sample quantiles for the band and exact counts for the local "
                           "p (no histogram binning); PADME's procedure is the headline",
                   "mass_MeV_largest_deviation": float(glo_x.mass[glo_x.i_max])
                   if glo_x.i_max >= 0 else None,
                   "p_global": float(glo_x.p[glo_x.i_max]) if glo_x.i_max >= 0 else None,
                   "z_global": float(glo_x.z[glo_x.i_max]) if glo_x.i_max >= 0 else None,
                   "p_global_lo": float(glo_x.p_lo[glo_x.i_max]) if glo_x.i_max >= 0 else None,
                   "p_global_hi": float(glo_x.p_hi[glo_x.i_max]) if glo_x.i_max >= 0 else None,
                   "p_local_at_headline_mass": float(loc_x.p[kx[0]]) if kx.size else None,
                   "p_local_lo": float(loc_x.p_lo[kx[0]]) if kx.size else None,
                   "p_local_hi": float(loc_x.p_hi[kx[0]]) if kx.size else None,
                   "z_local_at_headline_mass": z_from_p(float(loc_x.p[kx[0]]))
                   if kx.size else None,
                   "local_curve": {"mass_MeV": loc_x.mass, "p": loc_x.p}}
        result.excess = {
            "mass_MeV": m_ex, "p_local": p_l, "z_local": z_from_p(p_l),
            "p_local_lo": float(loc.p_lo[k_loc[0]]) if k_loc.size else None,
            "p_local_hi": float(loc.p_hi[k_loc[0]]) if k_loc.size else None,
            "z_local_lo": z_from_p(float(loc.p_hi[k_loc[0]])) if k_loc.size else None,
            "z_local_hi": z_from_p(float(loc.p_lo[k_loc[0]])) if k_loc.size else None,
            "p_global": float(glo.p[glo.i_max]), "z_global": float(glo.z[glo.i_max]),
            "p_global_lo": float(glo.p_lo[glo.i_max]), "p_global_hi": float(glo.p_hi[glo.i_max]),
            "z_global_lo": float(glo.z_lo[glo.i_max]), "z_global_hi": float(glo.z_hi[glo.i_max]),
            "deviation_band_units": float(glo.dev[glo.i_max]),
            "observed_limit": float(obs[np.argmin(np.abs(masses - m_ex))]),
            "global_curve": {"mass_MeV": glo.mass, "deviation": glo.dev, "p": glo.p,
                             "z": glo.z, "p_lo": glo.p_lo, "p_hi": glo.p_hi},
            "true_prob": {"d": tp.d, "p": tp.p, "p_up": tp.p_up, "p_down": tp.p_down,
                          "n_exceed": tp.n_exceed, "n_pseudo": tp.n_pseudo},
            "lee_window_MeV": list(cfg.lee_window),
            "exact_quantiles_variant": variant,
            "histogram_bin_width": (band.xmax - band.xmin) / cfg.hist_bins,
            "note": "p_* intervals: 68 % Clopper-Pearson (toy statistics); Z = Phi^-1(1 - p)",
        }
        return int(np.argmin(np.abs(masses - m_ex)))

    def _fill_fits(self, result: Result, pts: list[PointResults], graphs: list,
                   masses: np.ndarray, i_ex: int) -> None:
        pr = self.problem
        r, w = ratio_and_weights(pr.n_obs, pr.pot, pr.bkg, pr.pot_err, pr.bkg_err)
        p_b, chi2_b = fit_b(r, w, pr.x, pr.center[:2], pr.k_prec())
        ex = pts[i_ex]
        k = int(np.argmin(ex.q_obs))
        th = ex.theta[k]
        s_plus_b = rel_model_sb(pr, th[None, :], np.array([ex.mass]), np.array([ex.g[k]]))[0]
        curve_x = np.linspace(pr.sqrt_s.min() - 0.05, pr.sqrt_s.max() + 0.05, 400)
        pr_curve = PadmeProblem(**{**pr.__dict__, "sqrt_s": curve_x,
                                   "x": curve_x - pr.config.pivot,
                                   "e_beam": e_beam(curve_x, pr.config.m_e)})
        curve_sb = rel_model_sb(pr_curve, th[None, :], np.array([ex.mass]),
                                np.array([ex.g[k]]))[0]
        result.fits = {
            "sqrt_s": pr.sqrt_s, "period": pr.period, "ratio": r,
            "ratio_err": 1.0 / np.sqrt(w), "b_only": p_b[0] + p_b[1] * pr.x,
            "b_only_params": {"P0": p_b[0], "P1": p_b[1], "chi2": chi2_b,
                              "ndf": pr.n - 2},
            "s_plus_b": s_plus_b, "s_plus_b_mass_MeV": ex.mass, "s_plus_b_g": ex.g[k],
            "s_plus_b_params": dict(zip(PARAM_NAMES, th, strict=True)),
            "s_plus_b_chi2": ex.chi2_sb[k], "q_obs_min": ex.q_obs[k],
            "curve_sqrt_s": curve_x,
            "curve_b_only": p_b[0] + p_b[1] * (curve_x - pr.config.pivot),
            "curve_s_plus_b": curve_sb,
            "effb_line": pr.effb,
            "note": "S+B curve at the mass of the largest deviation, at the grid g minimising "
                    "Q_obs = chi2_SB - chi2_B (PADME fits no g; this is the grid's best point)",
        }
        gr = graphs[i_ex]
        g_lim, p_tanh = result.limits["observed"][i_ex], result.limits["tanh_params"][i_ex]
        result.cls_scan = {"mass_MeV": ex.mass, "g": gr.g, "cls": gr.cls,
                           "cls_err": 0.5 * (gr.cls_err_lo + gr.cls_err_hi),
                           "cls_err_lo": gr.cls_err_lo, "cls_err_hi": gr.cls_err_hi,
                           "clsb": gr.clsb, "clsb_err_lo": gr.clsb_err_lo,
                           "clsb_err_hi": gr.clsb_err_hi, "ps": gr.ps, "pb": gr.pb,
                           "q_obs": ex.q_obs, "cl": result.cl,
                           "tanh_params": p_tanh}
        # the limit and PADME's tanh fit it comes from, under the keys the figure draws
        if g_lim is not None and np.isfinite(g_lim):
            result.cls_scan["g_limit"] = g_lim
        if p_tanh is not None and np.all(np.isfinite(p_tanh)):
            g_fit = np.linspace(float(gr.g.min()), float(gr.g.max()), 200)
            result.cls_scan.update({"g_fit": g_fit, "fit_label": "tanh fit (PADME)",
                                    "cls_fit": tanh_model(g_fit, np.asarray(p_tanh))})
        # 1 - CL_b at the smallest g: Q is then linear in the data's projection on the signal
        # shape, i.e. the score test of a signal at this mass (a local significance that uses
        # no limit distribution; PADME's §9 local p-value is the limit-based one)
        pb0 = float(gr.pb[0])
        nb0 = int(ex.counts.nb_valid[0])
        clb = {"g": float(ex.g[0]), "p": pb0, "z": z_from_p(pb0), "n_b_toys": nb0,
               "p_interval_68": list(clopper_pearson(nb0, round(pb0 * nb0), 0.68))}
        qm, qs = getattr(ex, "q_b_mean", None), getattr(ex, "q_b_std", None)
        if qm is not None and qs is not None and qs[0] > 0:
            clb["z_gauss"] = float((qm[0] - ex.q_obs[0]) / qs[0])
        if result.excess:
            result.excess["clb_small_g"] = clb
        result.bestfit = {"mass_MeV": ex.mass, "g_min_q_on_grid": ex.g[k],
                          "q_obs_min": ex.q_obs[k],
                          "note": "PADME's method fits no coupling; grid point of minimal Q"}

    def _provenance(self, root: np.random.SeedSequence, digest: str) -> dict[str, Any]:
        import numba
        import scipy

        import x17scan

        meta = dict(self.table.meta)
        return {"method": METHOD_NAME, "config": asdict(self.config), "config_sources": SOURCES,
                "effb_line": self.problem.effb, "seed_entropy": root.entropy,
                "table": {"name": self.table.name, "digest": digest,
                          "source": meta.get("source"),
                          "input_sha256": meta.get("input_sha256"),
                          "syst_added_in_quadrature": meta.get("syst_added_in_quadrature")},
                "method_versions": {"x17scan": getattr(x17scan, "__version__", "?"),
                                    "numpy": np.__version__, "scipy": scipy.__version__,
                                    "numba": numba.__version__},
                "reference": "arXiv:2505.24797; tommasoSpadaro/PADMERunIIISensitivity@f9d62b0"}

