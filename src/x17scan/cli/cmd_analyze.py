"""``x17scan analyze``: the main job."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("analyze", no_args_is_help=False)
    def analyze(
        dataset: str = typer.Option("padme-run3", "--dataset", "-d",
                                    help="Shipped data set to analyse (see `x17scan data list`)."),
        scan_table: Path = typer.Option(None, "--scan-table", "-t",
                                        help="Analyse this scan table (CSV, Parquet or ROOT) "
                                        "instead of a shipped data set."),
        method: str = typer.Option("profile", "--method", "-m",
                                   help="Statistical method: profile (default) or padme-run3."),
        toys: int = typer.Option(None, "--toys", help="Toys per hypothesis (method default "
                                 "if not given)."),
        pseudo_experiments: int = typer.Option(None, "--pseudo-experiments",
                                               help="Background-only pseudo-experiments for the "
                                               "expected band (method default if not given)."),
        asymptotic: bool = typer.Option(False, "--asymptotic",
                                        help="Use asymptotic formulae instead of toys."),
        seed: int = typer.Option(1, "--seed", help="Root random seed (results are "
                                 "bit-identical for the same seed)."),
        mass_grid: str = typer.Option(None, "--mass-grid",
                                      help="Masses MIN:MAX:STEP in MeV "
                                      "[default: 16.22:17.72:0.02]."),
        cl: float = typer.Option(0.90, "--cl", help="Confidence level of the upper limits."),
        lineshape: str = typer.Option(None, "--lineshape",
                                      help="Signal line shape for the profile method: voigt "
                                      "(PADME's effective model), atomic, sto or free."),
        method_option: list[str] = typer.Option(
            None, "--method-option", "-M",
            help="Method option KEY=VALUE (repeatable), e.g. padme-run3: g_grid=adaptive, "
            "quantiles=exact, pseudo_bkg=scan_lines; profile: background=constrained, "
            "lee_window=[16.6,17.2]."),
        out: Path = typer.Option(Path("x17scan-out"), "--out", "-o", help="Output folder."),
        workers: int = typer.Option(1, "--workers", "-j", help="Local worker processes."),
        scheduler: str = typer.Option(None, "--scheduler",
                                      help="Dask scheduler address tcp://HOST:PORT."),
        fresh: bool = typer.Option(False, "--fresh", help="Discard checkpoints of an earlier, "
                                   "interrupted run instead of resuming it."),
        html: bool = typer.Option(True, "--html/--no-html", help="Write report.html."),
        figures: bool = typer.Option(True, "--figures/--no-figures",
                                     help="Write the PNG figures under figures/."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary."),
    ) -> None:
        """Analyse a scan: CLs limits on g_ve vs M_X, expected bands, local/global significance.

        Writes result.json, scan_table.csv, run.json, figures/ and report.html to --out.
        """
        from rich.console import Console

        from x17scan import analysis
        from x17scan.report.summary import summary_table

        method_options = analysis.parse_method_options(method_option)
        if lineshape is not None:
            if method != "profile":
                from x17scan.errors import InputError

                raise InputError("--lineshape only applies to the profile method",
                                 field="--lineshape",
                                 fix="drop it, or use --method profile")
            method_options["lineshape"] = lineshape
        job = analysis.prepare(dataset=dataset, scan_table=scan_table, method=method,
                               mass_grid=mass_grid, cl=cl, toys=toys,
                               pseudo_experiments=pseudo_experiments, asymptotic=asymptotic,
                               seed=seed, workers=workers, scheduler=scheduler, outdir=out,
                               fresh=fresh, progress=not quiet, method_options=method_options)
        result, written = analysis.execute(job, html=html, figures=figures)
        if not quiet:
            Console().print(summary_table(result, out, written))
