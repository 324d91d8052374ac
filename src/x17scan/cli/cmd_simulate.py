"""``x17scan simulate``: fast simulation of a resonance scan (events and scan tables)."""

from __future__ import annotations

from pathlib import Path

import typer

STUDIES = ("offres", "padme-shape")


def register(app: typer.Typer) -> None:
    @app.command("simulate", no_args_is_help=True)
    def simulate(
        out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
        plan: str = typer.Option("run3", "--plan", "-p",
                                 help="Scan plan: a shipped name (run3) or a TOML file."),
        study: str = typer.Option(None, "--study",
                                  help="Run a validation study instead: offres (off-resonance "
                                  "stability, beam background) or padme-shape (B and "
                                  "efficiency vs PADME's full simulation)."),
        signal_mass: float = typer.Option(None, "--signal-mass",
                                          help="Inject an X17 of this mass (MeV)."),
        gve: float = typer.Option(5e-4, "--gve", help="Coupling g_ve of the injected X17."),
        spin: str = typer.Option("vector", "--spin",
                                 help="vector, axial, scalar or pseudoscalar."),
        events_per_point: int = typer.Option(
            None, "--events-per-point", "-n",
            help="MC events per point and process (B and efficiency statistics) "
            "[default: 100000; 200000 for studies]."),
        pot_fraction: float = typer.Option(1.0, "--pot-fraction",
                                           help="Simulated PoT as a fraction of the plan's."),
        motion: str = typer.Option("atomic", "--motion",
                                   help="Electron motion: atomic (HF), sto or voigt."),
        nlo: bool = typer.Option(True, "--nlo/--lo",
                                 help="Apply PADME's NLO/LO K factors to Bhabha and gamma gamma."),
        pileup: bool = typer.Option(True, "--pileup/--no-pileup", help="Bunch pile-up."),
        selection: str = typer.Option("padme-run3-inferred", "--selection",
                                      help="Selection preset or TOML file."),
        detector: str = typer.Option(
            None, "--detector",
            help="Detector configuration: run3 (data-like energy resolution), run3-padme-mc "
            "(the resolution of PADME's simulated clusters) or a TOML file [default: run3; "
            "run3-padme-mc for --study padme-shape]."),
        write_events: str = typer.Option("selected", "--write-events",
                                         help="none, selected (two-cluster) or all."),
        fmt: str = typer.Option("parquet", "--format", help="Event files: parquet or root."),
        chunk_size: int = typer.Option(50_000, "--chunk-size", help="Events per task."),
        seed: int = typer.Option(1, "--seed", help="Root random seed."),
        workers: int = typer.Option(1, "--workers", "-j", help="Local worker processes."),
        scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
        fresh: bool = typer.Option(False, "--fresh",
                                   help="Discard checkpoints of an interrupted run."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    ) -> None:
        """Simulate a scan: events for every point (Bhabha, gamma gamma, beam halo, X17 signal),
        detector response, reconstruction and selection; writes scan_table.parquet (two-cluster),
        scan_table_ee.parquet, scan_table_gg.parquet, summary.parquet, events and
        simulation.json to --out."""
        from x17scan.errors import InputError
        from x17scan.parallel import root_seed_sequence
        from x17scan.sim.pipeline import SimOptions

        root_seed_sequence(seed)
        if study is not None and study not in STUDIES:
            raise InputError(f"unknown study {study!r}", field="--study",
                             fix=f"use one of {', '.join(STUDIES)}")
        if workers is not None and workers < 1:
            raise InputError(f"need at least one worker, got {workers}", field="--workers",
                             fix="pass --workers 1 or more")
        from x17scan.atomic import check_output_dir

        check_output_dir(out)
        if events_per_point is not None and events_per_point < 1:
            raise InputError(f"events per point = {events_per_point} is not positive",
                             field="--events-per-point", fix="give e.g. 100000, or leave it out")
        n = events_per_point if events_per_point is not None else (
            200_000 if study else 100_000)
        if detector is None:
            detector = "run3-padme-mc" if study == "padme-shape" else "run3"
        opts = SimOptions(plan=plan, events_per_point=n, pot_fraction=pot_fraction,
                          signal_mass=signal_mass, gve=gve, spin=spin, motion=motion, nlo=nlo,
                          pileup=pileup, chunk_size=chunk_size, seed=seed, detector=detector,
                          selection=selection, write_events=write_events, format=fmt)
        if study is not None:
            from x17scan.sim import studies

            runner = {"offres": studies.offres, "padme-shape": studies.padme_shape}[study]
            report = runner(opts, out, workers=workers, scheduler=scheduler, fresh=fresh,
                            progress=not quiet)
            if not quiet:
                typer.echo(report)
            return
        from x17scan.sim.pipeline import simulate as run

        res = run(opts, out, workers=workers, scheduler=scheduler, fresh=fresh,
                  progress=not quiet)
        if not quiet:
            from rich.console import Console
            from rich.table import Table

            t = Table(title=f"x17scan simulate {res.plan.name}: {out}")
            for c in ("point", "kind", "sqrt(s)", "B/PoT (2cl)", "eps (2cl)", "n_obs"):
                t.add_column(c)
            s = res.summary
            for _, r in s.iterrows():
                t.add_row(str(r["label"]), str(r["kind"]), f"{r['sqrt_s']:.4f}",
                          f"{r['bkg_2cl']:.4g}", f"{r.get('eff_2cl', float('nan')):.4f}",
                          f"{r['nobs_2cl']:.0f}")
            Console().print(t)
            Console().print(f"{res.info['events_generated']:,} events in "
                            f"{res.info['wall_seconds']:.1f} s")
