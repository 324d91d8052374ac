"""``x17scan export``: results in formats others re-use (HEPData, pyhf JSON)."""

from __future__ import annotations

from pathlib import Path

import typer

export_app = typer.Typer(help="Export an analysis result (HEPData record, pyhf workspace).",
                         no_args_is_help=True)


@export_app.command("hepdata")
def hepdata(
    result_dir: Path = typer.Argument(..., help="Output folder of `x17scan analyze`."),
    out: Path = typer.Option(None, "--out", "-o",
                             help="Record folder [default: RESULT_DIR/hepdata]."),
    validate: bool = typer.Option(True, "--validate/--no-validate",
                                  help="Check the record with hepdata-validator."),
) -> None:
    """Write a HEPData record: per-point table, observed limit with expected bands, local
    p-values (YAML files plus submission.tar.gz), validated by hepdata-validator."""
    from rich.console import Console

    from x17scan.analysis import load_result_dir
    from x17scan.report.hepdata import write_hepdata

    result, table = load_result_dir(result_dir)
    folder = write_hepdata(result, table, out or Path(result_dir) / "hepdata", validate=validate)
    Console().print(f"HEPData record written to {folder}/"
                    + (" (hepdata-validator: no errors, no warnings)" if validate else ""))


@export_app.command("pyhf")
def pyhf_export(
    result_dir: Path = typer.Argument(..., help="Output folder of `x17scan analyze`."),
    mass: float = typer.Option(None, "--mass", "-m", help="X17 mass hypothesis in MeV "
                               "[default: the mass of the largest excess]."),
    out: Path = typer.Option(None, "--out", "-o", help="Workspace file, or an existing folder "
                             "to write workspace_M<mass>.json in [default: RESULT_DIR/pyhf/]."),
) -> None:
    """Write the scan likelihood at one mass as a pyhf JSON workspace (plus an x17scan sidecar).

    One bin per used scan point; the profile method's Poisson model with its nuisances mapped
    onto pyhf modifiers (see x17scan.stats.pyhf_model for where the mapping is approximate).
    """
    from rich.console import Console

    from x17scan.analysis import load_result_dir
    from x17scan.errors import InputError
    from x17scan.report.pyhf_io import export_workspace, signal_model_of

    result, table = load_result_dir(result_dir)
    if mass is None:
        mass = (result.excess or {}).get("mass_MeV")
        if mass is None:
            raise InputError("the result has no excess mass to default to", field="--mass",
                             fix="give --mass in MeV")
    s = table.sqrt_s[table.used]
    if not (s.min() - 1.0 <= mass <= s.max() + 1.0):
        raise InputError(f"mass {mass} MeV is outside the scan ({s.min():.3f}-{s.max():.3f} MeV)",
                         field="--mass", fix="choose a mass within the scanned sqrt(s) range")
    name = f"workspace_M{mass:.3f}.json"
    path = Path(result_dir) / "pyhf" / name if out is None else out
    if path.is_dir():  # like cp: a folder receives the default file name
        path = path / name
    ws, side = export_workspace(table, signal_model_of(result), mass, path)
    Console().print(f"pyhf workspace written to {ws} (x17scan sidecar {side.name})")


import_app = typer.Typer(help="Import results of other tools (pyhf workspaces) as scan tables.",
                         no_args_is_help=True)


@import_app.command("pyhf")
def pyhf_import(
    workspace: Path = typer.Argument(..., help="Workspace written by `x17scan export pyhf`."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the scan table here (CSV, "
                             "Parquet or ROOT by suffix); default: print it."),
) -> None:
    """Read a pyhf workspace (and its x17scan sidecar) back into a scan table."""
    from rich.console import Console

    from x17scan.data import write_table
    from x17scan.report.pyhf_io import import_workspace

    table = import_workspace(workspace)
    if out is not None:
        write_table(table, out)
        Console().print(f"scan table ({len(table)} points) written to {out}")
    else:
        from x17scan.data.io import to_csv_string

        typer.echo(to_csv_string(table), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
