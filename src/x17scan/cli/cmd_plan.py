"""``x17scan plan``: propose a scan (beam energies and PoT per point) for a PoT budget.

The optimisation is :mod:`x17scan.stats.planning` (Fisher information of the profile
likelihood); the proposal and an even scan of the same budget are then evaluated with the full
asymptotic likelihood (:mod:`x17scan.stats.sensitivity`). Outputs: ``plan.toml`` (a ScanPlan,
loadable with ``x17scan.beam.load_plan``), ``even.toml``, ``result.json`` (the proposal's
expected limits; ``sensitivity.planning`` holds the proposal), ``run.json`` and
``figures/plan.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import typer

DEFAULT_POT_PER_DAY = 2.0e10
"""Seeds (Raggi, LNF SC Nov. 2023, 'What about a PADME run in 2024?'): aiming at 2e10 PoT/day."""
DEFAULT_HALF_WINDOW = 0.3
"""Default mass window of a discovery target: +-0.3 MeV (PADME's look-elsewhere window
16.6-17.2 MeV around the 16.9 MeV fluctuation has this width)."""
EVAL_STEP = 0.01
"""Mass step (MeV) of the exclusion target and of the evaluation: half the line-shape width."""


def _e_res(mass: Any) -> np.ndarray:
    from x17scan.physics.lineshape import e_res_model

    return np.asarray(e_res_model(mass), float)


def _mass_of_e(e_beam: Any) -> np.ndarray:
    from x17scan.stats.planning import sqrt_s_of

    return sqrt_s_of(e_beam)


def _finite_mean(x: np.ndarray) -> float:
    """Mean of the finite values (masses without an expected limit are left out); NaN if none."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    return float(x[ok].mean()) if ok.any() else float("nan")


def _left_out(summary: dict) -> str:
    """Note on the masses an exclusion gain leaves out (none: empty)."""
    k = summary.get("n_masses_without_limit", 0)
    if not k:
        return ""
    n = summary["n_masses"]
    return (f" ({n} of {n + k} masses; {k} without an expected limit inside the coupling grid "
            "for one of the scans are left out)")


def _plan_points(e_beam: np.ndarray, pot: np.ndarray, rel_pot: float, prefix: str) -> tuple:
    """ScanPoints as written to a plan file: E_beam to 1 keV, PoT to a million positrons at the
    Run III scale (1e9-1e10) and to four significant digits below 1e8 (never rounded to zero),
    PoT error ``rel_pot`` x PoT, labels ``prefix``00, ``prefix``01, ..."""
    from x17scan.beam import ScanPoint

    points = []
    for i, (e, p) in enumerate(zip(e_beam, pot, strict=True)):
        tidy = float(round(p, -6)) if p >= 1e8 else float(f"{p:.4g}")
        points.append(ScanPoint(e_beam=round(float(e), 3), pot=tidy, pot_err=tidy * rel_pot,
                                period=i, label=f"{prefix}{i:02d}"))
    return tuple(points)


def figure_plan(ev: dict[str, Any], target: str, mass: float | None, window: tuple[float, float],
                budget: float, gain: float, g_ref: float, name: str):
    """Top: PoT per point of the proposal, the even scan and the base plan vs beam energy
    (resonant mass on top); bottom: expected discovery significance at g_ref (discovery) or
    the median expected limit (exclusion) vs mass."""
    import matplotlib.pyplot as plt

    from x17scan.report.style import COLORS, label

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 10),
                                 gridspec_kw={"height_ratios": [1, 1.15], "hspace": 0.32})
    styles = {"proposal": (COLORS[0], "o", "-", 2.6), "even": (COLORS[1], "s", "--", 2.0),
              "base": ("#94a4a2", "^", ":", 2.0)}
    for key, d in ev.items():
        col, mk, ls, lw = styles[key]
        e, pot = d["e_beam"], d["pot"] / 1e9
        a1.vlines(e, 0, pot, color=col, lw=lw if key == "proposal" else 1.5, alpha=0.9)
        a1.plot(e, pot, mk, color=col, ms=6 if key == "proposal" else 5,
                label=f"{d['label']}: {e.size} points, {d['pot'].sum():.3g} PoT")
    lo_e = min(float(np.min(d["e_beam"])) for d in ev.values()) - 1.0
    hi_e = max(float(np.max(d["e_beam"])) for d in ev.values()) + 1.0
    a1.set_xlim(lo_e, hi_e)
    a1.set_xlabel(r"$E_{beam}$ [MeV]")
    a1.set_ylabel(r"PoT per point [$10^{9}$]")
    if mass is not None:
        er = float(_e_res(mass))
        a1.axvline(er, color="#bd1f01", lw=1.2, ls="--",
                   label=rf"$E_{{res}}$({mass:g} MeV) = {er:.1f} MeV")
    a1.set_ylim(0, a1.get_ylim()[1] * 1.5)
    a1.legend(loc="upper center", fontsize=12, ncols=1, frameon=True, facecolor="white",
              edgecolor="none", framealpha=0.9)
    for key, d in ev.items():
        col, mk, ls, lw = styles[key]
        y = d["z_at_gref"] if target == "discovery" else d["median"] * 1e4
        a2.plot(d["masses"], y, ls=ls, color=col, lw=lw, label=d["label"])
    a2.axvspan(*window, color="#e8e8e8", lw=0, zorder=0, label="target window")
    if target == "discovery":
        a2.axhline(3.0, color="black", lw=0.8, ls=":")
        a2.axvline(mass, color="#bd1f01", lw=1.2, ls="--",
                   label=rf"target $M_X$ = {mass:g} MeV")
        a2.set_ylabel(rf"median local $Z$ at $g_{{ve}}$ = {g_ref * 1e4:.2f}$\times10^{{-4}}$",
                      fontsize=18)
        title = f"discovery gain at {mass:g} MeV: x{gain:.2f} in Z"
    else:
        a2.set_ylabel(r"expected median limit [$10^{-4}$]", fontsize=18)
        title = f"exclusion gain over the window: x{gain:.2f} in g"
    a2.set_xlabel(r"$M_X$ [MeV]")
    ys = np.concatenate([d["z_at_gref"] if target == "discovery" else d["median"] * 1e4
                         for d in ev.values()])
    ys = ys[np.isfinite(ys)]
    if ys.size:  # none finite: no expected limit inside the coupling grid (a tiny budget)
        a2.set_ylim(0, ys.max() * (1.75 if target == "discovery" else 1.2))
    core = np.asarray(ev["proposal"]["median"], dtype=float) * 1e4
    if target == "exclusion" and np.isfinite(core).any():
        a2.set_ylim(0, 3.0 * np.nanmin(core))
    a2.set_xlim(window[0] - 0.25, window[1] + 0.25)
    a2.legend(loc="upper center", fontsize=12, title=title, title_fontsize=13, ncols=2,
              frameon=True, facecolor="white", edgecolor="none", framealpha=0.9)
    label(a1, f"Run plan {name}", f"budget {budget:.3g} PoT")
    return fig


def register(app: typer.Typer) -> None:
    @app.command("plan", no_args_is_help=False)
    def plan(
        out: Path = typer.Option(Path("x17scan-plan"), "--out", "-o", help="Output folder."),
        target: str = typer.Option("discovery", "--target",
                                   help="discovery (maximise the expected significance at "
                                   "--mass) or exclusion (minimise the mean expected limit "
                                   "over --window)."),
        mass: float = typer.Option(None, "--mass", help="Hypothesised X17 mass (MeV) of a "
                                   "discovery target."),
        mass_sigma: float = typer.Option(0.0, "--mass-sigma",
                                         help="Uncertainty (MeV) of --mass: the target is the "
                                         "mean information over a Gaussian of this width."),
        window: str = typer.Option(None, "--window",
                                   help="Mass window LO:HI (MeV) [discovery: --mass +- 0.3; "
                                   "exclusion: the base plan's sqrt(s) range]."),
        budget: float = typer.Option(None, "--budget",
                                     help="Total positrons on target [default: the base "
                                     "plan's fit points]."),
        days: float = typer.Option(None, "--days",
                                   help="Budget in days of beam instead (x --pot-per-day)."),
        pot_per_day: float = typer.Option(DEFAULT_POT_PER_DAY, "--pot-per-day",
                                          help="PoT per day for --days (seeds: 2e10)."),
        min_spacing: float = typer.Option(0.75, "--min-spacing",
                                          help="Minimum distance between points (MeV of "
                                          "E_beam; Run III: ~0.75, the energy resolution)."),
        max_points: int = typer.Option(47, "--max-points", help="Maximum number of points."),
        min_pot: float = typer.Option(None, "--min-pot",
                                      help="Minimum PoT of a point [default: a quarter of "
                                      "budget/max-points]."),
        e_range: str = typer.Option(None, "--e-range",
                                    help="Allowed beam energies LO:HI (MeV) [default: the "
                                    "window's resonance energies +- --margin, within the "
                                    "beam line's range]."),
        margin: float = typer.Option(3.0, "--margin",
                                     help="MeV of E_beam beyond the window's resonance "
                                     "energies available for side-band points."),
        base_plan: str = typer.Option("run3", "--base-plan",
                                      help="Plan giving the beam parameters (BES, target, "
                                      "bunches) and shown for comparison."),
        lineshape: str = typer.Option("voigt", "--lineshape",
                                      help="Line shape of the signal: voigt, atomic, sto, free."),
        spin: str = typer.Option("vector", "--spin", help="vector, axial, scalar, pseudoscalar."),
        bes: float = typer.Option(None, "--bes", help="Relative beam spread [default: the "
                                  "base plan's]."),
        bkg_table: str = typer.Option("padme-run3", "--bkg-table",
                                      help="Reference for B per PoT and efficiency: a shipped "
                                      "data set or a scan-table file."),
        pot_syst: float = typer.Option(None, "--pot-syst",
                                       help="Relative per-point PoT uncertainty [default: the "
                                       "base plan's pot_rel_err]."),
        name: str = typer.Option(None, "--name", help="Name of the proposed plan."),
        cl: float = typer.Option(0.90, "--cl", help="Confidence level of the limits."),
        figures: bool = typer.Option(True, "--figures/--no-figures", help="Write figures."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
    ) -> None:
        """Propose a scan (energies and PoT per point) for a PoT budget, a mass window and a
        target, under constraints (minimum spacing, maximum points, beam-energy range), and
        compare its expected sensitivity with an even scan of the same budget (the gain factor
        is printed). Writes plan.toml, even.toml, result.json, run.json and figures/plan.png."""
        import json
        import time

        from x17scan import atomic, provenance
        from x17scan.beam import E_BEAM_RANGE, MIN_POT, ScanPlan, load_plan
        from x17scan.cli.cmd_sensitivity import (
            LINESHAPE_CHOICES,
            load_reference,
            parse_range,
            plan_inputs,
            plan_source,
            render,
        )
        from x17scan.errors import InputError
        from x17scan.stats import planning as P
        from x17scan.stats import sensitivity as S
        from x17scan.stats.result import Result

        t0 = time.perf_counter()
        # ---- validation (nothing is written before it passes)
        if target not in P.TARGETS:
            raise InputError(f"unknown target {target!r}", field="--target",
                             fix=f"use one of {', '.join(P.TARGETS)}")
        if lineshape not in LINESHAPE_CHOICES:
            raise InputError(f"unknown line shape {lineshape!r}", field="--lineshape",
                             fix=f"use one of {', '.join(LINESHAPE_CHOICES)}")
        if spin not in ("vector", "axial", "scalar", "pseudoscalar"):
            raise InputError(f"unknown spin {spin!r}", field="--spin",
                             fix="use vector, axial, scalar or pseudoscalar")
        if target == "discovery" and mass is None:
            raise InputError("a discovery target needs the hypothesised mass", field="--mass",
                             fix="give --mass in MeV, e.g. 16.9")
        if target == "exclusion" and mass is not None:
            raise InputError(f"--mass {mass:g} is not used by an exclusion target, which covers "
                             "--window", field="--mass",
                             fix="drop --mass (and give --window), or use --target discovery")
        if mass is not None and not (math.isfinite(mass) and mass > 1.03):
            raise InputError(f"mass {mass} MeV is not a boson mass above 2 m_e", field="--mass",
                             fix="give the mass in MeV, e.g. 16.9")
        if not (math.isfinite(mass_sigma) and 0 <= mass_sigma < 1):
            raise InputError(f"mass sigma {mass_sigma} MeV is not in [0, 1)",
                             field="--mass-sigma", fix="give e.g. 0.05")
        atomic.check_output_dir(out)
        if budget is not None and days is not None:
            raise InputError("both --budget and --days given", field="--days",
                             fix="give one of them")
        if days is not None:
            if not (math.isfinite(days) and days > 0):
                raise InputError(f"days = {days} must be > 0", field="--days",
                                 fix="give e.g. --days 90")
            if not (math.isfinite(pot_per_day) and pot_per_day > 0):
                raise InputError(f"pot-per-day = {pot_per_day} must be > 0",
                                 field="--pot-per-day", fix="give e.g. --pot-per-day 2e10")
            budget = days * pot_per_day
        if budget is not None and not (math.isfinite(budget) and budget > 0):
            raise InputError(f"budget = {budget} PoT is not positive", field="--budget",
                             fix="give the total positrons on target, e.g. 3.15e11")
        if max_points < 3:
            raise InputError(f"max-points = {max_points} is below 3", field="--max-points",
                             fix="a scan fit needs at least 3 points")
        if not (math.isfinite(min_spacing) and min_spacing > 0):
            raise InputError(f"min-spacing = {min_spacing} MeV is not positive",
                             field="--min-spacing", fix="give e.g. 0.75 (MeV of beam energy)")
        if not (math.isfinite(margin) and margin >= 0):
            raise InputError(f"margin = {margin} MeV is negative", field="--margin",
                             fix="give a non-negative number of MeV")
        if not 0.5 <= cl < 1.0:
            raise InputError(f"confidence level {cl} outside [0.5, 1)", field="--cl",
                             fix="give e.g. 0.90")
        if min_pot is not None and not (math.isfinite(min_pot) and min_pot >= MIN_POT):
            raise InputError(f"min-pot = {min_pot} is below {MIN_POT:g} positrons",
                             field="--min-pot", fix="give e.g. 1e9, or leave it out")
        try:
            base = load_plan(base_plan)
        except InputError as err:
            if err.field != "--plan":
                raise
            raise InputError(err.message, field="--base-plan", fix=err.fix, source=err.source,
                             row=err.row) from None
        if bes is not None and not 0 < bes < 0.1:
            raise InputError(f"bes = {bes} is not a relative spread in (0, 0.1)", field="--bes",
                             fix="give e.g. 0.0025 for 0.25 %")
        ref, ref_info = load_reference(bkg_table)
        try:
            base_in = plan_inputs(base, pot_syst, bes)
            base_table = base_in.table(ref, spin=spin)
        except InputError as err:
            raise (err if err.source else err.with_source(plan_source(base_plan))) from None
        rel_pot = base.pot_rel_err if pot_syst is None else pot_syst
        budget = float(base_in.total_pot if budget is None else budget)
        budget_field = "--days" if days is not None else "--budget"
        if budget < 3 * MIN_POT:
            raise InputError(f"budget = {budget:g} PoT cannot fill 3 points of {MIN_POT:g}",
                             field=budget_field,
                             fix="give the total positrons on target, e.g. 3.15e11")
        if min_pot is None:
            min_pot = max(0.25 * budget / max_points, MIN_POT)
        if 3 * min_pot > budget:
            raise InputError(f"min-pot = {min_pot:.3g} leaves fewer than 3 points of the budget",
                             field="--min-pot", fix="lower --min-pot or raise the budget")
        win = parse_range(window, "--window")
        if win is None:
            if target == "discovery":
                win = (mass - DEFAULT_HALF_WINDOW, mass + DEFAULT_HALF_WINDOW)
            else:
                s = base_in.sqrt_s
                win = (round(float(s.min()), 2), round(float(s.max()), 2))
        if win[0] <= 1.03:
            raise InputError(f"window {win} starts below 2 m_e", field="--window",
                             fix="give masses in MeV")
        if target == "discovery" and not win[0] <= mass <= win[1]:
            raise InputError(f"--mass {mass} lies outside the window {win[0]}-{win[1]} MeV",
                             field="--window", fix="give a window containing the mass")
        e_win = (float(_e_res(win[0])), float(_e_res(win[1])))
        er = parse_range(e_range, "--e-range")
        lo_btf, hi_btf = E_BEAM_RANGE
        if er is not None and (er[0] < lo_btf or er[1] > hi_btf):
            raise InputError(f"beam energies {er[0]:g}-{er[1]:g} MeV exceed the beam line's "
                             f"range {lo_btf:g}-{hi_btf:g} MeV", field="--e-range",
                             fix=f"give LO:HI within {lo_btf:g}:{hi_btf:g}")
        e_lo, e_hi = (e_win[0] - margin, e_win[1] + margin) if er is None else er
        e_lo, e_hi = max(e_lo, lo_btf), min(e_hi, hi_btf)
        ref_e = (float(P.e_beam_of(ref.range[0])), float(P.e_beam_of(ref.range[1])))
        if e_win[0] < ref_e[0] - 1e-6 or e_win[1] > ref_e[1] + 1e-6:
            raise InputError(f"the window {win[0]}-{win[1]} MeV needs beam energies "
                             f"{e_win[0]:.1f}-{e_win[1]:.1f} MeV, outside the reference table "
                             f"{ref.name!r} ({ref_e[0]:.1f}-{ref_e[1]:.1f} MeV)",
                             field="--window", fix="narrow the window or give --bkg-table with "
                             "a simulated table covering it (x17scan simulate)")
        e_lo, e_hi = max(e_lo, ref_e[0]), min(e_hi, ref_e[1])
        if e_hi - e_lo < 2 * min_spacing:
            raise InputError(f"beam-energy range {e_lo:.2f}-{e_hi:.2f} MeV holds fewer than 3 "
                             f"points {min_spacing} MeV apart", field="--e-range",
                             fix="widen the range or lower --min-spacing")
        nm_name = name or (f"followup-{mass:g}" if target == "discovery"
                           else f"scan-{win[0]:g}-{win[1]:g}")
        bes_v = base_in.bes

        # ---- the optimisation problem
        anchor = float(_e_res(mass)) if target == "discovery" else e_win[0]
        sm = S.signal_model(lineshape, spin, bes_v)
        if target == "discovery":
            if mass_sigma > 0:
                tm = mass + mass_sigma * np.linspace(-2.0, 2.0, 9)
                tw = np.exp(-0.5 * ((tm - mass) / mass_sigma) ** 2)
            else:
                tm, tw = np.array([mass]), None
        else:
            # Finer than the line-shape width (~0.02 MeV in sqrt(s) at 0.25 % BES) and the same
            # step as the evaluation below: on a coarser grid the optimum covers the grid masses
            # and leaves the ones in between weak.
            tm = np.round(np.arange(win[0], win[1] + 1e-9, EVAL_STEP), 10)
            tw = None

        def problem(cand: np.ndarray) -> Any:
            c = ref.at(P.sqrt_s_of(cand), "--e-range")
            eff = c["eff"] * S.spin_efficiency_factor(P.sqrt_s_of(cand), spin, ref.spin)
            sig2 = rel_pot ** 2 + c["bkg_rel_err"] ** 2

            def ratio(e: np.ndarray, m: np.ndarray) -> np.ndarray:
                return sm.yield_per_pot(e, m) * (eff / c["bkg"])[None, :]

            return P.planning_problem(cand, c["bkg"], sig2, ratio, tm, tw, target)

        # Two candidate sets, both at least min_spacing apart: the grid anchored at the target
        # (the mass's resonance energy, or the window's start) and the energies of an even scan
        # of the window. The proposal is the better optimum by the planning objective, so it is
        # at least as good as the optimum found at the even scan's energies (the anchored grid
        # alone lost to them on wide windows, where the grid's phase matters).
        n_fit = int(np.floor((e_win[1] - e_win[0]) / min_spacing + 1e-9)) + 1
        problems = [problem(P.candidate_grid(e_lo, e_hi, min_spacing, anchor))]
        if n_fit >= 3:
            problems.append(problem(P.even_scan(e_win[0], e_win[1], min(max_points, n_fit),
                                                budget)[0]))
        k_best, prop = P.propose_best(problems, budget, max_points, min_pot)
        prob, cand_set = problems[k_best], ("grid", "even-scan energies")[k_best]
        cand = prob.e_beam
        t_opt = time.perf_counter() - t0

        # ---- even scan of the same budget, same number of points where they fit
        n_even = max(3, min(prop.e_beam.size, n_fit))
        e_even, pot_even = P.even_scan(e_win[0], e_win[1], n_even, budget)
        if (np.diff(e_even) < min_spacing - 1e-9).any():   # window narrower than 3 spacings
            mid = 0.5 * (e_win[0] + e_win[1])
            e_even = mid + min_spacing * np.arange(-1, 2)
            pot_even = np.full(3, budget / 3)

        # ---- full-likelihood evaluation
        ev_masses = np.round(np.arange(win[0] - 0.25, win[1] + 0.25 + 1e-9, EVAL_STEP), 10)

        def tab(e: np.ndarray, pot: np.ndarray, nm: str) -> Any:
            return S.asimov_table(e, pot, pot * rel_pot, ref, spin=spin, name=nm)

        tables = {"proposal": tab(prop.e_beam, prop.pot, nm_name),
                  "even": tab(e_even, pot_even, "even"),
                  "base": base_table}
        labels = {"proposal": f"proposal ({nm_name})", "even": "even scan, same budget",
                  "base": f"{base.name}"}
        sens = {k: S.expected_sensitivity(t, ev_masses, signal=sm, cl=cl, z_discovery=(3.0,))
                for k, t in tables.items()}
        if target == "discovery":
            j = int(np.argmin(np.abs(ev_masses - mass)))
            g_ref = float(sens["even"].discovery_local[3.0][j])
            z = {k: S.asimov_z(t, ev_masses, g_ref, signal=sm) for k, t in tables.items()}
            gain = float(z["proposal"][j] / z["even"][j])
            gain_g = g_ref / float(sens["proposal"].discovery_local[3.0][j])
            summary = {"target_mass_MeV": mass, "g_ref": g_ref,
                       "z_even": float(z["even"][j]), "z_proposal": float(z["proposal"][j]),
                       "z_base": float(z["base"][j]), "gain_z": gain,
                       "gain_g_3sigma": gain_g,
                       "g_3sigma_local": {k: float(s.discovery_local[3.0][j])
                                          for k, s in sens.items()}}
        else:
            inwin = (ev_masses >= win[0] - 1e-9) & (ev_masses <= win[1] + 1e-9)
            # Both scans are averaged over the same masses: those where each has a limit inside
            # the coupling grid (a mean over different subsets would compare unlike things).
            both = inwin & np.isfinite(sens["proposal"].median) & np.isfinite(sens["even"].median)
            means = {k: _finite_mean(s.median[both]) for k, s in sens.items()}
            gain = means["even"] / means["proposal"]
            g_ref = float("nan")
            z = {k: np.full(ev_masses.size, np.nan) for k in tables}
            summary = {"mean_median_limit": means, "gain_g": gain,
                       "n_masses": int(both.sum()),
                       "n_masses_without_limit": int(inwin.sum() - both.sum())}
        if not math.isfinite(gain):  # nothing written yet
            reach = "3 sigma" if target == "discovery" else "an expected limit"
            raise InputError(f"with {budget:.3g} PoT the scans reach {reach} nowhere inside the "
                             "coupling grid: there is nothing to compare",
                             field=budget_field,
                             fix="raise the budget (Run III: 3.15e11 PoT)")
        t_full = np.zeros(cand.size)
        t_full[np.isin(cand, prop.e_beam)] = prop.pot
        prob_even = problem(e_even)
        fisher = {"proposal": prob.information(t_full).tolist(),
                  "even": prob_even.information(pot_even).tolist()}
        objective = {"proposal": prob.objective(t_full)[0],
                     "even": prob_even.objective(pot_even)[0]}
        t_eval = time.perf_counter() - t0 - t_opt

        # ---- outputs
        points = _plan_points(prop.e_beam, prop.pot, rel_pot, "P")
        desc = (f"{target} target" + (f" at M = {mass:g} MeV" if mass is not None else "")
                + f", window {win[0]:g}-{win[1]:g} MeV, budget {budget:.4g} PoT, "
                f"{len(points)} points (min spacing {min_spacing:g} MeV, max {max_points}), "
                f"{lineshape} {spin}, BES {100 * bes_v:.2f} %")
        cmd = "x17scan plan " + " ".join(
            f"--{k} {v}" for k, v in (("target", target), ("mass", mass),
                                      ("mass-sigma", mass_sigma or None),
                                      ("window", f"{win[0]:g}:{win[1]:g}"),
                                      ("budget", f"{budget:.6g}"),
                                      ("min-spacing", min_spacing), ("max-points", max_points),
                                      ("base-plan", base_plan), ("lineshape", lineshape),
                                      ("spin", spin), ("name", nm_name)) if v is not None)
        newplan = base.replace(name=nm_name, points=points, bes=bes_v, energy_offset=0.0,
                               pot_rel_err=rel_pot, description=desc,
                               provenance=f"{cmd} (x17scan stats.planning; reference "
                                          f"{ref.name})")
        gain_line = (f"gain in expected local significance at {mass:g} MeV: x{gain:.3f} "
                     f"(Z = {summary['z_proposal']:.2f} vs {summary['z_even']:.2f} for an even "
                     f"scan at g_ve = {g_ref:.3g})" if target == "discovery" else
                     f"gain in the mean expected median limit over {win[0]:g}-{win[1]:g} MeV: "
                     f"x{gain:.3f}" + _left_out(summary))
        header = (f"Scan plan '{nm_name}' proposed by x17scan plan:\n  {cmd}\n{desc}.\n"
                  f"{gain_line}.\nReference for B and efficiency: {ref.name}.")
        even_plan = ScanPlan(
            name=f"even-{nm_name}", points=_plan_points(e_even, pot_even, rel_pot, "E"),
            bes=bes_v, pot_rel_err=rel_pot, target=base.target,
            description=f"even scan of the same budget over {win[0]:g}-{win[1]:g} MeV")
        out.mkdir(parents=True, exist_ok=True)
        atomic.write_text(out / "plan.toml", newplan.to_toml(header))
        atomic.write_text(out / "even.toml", even_plan.to_toml(
            f"Even scan compared with '{nm_name}' (x17scan plan)."))
        res = Result(method="profile", cl=cl, dataset=f"expected: plan {nm_name}")
        res.expected = sens["proposal"].expected_block()
        res.sensitivity["discovery"] = sens["proposal"].discovery_block()
        res.sensitivity["planning"] = {
            "target": target, "window_MeV": list(win), "budget_pot": budget,
            "constraints": {"min_spacing_MeV": min_spacing, "max_points": max_points,
                            "min_pot": min_pot, "e_range_MeV": [e_lo, e_hi]},
            "proposal": {"e_beam": prop.e_beam, "pot": prop.pot},
            "even": {"e_beam": e_even, "pot": pot_even},
            "candidates": {"set": cand_set, "e_beam": cand,
                           "pot_continuous": prop.continuous_pot},
            "history": prop.history, "summary": summary, "gain": gain,
            "evaluation": {k: {"mass_MeV": ev_masses, "median": s.median,
                               "g_3sigma_local": s.discovery_local[3.0], "z_at_g_ref": z[k]}
                           for k, s in sens.items()},
            "fisher_information_proposal": fisher["proposal"],
            "fisher_information_even": fisher["even"],
            "planning_objective": objective,
            "method": "Fisher-information allocation (stats.planning), evaluated with the "
                      "asymptotic profile likelihood; planning_objective is the value minimised "
                      "(discovery: -mean information; exclusion: mean information^-1/4)"}
        res.options = {"command": "plan", "target": target, "mass": mass,
                       "mass_sigma": mass_sigma, "window": list(win), "budget": budget,
                       "days": days, "pot_per_day": pot_per_day, "min_spacing": min_spacing,
                       "max_points": max_points, "min_pot": min_pot, "margin": margin,
                       "base_plan": base_plan, "lineshape": lineshape, "spin": spin,
                       "bes": bes_v, "bkg_table": bkg_table, "pot_syst": rel_pot, "cl": cl}
        res.provenance = provenance.record(reference=ref_info,
                                           base_plan={"name": base.name,
                                                      "fingerprint": base.fingerprint()},
                                           plan_fingerprint=newplan.fingerprint())
        res.to_json(out / "result.json")
        fig_files = []
        if figures:
            ev = {k: {"label": labels[k], "e_beam": tables[k].e_beam, "pot": tables[k].pot,
                      "masses": ev_masses, "median": sens[k].median, "z_at_gref": z[k]}
                  for k in ("base", "even", "proposal")}
            render(out / "figures" / "plan.png", figure_plan, ev, target, mass, win, budget,
                   gain, g_ref, nm_name)
            fig_files.append("plan.png")
        atomic.write_text(out / "run.json", json.dumps(provenance.run_info(
            timings_s={"optimisation": t_opt, "evaluation": t_eval,
                       "total": time.perf_counter() - t0}, figures=fig_files), indent=1))
        if not quiet:
            _summary(prop, e_even, nm_name, budget, gain_line, summary, target, out)


def _summary(prop: Any, e_even: np.ndarray, name: str, budget: float, gain_line: str,
             summary: dict[str, Any], target: str, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from x17scan.stats.planning import sqrt_s_of

    con = Console(width=100)
    t = Table(title=f"x17scan plan {name}: {prop.e_beam.size} points, {budget:.4g} PoT")
    for col in ("point", "E_beam (MeV)", "sqrt(s) (MeV)", "PoT (1e9)", "share"):
        t.add_column(col, justify="right")
    for i, (e, p) in enumerate(zip(prop.e_beam, prop.pot, strict=True)):
        t.add_row(f"P{i:02d}", f"{e:.2f}", f"{float(sqrt_s_of(e)):.4f}", f"{p / 1e9:.2f}",
                  f"{100 * p / budget:.1f} %")
    con.print(t)
    if target == "discovery":
        g3 = summary["g_3sigma_local"]
        con.print(f"median local 3 sigma reach at {summary['target_mass_MeV']:g} MeV: proposal "
                  f"{g3['proposal']:.3g}, even {g3['even']:.3g}, base plan {g3['base']:.3g}; "
                  f"base plan Z at the same g: {summary['z_base']:.2f}")
    con.print(f"[bold]{gain_line}[/]")
    con.print(f"[green]wrote[/] {out / 'plan.toml'}, {out / 'result.json'}")
