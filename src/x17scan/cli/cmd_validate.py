"""``x17scan validate``: statistical validation of the profile method (coverage, p-values,
look-elsewhere calibration, pulls) with figures and ``validation.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

GROUPS = ("coverage", "pvalues", "global", "pulls")


def register(app: typer.Typer) -> None:
    @app.command("validate", no_args_is_help=False)
    def validate(
        out: Path = typer.Option(Path("x17scan-validation"), "--out", "-o",
                                 help="Output folder."),
        size: str = typer.Option("reduced", "--size",
                                 help="reduced (about a minute, as in CI) or full (about "
                                 "ten times the pseudo-data; minutes)."),
        seed: int = typer.Option(1, "--seed", help="Root random seed."),
        studies: str = typer.Option("all", "--studies",
                                    help="all, or a comma list of coverage, pvalues, global, "
                                    "pulls."),
        workers: int = typer.Option(1, "--workers", "-j", help="Local worker processes."),
        scheduler: str = typer.Option(None, "--scheduler",
                                      help="Dask scheduler address tcp://HOST:PORT."),
        fresh: bool = typer.Option(False, "--fresh", help="Discard checkpoints of an earlier, "
                                   "interrupted run instead of resuming it."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary."),
    ) -> None:
        """Validate the statistics on pseudo-data with a known truth: coverage of the 90% CL
        CLs limits (asymptotic and toys) at three masses, uniformity of local p-values under
        the background-only hypothesis, global-significance calibration, bias and pulls of
        the fitted g^2 and mass.

        Writes validation.json (numbers with binomial errors, checks), samples.npz, run.json
        and figures/ (coverage, p-values, global p, pulls) to --out. Resumes an interrupted
        run (checkpoints in --out/.checkpoints/validation).
        """
        import json
        import time

        import numpy as np

        from x17scan import atomic, provenance
        from x17scan.analysis import check_outdir
        from x17scan.errors import InputError
        from x17scan.parallel import check_scheduler_address, root_seed_sequence
        from x17scan.stats import validation as val

        if size not in val.SIZES:
            raise InputError(f"unknown size {size!r}", field="--size",
                             fix=f"use one of {', '.join(val.SIZES)}")
        root_seed_sequence(seed)
        if workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}", field="--workers",
                             fix="give 1 or more")
        if scheduler:
            check_scheduler_address(scheduler)
        groups = GROUPS if studies.strip() == "all" else tuple(
            g.strip() for g in studies.split(",") if g.strip())
        bad = [g for g in groups if g not in GROUPS]
        if bad or not groups:
            raise InputError(f"unknown study {bad[0] if bad else studies!r}", field="--studies",
                             fix=f"use all or a comma list of {', '.join(GROUPS)}")
        needed = tuple(s for s in val.STUDIES if any(s in val.STUDY_GROUPS[g] for g in groups))
        folder = check_outdir(out)

        t0 = time.perf_counter()
        run = val.run_validation(size, seed, studies=needed, workers=workers,
                                 scheduler=scheduler, fresh=fresh, progress=not quiet,
                                 checkpoint_dir=str(folder / ".checkpoints" / "validation"))
        elapsed = time.perf_counter() - t0
        summary = run.summary
        atomic.write_text(folder / "validation.json",
                          json.dumps(summary, indent=1, sort_keys=True) + "\n")
        with atomic.atomic_path(folder / "samples.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **val.as_samples_arrays(run))
        figures = write_figures(summary, run.samples, folder / "figures")
        info = provenance.run_info(elapsed_s=round(elapsed, 3), workers=workers,
                                   scheduler=scheduler)
        atomic.write_text(folder / "run.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
        tot = summary["diagnostics_total"]
        if tot["failed_fits"] or tot["excluded_pseudo_data_sets"]:
            from x17scan.analysis import warn_failed_fits

            warn_failed_fits({"failed_fits": tot["failed_fits"]})
        if not quiet:
            _print_summary(summary, folder, figures)


def _print_summary(summary: dict[str, Any], folder: Path, figures: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    t = Table(title=f"x17scan validate: {folder} (criteria in validation.json)")
    for c in ("check", "value", ""):
        t.add_column(c)
    for c in summary["checks"]:
        v, e = c["value"], c.get("err")
        if isinstance(v, list):
            text = ", ".join(f"{a:.3f} ± {b:.3f}" for a, b in zip(v, e, strict=True))
        elif e is not None:
            text = f"{v:.4f} ± {e:.4f}"
        else:
            text = f"{v:.3f}"
        if "predicted" in c:
            text += f" (predicted {c['predicted']:.4f})"
        t.add_row(c["check"], text, "[green]ok[/]" if c["passed"] else "[red]outside[/]")
    con.print(t)
    p = summary["passed"]
    tot = summary["diagnostics_total"]
    con.print(f"{p['n_passed']}/{p['n_checks']} checks passed; {tot['fits']:,} fits, "
              f"{tot['retried_fits']} retried, {tot['failed_fits']} failed. "
              f"Figures: {', '.join(str(f) for f in figures)}")


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def _save(fig: Any, path: Path, dpi: float | None = None) -> Path:
    from x17scan import atomic

    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **({"dpi": dpi} if dpi else {}))
    return path


def write_figures(summary: dict[str, Any], samples: dict[str, Any], outdir: Path,
                  dpi: float | None = None) -> list[Path]:
    """coverage.png, pvalues.png, global.png, pulls.png (those the summary has data for);
    ``dpi``: resolution (default the x17scan style's)."""
    import matplotlib.pyplot as plt

    from x17scan.report.style import figure_style

    written = []
    with figure_style():
        for name, fn, key in (("coverage", _fig_coverage, "coverage"),
                              ("pvalues", _fig_pvalues, "local_pvalues"),
                              ("global", _fig_global, "global"),
                              ("pulls", _fig_pulls, "pulls")):
            if key not in summary:
                continue
            fig = fn(summary, samples)
            written.append(_save(fig, outdir / f"{name}.png", dpi))
            plt.close(fig)
    return written


def _fig_coverage(summary: dict[str, Any], samples: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from x17scan.report.style import COLORS, label

    fig, ax = plt.subplots()
    st = summary["setup"]
    cl = st["cl"]
    rows = summary["coverage"]["rows"]
    strengths = st["strengths"]
    dx = 0.012
    for k, s in enumerate(strengths):
        r = [x for x in rows if x["strength"] == s]
        m = np.asarray([x["mass_MeV"] for x in r]) + (k - 1) * dx
        ax.errorbar(m, [x["cls"]["coverage"] for x in r], [x["cls"]["err"] for x in r],
                    fmt="os^"[k % 3], color=COLORS[k], ms=8,
                    label=f"CLs asymptotic, $g^2$ = {s:g} x median limit")
        if s == 1.0:
            ax.errorbar(m + 0.004, [x["clsb"]["coverage"] for x in r],
                        [x["clsb"]["err"] for x in r], fmt="o", mfc="none", color=COLORS[k],
                        ms=8, label=r"CL$_{s+b}$ asymptotic, 1 x median limit")
    if "coverage_toys" in summary:
        r = summary["coverage_toys"]["rows"]
        ax.errorbar(np.asarray([x["mass_MeV"] for x in r]) + 2 * dx,
                    [x["cls"]["coverage"] for x in r], [x["cls"]["err"] for x in r], fmt="D",
                    color=COLORS[3], ms=8,
                    label=f"CLs toys ({r[0]['toys_per_hypothesis']}/hyp.), 1 x median limit")
    ax.axhline(cl, color="k", ls="--", lw=1)
    ax.set_xlabel(r"$M_X$ [MeV]")
    ax.set_ylabel(f"coverage of the {cl:.0%} CL upper limit")
    lo = min(0.8, min(x["cls"]["coverage"] - 2 * x["cls"]["err"] for x in rows))
    ax.set_ylim(lo, 1.06)
    ax.set_xlim(min(st["masses"]) - 0.12, max(st["masses"]) + 0.12)
    ax.legend(loc="lower left", fontsize=11)
    label(ax, "Validation", rlabel="synthetic scan", simulation=True)
    return fig


def _fig_pvalues(summary: dict[str, Any], samples: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from x17scan.report.style import COLORS, label

    fig, ax = plt.subplots()
    lp = summary["local_pvalues"]
    for kind, ls in (("asymptotic", "-"), ("toys", ":")):
        for i, e in enumerate(lp.get(kind, [])):
            p = np.sort(np.asarray(samples[f"local_p_{kind}_{i}"]))
            ecdf = np.arange(1, p.size + 1) / p.size
            ax.plot(p, ecdf - p, ls=ls, color=COLORS[i], lw=2,
                    label=f"{kind}, {e['mass_MeV']:g} MeV (KS p = {e['ks_pvalue']:.2f})")
        if lp.get(kind):
            n = lp[kind][0]["n"]
            band = 1.358 / np.sqrt(n)
            asym = kind == "asymptotic"
            ax.axhspan(-band, band, color="0.82" if asym else "0.93", zorder=0.5 if asym else 0,
                       label=f"95% KS band, N = {n} ({kind})")
    ax.axhline(0.0, color="k", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"local $p$-value under $H_0$")
    ax.set_ylabel(r"ECDF$(p) - p$")
    ax.legend(loc="upper right", fontsize=10, ncol=1)
    lim = max(abs(np.asarray(ax.get_ylim())).max(), 0.05)
    ax.set_ylim(-1.25 * lim, 1.9 * lim)
    label(ax, "Validation", rlabel="synthetic scan", simulation=True)
    return fig


def _fig_global(summary: dict[str, Any], samples: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    from x17scan.report.style import COLORS, label
    from x17scan.stats.lee import gross_vitells
    from x17scan.stats.teststat import p0_asymptotic

    fig, ax = plt.subplots()
    g = summary["global"]
    ta, tb = np.asarray(samples["null_t"]), np.asarray(samples["null_ref_t"])
    max_a = np.where(ta > 0, ta * ta, 0.0).max(1)
    max_b = np.where(tb > 0, tb * tb, 0.0).max(1)
    u = np.linspace(0.0, max(16.0, max_a.max()), 400)
    z = np.sqrt(u)
    ax.plot(z, gross_vitells(u, g["upcrossings_u0_rice"], g["u0"]), color=COLORS[0], lw=2,
            label=f"Gross-Vitells, Rice $N_1$ = {g['rice_n1']:.2f}")
    ax.plot(z, gross_vitells(u, g["upcrossings_u0_toys"], g["u0"]), color=COLORS[1], lw=2,
            ls="--", label=f"Gross-Vitells, up-crossings of {max_b.size} toys")
    sb = (max_b[None, :] >= u[:, None]).mean(1)
    ax.step(z, sb, where="post", color=COLORS[2], lw=1.5,
            label=f"toys: fraction of {max_b.size} with max $q_0$ > u")
    ax.plot(z, p0_asymptotic(u), color="0.5", ls=":", lw=2, label="local p")
    rows = g["thresholds"]
    ax.errorbar([r["z_local"] for r in rows], [r["fraction"] for r in rows],
                [r["fraction_err"] for r in rows], fmt="ko", ms=7,
                label=f"pseudo-data: fraction of {rows[0]['n']} beyond threshold")
    ax.set_yscale("log")
    ax.set_ylim(max(0.3 / max_a.size, 1e-4), 1.5)
    ax.set_xlim(0.8, max(r["z_local"] for r in rows) + 0.5)
    ax.set_xlabel(r"threshold $Z_{local} = u^{1/2}$")
    ax.set_ylabel(r"$P(\max_M q_0 \geq u)$ = global $p$")
    ax.legend(loc="lower left", fontsize=11)
    label(ax, "Validation", rlabel="synthetic scan", simulation=True)
    return fig


def _fig_pulls(summary: dict[str, Any], samples: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.stats import norm

    from x17scan.report.style import COLORS, label

    fig, axes = plt.subplots(1, 3, figsize=(18, 6), sharey=True)
    rows = summary["pulls"]["rows"]
    titles = {"mu": r"$g^2$ at the fitted mass", "mu_at_true_mass": r"$g^2$ at the true mass",
              "mass": r"fitted mass $M_X$"}
    bins = np.linspace(-4, 4, 33)
    for ax, key in zip(axes, ("mu", "mu_at_true_mass", "mass"), strict=True):
        allp = []
        for i, r in enumerate(rows):
            p = np.asarray(samples[f"pull_{key}_m{i}"])
            allp.append(p)
            ax.hist(p, bins=bins, histtype="step", lw=1.5, color=COLORS[i],
                    label=f"{r['mass_MeV']:g} MeV: {r[key]['pull_mean']:+.2f} ± "
                          f"{r[key]['pull_mean_err']:.2f}, {r[key]['pull_width']:.2f}")
        n = sum(p.size for p in allp) / len(allp)
        x = np.linspace(-4, 4, 200)
        ax.plot(x, n * (bins[1] - bins[0]) * norm.pdf(x), "k--", lw=1.5, label="N(0, 1)")
        ax.set_xlabel(f"pull of {titles[key]}", fontsize=18)
        ax.legend(loc="upper left", fontsize=10, title="mean, width", title_fontsize=10)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)
    axes[0].set_ylabel("pseudo-data sets")
    label(axes[0], "Validation", rlabel="", simulation=True)
    fig.tight_layout()
    return fig

