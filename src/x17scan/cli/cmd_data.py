"""``x17scan data``: shipped scan tables, PADME import, format conversion."""

from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(
    name="data",
    help="Scan tables: list and show the shipped data sets, import PADME's ROOT files, "
    "convert between CSV, Parquet and ROOT.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _console():
    from rich.console import Console

    c = Console(highlight=False)
    # tables of 12 columns need more than the 80 columns rich assumes off a terminal
    return c if c.is_terminal else Console(highlight=False, width=160)


@data_app.command("list")
def list_cmd() -> None:
    """List the shipped data sets."""
    from rich.table import Table

    from x17scan.data.datasets import list_datasets

    table = Table(title="shipped scan tables", show_lines=False)
    for col in ("name", "points", "used", "observable", "description", "provenance"):
        table.add_column(col, overflow="fold")
    for d in list_datasets():
        table.add_row(d.name, str(d.points), str(d.used), d.observable, d.description,
                      str(d.provenance))
    _console().print(table)


@data_app.command("show")
def show(
    name: str = typer.Argument(..., help="Shipped data set (see `x17scan data list`) or a "
                               "scan-table file (.csv, .parquet, .root)."),
    all_points: bool = typer.Option(False, "--all", "-a",
                                    help="Show every point, not only those used in the fit."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole table (all points, "
                                 "metadata, units, R and sigma_rel) as JSON."),
) -> None:
    """Show a scan table: the points with R = n_obs/(PoT B) and sigma_rel, and its provenance."""
    import json

    from x17scan.data.datasets import load, names, provenance_of
    from x17scan.data.io import to_json_dict

    t = load(name)
    if as_json:
        d = to_json_dict(t)
        d["derived"] = {"ratio": t.ratio.tolist(),
                        "ratio_rel_err": [None if not x < float("inf") else x
                                          for x in t.ratio_rel_err.tolist()]}
        typer.echo(json.dumps(d, indent=1))
        return
    console = _console()
    console.print(_points_table(t, all_points))
    console.print(_summary(t))
    if name in names():
        console.print(f"provenance: {provenance_of(name)}")


def _points_table(t, all_points: bool):
    import numpy as np
    from rich.table import Table

    rows = np.arange(len(t)) if all_points else np.flatnonzero(t.used)
    title = (f"{t.name}: {len(rows)} of {len(t)} points"
             + ("" if all_points else " (used in the fit; --all for every point)"))
    table = Table(title=title)
    heads = ("row", "period", "part", "used", "sqrt(s) MeV", "E_beam MeV", "n_obs", "PoT",
             "B per PoT", "eps", "R", "sigma_rel %")
    for h in heads:
        table.add_column(h, justify="right")
    r, rel = t.ratio, t.ratio_rel_err
    for i in rows:
        table.add_row(
            str(i), str(t.period[i]), str(t.scan_part[i]), "yes" if t.used[i] else "no",
            f"{t.sqrt_s[i]:.4f}", f"{t.e_beam[i]:.2f}", f"{t.n_obs[i]:.1f}",
            f"{t.pot[i]:.4e}", f"{t.bkg_per_pot[i]:.4e}", f"{t.sig_eff[i]:.5f}",
            f"{r[i]:.5f}", f"{100 * rel[i]:.3f}",
        )
    return table


def _summary(t) -> str:
    m = t.meta
    u = t.used
    lines = [
        f"[bold]{t.name}[/] observable {t.observable}: {len(t)} points, {t.n_used} used; "
        f"sqrt(s) {t.sqrt_s.min():.4f}-{t.sqrt_s.max():.4f} MeV; "
        f"sum PoT (used) {t.pot[u].sum():.5g}; sum n_obs (used) {t.n_obs[u].sum():.1f}",
    ]
    for key in ("description", "source", "citation", "licence", "selection"):
        if key in m:
            lines.append(f"{key}: {m[key]}")
    syst = m.get("syst_added_in_quadrature")
    if syst:
        lines.append(f"systematic terms added in quadrature: {syst}")
    for p in m.get("patches", []) or []:
        if isinstance(p, dict) and "sig_eff_patched" in p:
            lines.append(f"patch: period {p.get('period')} sig_eff {p.get('sig_eff_file')} -> "
                         f"{p['sig_eff_patched']:.7f} ({p.get('what', '')})")
        else:
            lines.append(f"patch: {p}")
    from rich.markup import escape

    return "\n".join([lines[0]] + [escape(x) for x in lines[1:]])


@data_app.command("import-padme")
def import_padme_cmd(
    directory: Path = typer.Argument(..., help="Folder with PADME's completeAnalysis/ and "
                                     "input/ ROOT files (repository layout)."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the table here (.csv, .parquet "
                             "or .root, by suffix). Default: only print a summary."),
    syst_pot: float = typer.Option(0.003, "--syst-pot", help="Relative error added in "
                                   "quadrature to the PoT errors (PADME: 0.003; 0: file errors)."),
    syst_bkg: float = typer.Option(0.003, "--syst-bkg", help="Relative error added in "
                                   "quadrature to the background errors (PADME: 0.003)."),
) -> None:
    """Import PADME's Run III ROOT files into a scan table (sub-scan rule, eps_0 patch, 0.3 %
    systematic terms, checks of every quirk)."""
    from x17scan.data.io import format_of, write_table
    from x17scan.data.padme import import_padme

    if out is not None:
        from x17scan.atomic import check_output_file

        format_of(out)  # refuse a bad suffix before any work
        check_output_file(out, "--out")
    t = import_padme(directory, syst_pot=syst_pot, syst_bkg=syst_bkg)
    console = _console()
    console.print(_summary(t))
    if "stored_scan_part_flags" in t.meta:
        from rich.markup import escape

        console.print(escape(f"note: {t.meta['stored_scan_part_flags']}"))
    console.print(f"inputs: {len(t.meta.get('input_sha256', {}))} files, commit "
                  f"{t.meta.get('source_commit')}")
    if out is not None:
        write_table(t, out)
        console.print(f"wrote {out}")


@data_app.command("convert")
def convert(
    source: str = typer.Argument(..., help="Scan-table file (.csv, .parquet, .root) or a "
                                 "shipped data set name."),
    out: Path = typer.Argument(..., help="Output file; the format follows its suffix."),
) -> None:
    """Convert a scan table between CSV, Parquet and ROOT (metadata and units kept)."""
    from x17scan.atomic import check_output_file
    from x17scan.data.datasets import load
    from x17scan.data.io import format_of, write_table

    format_of(out)
    check_output_file(out, "OUT")
    t = load(source)
    write_table(t, out)
    typer.echo(f"wrote {out} ({len(t)} points, {t.n_used} used)")
