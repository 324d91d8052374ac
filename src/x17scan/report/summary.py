"""The one-screen terminal summary of an analysis (rich)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from x17scan.report.figures import z_text


def _fmt_g(g) -> str:
    return "—" if g is None or not np.isfinite(g) else f"{g:.3g}"


def summary_table(result, outdir: str | Path | None = None,
                  written: list[Path] | None = None):
    """A rich renderable summarising ``result`` (limits range, largest excess, fit quality);
    ``written``: the files written into ``outdir`` (named in the last line)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("method", result.method)
    if result.dataset:
        t.add_row("data set", result.dataset)
    obs = [v for v in result.limits.get("observed", []) if v is not None]
    masses = result.limits.get("mass_MeV", [])
    if obs:
        t.add_row(f"observed {100 * result.cl:.0f}% CL limit on g_ve",
                  f"{min(obs):.3g} – {max(obs):.3g}  for M_X = {masses[0]:.2f}–{masses[-1]:.2f} MeV"
                  f"  ({len(obs)}/{len(masses)} masses)")
    med = [v for v in result.expected.get("median", []) if v is not None]
    if med:
        t.add_row("expected (median)", f"{min(med):.3g} – {max(med):.3g}")
    ex = result.excess or {}
    if ex.get("mass_MeV") is not None:
        t.add_row("largest excess", f"M_X = {ex['mass_MeV']:.2f} MeV")
        t.add_row("  local", f"p = {ex['p_local']:.3g}  (Z {z_text(ex, 'z_local')}σ)")
        if ex.get("p_global") is not None:
            err = ex.get("p_global_err")
            e = f" ± {err:.2g}" if err else ""
            t.add_row("  global", f"p = {ex['p_global']:.3g}{e}  (Z {z_text(ex, 'z_global')}σ)")
    bf = result.bestfit or {}
    if bf.get("g") is not None and bf.get("mass_MeV") is not None:
        t.add_row("best fit", f"M_X = {bf['mass_MeV']:.3f} MeV, g_ve = {_fmt_g(bf['g'])}")
    d = result.diagnostics or {}
    if d.get("failed_fits"):
        t.add_row("[yellow]failed fits[/]",
                  f"[yellow]{d['failed_fits']}[/] (counted, see result.json)")
    if d.get("elapsed_s") is not None:
        t.add_row("time", f"{d['elapsed_s']:.1f} s")
    parts = [t]
    if outdir is not None:
        names = ["result.json", "figures", "report.html"]
        if written is not None:
            # files directly in outdir by name, anything deeper by its first folder
            names = list(dict.fromkeys(Path(w).relative_to(outdir).parts[0] for w in written
                                       if Path(w).is_relative_to(outdir)))
        parts.append(f"\n[dim]written to {outdir}/ ({', '.join(names)})[/]")
    return Panel(Group(*parts), title="[bold]x17scan analyze[/]", expand=False)
