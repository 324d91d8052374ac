"""``x17scan sensitivity``: expected limits and discovery reach of a scan plan.

The plan (a ScanPlan) is converted here into plain arrays (:func:`plan_inputs`) and then into an
expected (Asimov) scan table by :mod:`x17scan.stats.sensitivity`, which never imports ``beam``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import typer

LINESHAPE_CHOICES = ("voigt", "atomic", "sto", "free")
MASS_STEP = 0.02
MASS_MARGIN = 0.1


def plan_inputs(plan: Any, pot_syst: float | None = None, bes: float | None = None) -> Any:
    """The fit points of ``plan`` (used, with target) as :class:`ScanInputs`.

    Points at the same beam energy (repeated runs) are merged (PoT summed, errors in
    quadrature). The PoT error of a point is its ``pot_err`` combined in quadrature with the
    relative ``pot_syst`` (default the plan's ``pot_rel_err``: PADME adds 0.3 %), unless the
    point gave no ``pot_err`` of its own (then it already is pot x pot_rel_err).
    """
    from x17scan.errors import InputError
    from x17scan.stats.sensitivity import ScanInputs

    pts = [p for p in plan.points if p.used and p.has_target]
    if len(pts) < 3:
        raise InputError(f"plan {plan.name!r} has {len(pts)} used points with target",
                         field="points", fix="a scan needs at least 3 used points")
    rel = plan.pot_rel_err if pot_syst is None else pot_syst
    if not (math.isfinite(rel) and 0 <= rel < 1):
        raise InputError(f"PoT systematic {rel} is not a relative uncertainty", field="--pot-syst",
                         fix="give e.g. 0.003")
    e = np.array([p.e_beam for p in pts])
    pot = np.array([p.pot for p in pts])
    err = np.array([p.pot_err for p in pts])
    default = np.isclose(err, pot * plan.pot_rel_err, rtol=1e-9, atol=0.0)
    err = np.where(default, pot * rel, np.hypot(err, pot * rel))
    order = np.argsort(e, kind="stable")
    e, pot, err = e[order], pot[order], err[order]
    # merge repeated energies (ScanPlan allows them as separate runs)
    key = np.concatenate([[0], np.cumsum(np.diff(e) > 1e-3)])
    n = key[-1] + 1
    e_m = np.bincount(key, e * pot, n) / np.bincount(key, pot, n)
    return ScanInputs(e_beam=e_m, pot=np.bincount(key, pot, n),
                      pot_err=np.sqrt(np.bincount(key, err * err, n)),
                      bes=plan.bes if bes is None else bes, energy_offset=plan.energy_offset,
                      name=plan.name)


def plan_source(plan: str) -> str:
    """How error messages name a plan: the file, or ``plan 'name'`` for a shipped one."""
    return plan if plan.endswith(".toml") else f"plan '{plan}'"


def default_masses(inputs: Any) -> np.ndarray:
    """Masses (MeV) covering the plan's sqrt(s) range +- 0.1 MeV in 0.02 MeV steps."""
    s = inputs.sqrt_s
    lo = math.floor((s.min() - MASS_MARGIN) / MASS_STEP + 1e-9) * MASS_STEP
    hi = math.ceil((s.max() + MASS_MARGIN) / MASS_STEP - 1e-9) * MASS_STEP
    n = round((hi - lo) / MASS_STEP) + 1
    return np.round(lo + MASS_STEP * np.arange(n), 10)


def parse_list(text: str | None, option: str, kind: type = float) -> tuple[Any, ...]:
    """Comma list -> tuple (InputError naming ``option`` if an item is not a ``kind``)."""
    from x17scan.errors import InputError

    if text is None:
        return ()
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            out.append(kind(item))
        except ValueError:
            raise InputError(f"cannot read {item!r}", field=option,
                             fix="give a comma-separated list of numbers") from None
    return tuple(out)


def parse_range(text: str | None, option: str) -> tuple[float, float] | None:
    """``LO:HI`` -> (lo, hi) with lo < hi."""
    from x17scan.errors import InputError

    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise InputError(f"cannot read range {text!r}", field=option,
                         fix="give LO:HI in MeV, e.g. 16.6:17.2") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"range {text!r} is empty", field=option, fix="give LO:HI with LO < HI")
    return lo, hi


def load_reference(bkg_table: str) -> tuple[Any, dict[str, Any]]:
    """Reference curves from a shipped data set name or a scan-table file."""
    from x17scan import data, provenance
    from x17scan.errors import InputError
    from x17scan.stats.sensitivity import ReferenceCurves

    p = Path(bkg_table)
    if bkg_table in data.datasets.names():
        table = data.load(bkg_table)
        info = {"reference": bkg_table,
                "sha256_columns": provenance.sha256_arrays(table.columns())}
    elif p.suffix.lower() in (".csv", ".parquet", ".pq", ".root"):
        if not p.is_file():
            raise InputError(f"no such file {bkg_table!r}", field="--bkg-table",
                             fix="give a scan table (CSV, Parquet, ROOT) or a shipped data set")
        table = data.read_table(p)
        info = {"reference": str(p), "sha256": provenance.sha256_file(p)}
    else:
        raise InputError(f"unknown reference table {bkg_table!r}", field="--bkg-table",
                         fix="give a shipped data set (" + ", ".join(data.datasets.names())
                             + ") or a scan-table file (.csv, .parquet, .root)")
    return ReferenceCurves.from_table(table), info


def resolve_variations(text: str) -> tuple[str, ...]:
    from x17scan.stats.sensitivity import VARIATIONS

    t = text.strip().lower()
    if t == "none":
        return ()
    if t == "all":
        return VARIATIONS
    return tuple(v.strip() for v in t.split(",") if v.strip())


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
_LS = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))


def _scale_label(cl: float) -> str:
    return rf"expected $g_{{ve}}$ upper limit at {round(100 * cl)}% CL [$10^{{-4}}$]"


def figure_limits(sens: Any, variations: list[dict[str, Any]], ext: dict[str, Any],
                  title: str, rlabel: str, toy: np.ndarray | None = None):
    """Top: expected band, local 3/5 sigma discovery reach, external limits; bottom: median
    limit of each systematic variation relative to the nominal one. Call inside
    :func:`x17scan.report.style.figure_style` (see :func:`render`)."""
    import matplotlib.pyplot as plt

    from x17scan.report.style import BAND_1SIGMA, BAND_2SIGMA, COLORS, label

    fig, (ax, rx) = plt.subplots(2, 1, figsize=(10, 9.5), sharex=True,
                                 gridspec_kw={"height_ratios": [2.6, 1.4], "hspace": 0.06})
    m, b = sens.masses, sens.bands * 1e4
    fin = np.isfinite(b[2])
    ax.fill_between(m, b[0], b[4], color=BAND_2SIGMA, lw=0, label=r"expected $\pm 2\sigma$")
    ax.fill_between(m, b[1], b[3], color=BAND_1SIGMA, lw=0, label=r"expected $\pm 1\sigma$")
    ax.plot(m, b[2], "-", color="black", lw=2, label="expected median")
    if toy is not None:
        ax.plot(m, toy[2] * 1e4, "o", color="black", ms=4, mfc="none", label="median (toys)")
    ax.plot(m, sens.discovery_local[3.0] * 1e4, "--", color="#3f90da", lw=2,
            label=r"median local $3\sigma$ discovery")
    if 5.0 in sens.discovery_local:
        ax.plot(m, sens.discovery_local[5.0] * 1e4, "-.", color="#832db6", lw=2,
                label=r"median local $5\sigma$ discovery")
    for j, lim in enumerate(ext.values()):
        lo, _ = lim.gve_at(m)
        ax.plot(m, lo * 1e4, color=("#94a4a2", "#a96b59", "#e76300")[j % 3], lw=2.5,
                ls=_LS[j % len(_LS)], label=f"{lim.label} (excl. above)")
    core = fin & (b[2] < 1.6 * np.nanmin(b[2]))
    top = np.nanmax(sens.discovery_local.get(5.0, b[4])[core]) * 1e4
    ax.set_ylim(0, top * 1.55)
    lo_m, hi_m = m[fin][0], m[fin][-1]
    ax.set_xlim(lo_m, hi_m)
    ax.set_ylabel(rf"$g_{{ve}}$ at {round(100 * sens.cl)}% CL [$10^{{-4}}$]")
    ax.legend(loc="upper center", fontsize=12, ncols=2, bbox_to_anchor=(0.5, 0.99))
    label(ax, title, rlabel, simulation=False)
    rx.axhline(1.0, color="black", lw=1.5)
    rx.axhspan(0.99, 1.01, color="#dddddd", lw=0)
    for i, v in enumerate(variations):
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = v["median"] / sens.median
        pot = v["name"] == "pot-scale"
        rx.plot(m, ratio, ls=(0, (1, 1.5)) if pot else _LS[i % len(_LS)], lw=3.5 if pot else 2,
                color=COLORS[i % len(COLORS)], label=v["label"], zorder=3 if pot else 2)
    rx.set_ylim(0.86, 1.31)
    rx.set_xlabel(r"$M_X$ [MeV]")
    rx.set_ylabel("median / nominal", fontsize=18)
    if variations:
        rx.legend(loc="upper center", fontsize=10.5, ncols=3, bbox_to_anchor=(0.5, 1.0))
    return fig


def figure_lineshapes(mass: float, bes: float, peaks: dict[str, float], masses: np.ndarray,
                      medians: dict[str, np.ndarray], cl: float, rlabel: str,
                      plan_bes: float | None = None):
    """Left: signal yield per PoT per g^2 vs beam energy (free, atomic, voigt) at ``bes``;
    right: expected median limits of each line shape."""
    import matplotlib.pyplot as plt

    from x17scan.physics.constants import A_PEAK_PADME
    from x17scan.physics.lineshape import e_res_model, kernel
    from x17scan.physics.resonance import integrated_yield
    from x17scan.report.style import COLORS, label

    names = {"free": "free electrons", "atomic": "atomic electrons (HF)",
             "sto": "atomic electrons (STO)", "voigt": "PADME Voigt"}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(16, 6.5))
    er = float(e_res_model(mass))
    e = np.linspace(er - 9, er + 9, 1201)
    norm = float(integrated_yield(mass, 1.0))
    for i, sh in enumerate(peaks.get("shapes", ("free", "atomic", "voigt"))):
        k = kernel(e, mass, bes, sh)
        y = (A_PEAK_PADME if sh == "voigt" else norm) * k
        a1.plot(e - er, y, color=COLORS[i], lw=2,
                label=f"{names[sh]}: peak {peaks[sh]:.2f}")
    red = peaks.get("reduction_free_over_atomic")
    a1.set_xlabel(r"$E_{beam} - E_{res}$ [MeV]")
    a1.set_ylabel(r"$N_X/N_{PoT}$ per $g_{ve}^2$")
    if red is not None:
        a1.text(0.03, 0.62, f"peak ratio free / atomic = {red:.2f}", transform=a1.transAxes,
                ha="left", fontsize=14)
    a1.legend(loc="upper right", fontsize=12,
              title=rf"$M_X$ = {mass:g} MeV, BES = {100 * bes:.2f} %", title_fontsize=13)
    a1.set_ylim(0, max(peaks[s] for s in peaks.get("shapes", ("free",))) * 1.3)
    label(a1, "line shapes", "", simulation=False)
    for i, (sh, med) in enumerate(medians.items()):
        a2.plot(masses, med * 1e4, color=COLORS[i], lw=2, ls=_LS[i], label=names.get(sh, sh))
    fin = np.concatenate([v[np.isfinite(v)] for v in medians.values()])
    a2.set_ylim(0, min(np.nanmax(fin) * 1e4 * 1.1, 4 * np.nanmin(fin) * 1e4))
    a2.set_xlabel(r"$M_X$ [MeV]")
    a2.set_ylabel(rf"expected median $g_{{ve}}$ limit, {round(100 * cl)}% CL [$10^{{-4}}$]",
                  fontsize=18)
    a2.legend(loc="upper center", fontsize=12,
               title=None if plan_bes is None else f"scan BES {100 * plan_bes:.2f} %",
               title_fontsize=13)
    a2.set_ylim(0, a2.get_ylim()[1] * 1.2)
    label(a2, "expected limits", rlabel, simulation=False)
    fig.tight_layout()
    return fig


def figure_discovery(sens: Any, title: str, rlabel: str):
    """Couplings with median local and global 3 and 5 sigma significance vs mass."""
    import matplotlib.pyplot as plt

    from x17scan.report.style import COLORS, label

    fig, ax = plt.subplots(figsize=(10, 7))
    m = sens.masses
    for i, z in enumerate(sorted(sens.discovery_local)):
        ax.plot(m, sens.discovery_local[z] * 1e4, color=COLORS[i], lw=2,
                label=rf"median local {z:g}$\sigma$")
        ax.plot(m, sens.discovery_global[z] * 1e4, color=COLORS[i], lw=2, ls="--",
                label=rf"median global {z:g}$\sigma$ (trials "
                      rf"{sens.lee['trials_factor'][f'{z:g}']:.0f})")
    ax.plot(m, sens.median * 1e4, color="black", lw=1.5, ls=":",
            label=f"expected {round(100 * sens.cl)}% CL limit (median)")
    fin = np.isfinite(sens.median)
    core = fin & (sens.median < 1.6 * np.nanmin(sens.median))
    top = np.nanmax(sens.discovery_global[max(sens.discovery_global)][core]) * 1e4
    ax.set_xlim(m[fin][0], m[fin][-1])
    w = sens.lee["window_MeV"]
    ax.set_xlabel(r"$M_X$ [MeV]")
    ax.set_ylabel(r"$g_{ve}$ [$10^{-4}$]")
    ax.legend(loc="upper center", fontsize=12, ncols=2, bbox_to_anchor=(0.5, 0.99),
              title=f"look-elsewhere window {w[0]:.2f}-{w[1]:.2f} MeV, Rice "
                    f"$N_1$ = {sens.lee['rice_n1']:.2f}", title_fontsize=12)
    ax.set_ylim(0, top * 1.6)
    label(ax, title, rlabel, simulation=False)
    return fig


def render(path: Path, fn: Any, *args: Any, **kw: Any) -> None:
    """Build ``fn(*args, **kw)`` and save it atomically to ``path``, both inside the house
    style (fonts are resolved when drawing, so saving must happen in the style too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from x17scan import atomic
    from x17scan.report.style import figure_style

    with figure_style():
        fig = fn(*args, **kw)
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip("."))
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
def register(app: typer.Typer) -> None:
    @app.command("sensitivity", no_args_is_help=False)
    def sensitivity(
        plan: str = typer.Option("run3", "--plan", "-p",
                                 help="Scan plan: a shipped name (run3, followup-16.9) or a "
                                 "TOML file."),
        model: str = typer.Option("profile", "--model", "-m",
                                  help="Signal/likelihood model: profile (x17scan's likelihood "
                                  "with the chosen line shape) or padme-run3 (PADME's chi2 with "
                                  "its Voigt signal, K constraint and eps/B line)."),
        lineshape: str = typer.Option("voigt", "--lineshape",
                                      help="Line shape (profile model): voigt (PADME's "
                                      "effective model), atomic, sto or free."),
        spin: str = typer.Option("vector", "--spin",
                                 help="vector, axial, scalar or pseudoscalar."),
        bes: float = typer.Option(None, "--bes",
                                  help="Relative beam-energy spread [default: the plan's]."),
        bkg_table: str = typer.Option("padme-run3", "--bkg-table",
                                      help="Reference for B per PoT and the signal efficiency "
                                      "(interpolated in sqrt s): a shipped data set or a scan "
                                      "table file, e.g. scan_table.parquet of x17scan simulate."),
        mass_grid: str = typer.Option(None, "--mass-grid",
                                      help="Masses MIN:MAX:STEP in MeV [default: the plan's "
                                      "sqrt(s) range +- 0.1 MeV, step 0.02]."),
        cl: float = typer.Option(0.90, "--cl", help="Confidence level of the limits."),
        lee_window: str = typer.Option(None, "--lee-window",
                                       help="LO:HI (MeV): masses of the global significance "
                                       "[default: the whole grid]."),
        variations: str = typer.Option("all", "--variations",
                                       help="Systematic variations to overlay: all, none, or a "
                                       "comma list of bes, offset, pot-scale, bkg-shape."),
        bes_values: str = typer.Option("0.0025,0.0030,0.0035", "--bes-values",
                                       help="Beam spreads of the bes variation."),
        energy_offset: float = typer.Option(1.5, "--energy-offset",
                                            help="Energy-scale offset (MeV of E_beam) of the "
                                            "offset variation, applied with both signs."),
        pot_scale_err: float = typer.Option(0.021, "--pot-scale-err",
                                            help="Relative PoT-scale uncertainty of the "
                                            "pot-scale variation (PADME's POTScaleErr)."),
        bkg_shape_err: float = typer.Option(0.005, "--bkg-shape-err",
                                            help="Relative point-to-point background "
                                            "uncertainty of the bkg-shape variation."),
        pot_syst: float = typer.Option(None, "--pot-syst",
                                       help="Relative PoT systematic added in quadrature to "
                                       "each point's error [default: the plan's pot_rel_err]."),
        lineshapes: str = typer.Option("free,atomic,voigt", "--lineshapes",
                                       help="Line shapes compared side by side (profile "
                                       "model), or none."),
        limits: str = typer.Option("none", "--limits",
                                   help="External limits drawn on the expected-limit figure "
                                   "(names as in `x17scan constraints`, or none)."),
        toys: int = typer.Option(None, "--toys",
                                 help="Also compute the band from toys: toys per hypothesis "
                                 "(profile: per (mass, mu) point; padme-run3: per (mass, g))."),
        pseudo_experiments: int = typer.Option(None, "--pseudo-experiments",
                                               help="Background-only toys (profile) or "
                                               "pseudo-experiments (padme-run3) for the toy band."),
        seed: int = typer.Option(1, "--seed", help="Root random seed of the toys."),
        workers: int = typer.Option(1, "--workers", "-j", help="Local worker processes."),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
        fresh: bool = typer.Option(False, "--fresh", help="Discard toy checkpoints."),
        figures: bool = typer.Option(True, "--figures/--no-figures", help="Write figures."),
        out: Path = typer.Option(Path("x17scan-sensitivity"), "--out", "-o",
                                 help="Output folder."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
    ) -> None:
        """Expected 90% CL limits (median, +-1, +-2 sigma) and discovery reach (3 and 5 sigma,
        local and global) of a scan plan, asymptotic by default; systematic variations (beam
        spread, energy scale, PoT scale, background shape) and line shapes side by side.

        Writes result.json (with the `expected` block of `x17scan analyze`), scan_table.csv
        (the expected table), run.json and figures/ to --out.
        """
        import json
        import time

        from x17scan import atomic, provenance
        from x17scan.analysis import parse_mass_grid
        from x17scan.beam import load_plan
        from x17scan.errors import InputError
        from x17scan.stats import sensitivity as S
        from x17scan.stats.result import Result

        t_start = time.perf_counter()
        # ---- validate everything before computing or writing anything
        atomic.check_output_dir(out)
        if seed is not None and seed < 0:
            raise InputError(f"seed must be non-negative, got {seed}", field="--seed",
                             fix="give a non-negative integer")
        if model not in S.MODELS:
            raise InputError(f"unknown model {model!r}", field="--model",
                             fix=f"use one of {', '.join(S.MODELS)}")
        if lineshape not in LINESHAPE_CHOICES:
            raise InputError(f"unknown line shape {lineshape!r}", field="--lineshape",
                             fix=f"use one of {', '.join(LINESHAPE_CHOICES)}")
        if model == "padme-run3" and lineshape != "voigt":
            raise InputError("the padme-run3 model has PADME's Voigt line shape only",
                             field="--lineshape", fix="drop --lineshape or use --model profile")
        if spin not in ("vector", "axial", "scalar", "pseudoscalar"):
            raise InputError(f"unknown spin {spin!r}", field="--spin",
                             fix="use vector, axial, scalar or pseudoscalar")
        if not 0.5 <= cl < 1.0:
            raise InputError(f"confidence level {cl} outside [0.5, 1)", field="--cl",
                             fix="give e.g. 0.90")
        ext: dict[str, Any] = {}
        if limits.strip().lower() != "none":
            from x17scan.constraints.limits import load_limits

            ext = load_limits(limits)
        shapes = () if lineshapes.strip().lower() == "none" else parse_list(
            lineshapes, "--lineshapes", str)
        for sh in shapes:
            if sh not in LINESHAPE_CHOICES:
                raise InputError(f"unknown line shape {sh!r}", field="--lineshapes",
                                 fix=f"use none or a comma list of {', '.join(LINESHAPE_CHOICES)}")
        spec = S.VariationSpec(names=resolve_variations(variations),
                               bes_values=parse_list(bes_values, "--bes-values"),
                               energy_offset=energy_offset, pot_scale_err=pot_scale_err,
                               bkg_shape_err=bkg_shape_err)
        for opt, v in (("--toys", toys), ("--pseudo-experiments", pseudo_experiments),
                       ("--workers", workers)):
            if v is not None and v < 1:
                raise InputError(f"{opt} = {v} must be at least 1", field=opt,
                                 fix="give a positive number")
        the_plan = load_plan(plan)
        if bes is not None and not 0 < bes < 0.1:
            raise InputError(f"bes = {bes} is not a relative spread in (0, 0.1)", field="--bes",
                             fix="give e.g. 0.0025 for 0.25 %")
        ref, ref_info = load_reference(bkg_table)
        try:
            inputs = plan_inputs(the_plan, pot_syst, bes)
            table = inputs.table(ref, spin=spin)
            if "offset" in spec.names:   # both shifted tables must be buildable
                for sgn in (1.0, -1.0):
                    inputs.table(ref, energy_offset=inputs.energy_offset
                                 + sgn * spec.energy_offset)
        except InputError as err:
            raise (err if err.source else err.with_source(plan_source(plan))) from None
        masses = default_masses(inputs) if mass_grid is None else parse_mass_grid(mass_grid)
        lw = parse_range(lee_window, "--lee-window")
        out.mkdir(parents=True, exist_ok=True)

        # ---- nominal
        common: dict[str, Any] = {"model": model, "cl": cl}
        if model == "profile":
            common["signal"] = S.signal_model(lineshape, spin, inputs.bes)
        else:
            common["padme"] = S.padme_config(spin, inputs.bes)
        sens = S.expected_sensitivity(table, masses, lee_window=lw, **common)
        var = S.run_variations(inputs, ref, masses, spec, model=model, lineshape=lineshape,
                               spin=spin, cl=cl)
        # ---- line shapes side by side (profile likelihood), and the peak reduction
        ls_block: dict[str, Any] = {}
        if shapes:
            meds = {}
            for sh in shapes:
                r = S.expected_sensitivity(table, masses, model="profile", cl=cl,
                                           signal=S.signal_model(sh, spin, inputs.bes),
                                           z_discovery=(3.0,))
                meds[sh] = r.bands[2]
            peaks_022 = S.lineshape_peaks(17.0, 0.0022, shapes)
            peaks_plan = S.lineshape_peaks(17.0, inputs.bes, shapes)
            ls_block = {"mass_MeV": masses, "median": meds, "model": "profile",
                        "peaks_per_pot_per_g2_at_17MeV": {"bes_0.22%": peaks_022,
                                                          f"bes_{100 * inputs.bes:.2f}%":
                                                          peaks_plan}}
        # ---- toys on request
        toy = None
        if toys is not None or pseudo_experiments is not None:
            n_t = toys or (200 if model == "padme-run3" else 500)
            n_pe = pseudo_experiments or (300 if model == "padme-run3" else 1000)
            toy = S.expected_toys(table, masses, toys=n_t, pseudo_experiments=n_pe, seed=seed,
                                  workers=workers, scheduler=scheduler,
                                  checkpoint_dir=str(out / "checkpoints"), fresh=fresh,
                                  progress=not quiet, **common)

        # ---- result.json
        res = Result(method=model, cl=cl, dataset=f"expected: plan {the_plan.name}")
        res.expected = sens.expected_block()
        if toy is not None:
            res.expected.update({k: toy["bands"][i] for i, k in enumerate(
                ("minus2", "minus1", "median", "plus1", "plus2"))})
            if "bands_err" in toy:
                for i, k in enumerate(("minus2", "minus1", "median", "plus1", "plus2")):
                    res.expected[k + "_err"] = toy["bands_err"][i]
            res.expected["source"] = f"toys ({model})"
            res.sensitivity["asymptotic"] = sens.expected_block()
            res.sensitivity["toys"] = {k: v for k, v in toy["info"].items() if k != "wall_s"}
        res.sensitivity["discovery"] = sens.discovery_block()
        res.sensitivity["variations"] = var
        res.sensitivity["lineshapes"] = ls_block
        res.sensitivity["model"] = {k: v for k, v in sens.info.items()
                                    if k not in ("timings_s", "fits", "solver_calls")}
        res.diagnostics = {"fits": sens.info["fits"], "solver_calls": sens.info["solver_calls"],
                           "converged": sens.info["converged"]}
        res.options = {"command": "sensitivity", "plan": plan, "model": model,
                       "lineshape": lineshape, "spin": spin, "bes": inputs.bes,
                       "bkg_table": bkg_table, "masses": masses, "cl": cl,
                       "lee_window": lw, "variations": list(spec.names),
                       "bes_values": list(spec.bes_values), "energy_offset": energy_offset,
                       "pot_scale_err": pot_scale_err, "bkg_shape_err": bkg_shape_err,
                       "pot_syst": pot_syst, "lineshapes": list(shapes),
                       "limits": list(ext), "toys": toys,
                       "pseudo_experiments": pseudo_experiments, "seed": seed}
        res.provenance = provenance.record(
            plan={"name": the_plan.name, "fingerprint": the_plan.fingerprint(),
                  "points": int(inputs.e_beam.size), "total_pot": inputs.total_pot},
            reference=ref_info, expected_table_sha256=table.checksum())
        res.to_json(out / "result.json")
        table.write(out / "scan_table.csv")
        rlabel = f"plan {the_plan.name}, {inputs.total_pot:.3g} PoT"
        title = f"Projection: {'PADME model' if model == 'padme-run3' else lineshape}, {spin}"
        fig_files = []
        if figures:
            fdir = out / "figures"
            render(fdir / "expected_limits.png", figure_limits, sens, var, ext, title, rlabel,
                   None if toy is None else toy["bands"])
            render(fdir / "discovery.png", figure_discovery, sens, title, rlabel)
            fig_files += ["expected_limits.png", "discovery.png"]
            if shapes:
                render(fdir / "lineshapes.png", figure_lineshapes, 17.0, 0.0022,
                       {**peaks_022, "shapes": shapes}, masses, ls_block["median"], cl, rlabel,
                       inputs.bes)
                fig_files.append("lineshapes.png")
        run = provenance.run_info(
            timings_s={**sens.info["timings_s"], "wall_total": time.perf_counter() - t_start},
            toys_wall_s=None if toy is None else toy["info"].get("wall_s"), figures=fig_files,
            workers=workers)
        atomic.write_text(out / "run.json", json.dumps(run, indent=1, default=float))
        if not quiet:
            _summary(sens, var, ls_block, toy, out, the_plan.name, inputs)


def _summary(sens: Any, var: list[dict[str, Any]], ls_block: dict[str, Any], toy: Any,
             out: Path, name: str, inputs: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=120)
    t = Table(title=f"x17scan sensitivity: plan {name} ({inputs.e_beam.size} points, "
                    f"{inputs.total_pot:.3g} PoT), {sens.info['model']}; g_ve in 1e-4")
    cols = ["M (MeV)", "-2s", "-1s", "median", "+1s", "+2s", "3s loc", "5s loc", "3s glob",
            "5s glob"]
    if toy is not None:
        cols += ["toy median", "toy/asym"]
    for c in cols:
        t.add_column(c, justify="right")
    m = sens.masses
    step = max(1, m.size // 12)
    for j in range(0, m.size, step):
        row = [f"{m[j]:.2f}"] + [f"{1e4 * v:.2f}" for v in sens.bands[:, j]]
        row += [f"{1e4 * sens.discovery_local[z][j]:.2f}" for z in (3.0, 5.0)]
        row += [f"{1e4 * sens.discovery_global[z][j]:.2f}" for z in (3.0, 5.0)]
        if toy is not None:
            tm = toy["bands"][2][j]
            row += [f"{1e4 * tm:.2f}", f"{tm / sens.bands[2][j]:.3f}"]
        t.add_row(*row)
    con.print(t)
    tf = sens.lee["trials_factor"]
    con.print(f"look-elsewhere: Rice N1 = {sens.lee['rice_n1']:.2f} over "
              f"{sens.lee['window_MeV'][0]:.2f}-{sens.lee['window_MeV'][1]:.2f} MeV; trials "
              f"factor {tf['3']:.1f} at 3 sigma, {tf['5']:.1f} at 5 sigma global")
    if var:
        j0 = int(np.nanargmin(np.abs(m - 17.0)))
        def plain(text: str) -> str:
            return (text.replace("$\\pm$", "±").replace("$\\Delta M$", "ΔM")
                    .replace("$", ""))

        parts = [f"{plain(v['label'])}: {v['median'][j0] / sens.median[j0]:.3f}" for v in var]
        con.print(f"median limit at {m[j0]:.2f} MeV relative to nominal: " + "; ".join(parts))
    if ls_block:
        pk = ls_block["peaks_per_pot_per_g2_at_17MeV"]["bes_0.22%"]
        if "reduction_free_over_atomic" in pk:
            con.print(f"peak yield at 17 MeV, BES 0.22 %: free {pk['free']:.2f}, atomic "
                      f"{pk['atomic']:.2f} per PoT per g^2: reduction "
                      f"{pk['reduction_free_over_atomic']:.2f} (seeds: ~3)")
        j0 = int(np.nanargmin(np.abs(m - 17.0)))
        con.print("median limit at 17 MeV by line shape: " + ", ".join(
            f"{k} {1e4 * v[j0]:.2f}e-4" for k, v in ls_block["median"].items()))
    con.print(f"[green]wrote[/] {out / 'result.json'}")
