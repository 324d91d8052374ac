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


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
