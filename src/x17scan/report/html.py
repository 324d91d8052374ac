"""A self-contained HTML report of an analysis (opens offline: figures embedded as data URIs)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from x17scan import atomic
from x17scan.report.figures import z_text

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.86em}td,th{padding:.2em .6em;border-bottom:1px solid #eee;
text-align:right}th{background:#f4f4f4;position:sticky;top:0}td.l,th.l{text-align:left}
tr.unused td{color:#999}.figs{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.figs figure{margin:0}.figs img{width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
.kv td{text-align:left}.muted{color:#777;font-size:.85em}pre{background:#f7f7f7;padding:.8em;
overflow:auto;font-size:.8em}
"""

_CAPTIONS = {
    "ratio": "R = N / (PoT · B) per scan point with the background-only fit and the best "
             "signal-plus-background fit; bottom: pulls with respect to the background-only fit.",
    "local_p": "Local p-value of the background-only hypothesis versus the X17 mass.",
    "limits": "Upper limit on g_ve versus M_X with the expected median and ±1σ/±2σ bands.",
    "cls_scan": "CLs versus g_ve at the mass of the largest excess.",
    "control": "Control regions: stability of R with constant and linear fits.",
}


def _fig_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fmt(v: Any, spec: str = ".4g") -> str:
    if v is None:
        return "—"
    if isinstance(v, float | np.floating):
        return "—" if not np.isfinite(v) else format(float(v), spec)
    return html.escape(str(v))


def _summary_rows(result) -> list[tuple[str, str]]:
    rows = [("method", result.method), ("data set", result.dataset or "—"),
            ("confidence level", f"{100 * result.cl:.0f} %")]
    obs = [v for v in result.limits.get("observed", []) if v is not None]
    if obs:
        m = result.limits["mass_MeV"]
        rows.append(("observed limit on g_ve",
                     f"{min(obs):.3g} – {max(obs):.3g} for M_X {m[0]:.2f}–{m[-1]:.2f} MeV"))
    med = [v for v in result.expected.get("median", []) if v is not None]
    if med:
        rows.append(("expected limit (median)", f"{min(med):.3g} – {max(med):.3g}"))
    ex = result.excess or {}
    if ex.get("mass_MeV") is not None:
        rows.append(("largest excess at", f"M_X = {ex['mass_MeV']:.2f} MeV"))
        rows.append(("local significance",
                     f"p = {_fmt(ex.get('p_local'), '.3g')}, Z {z_text(ex, 'z_local')}σ"))
        if ex.get("p_global") is not None:
            rows.append(("global significance",
                         f"p = {_fmt(ex.get('p_global'), '.3g')}, Z {z_text(ex, 'z_global')}σ"))
    bf = result.bestfit or {}
    if bf.get("mass_MeV") is not None and bf.get("g") is not None:
        rows.append(("best fit", f"M_X = {bf['mass_MeV']:.3f} MeV, g_ve = {bf['g']:.3g}"))
    return rows


def _points_table(table) -> str:
    cols = ["period", "scan_part", "used", "sqrt_s", "e_beam", "n_obs", "pot", "pot_err",
            "bkg_per_pot", "bkg_per_pot_err", "sig_eff", "sig_eff_err"]
    head = "".join(f"<th>{c}</th>" for c in cols) + "<th>R</th><th>σ_R/R</th>"
    rel = np.sqrt((table.pot_err / table.pot) ** 2 + 1 / np.maximum(table.n_obs, 1e-300)
                  + (table.bkg_per_pot_err / table.bkg_per_pot) ** 2)
    body = []
    for i in range(len(table)):
        cells = []
        for c in cols:
            v = getattr(table, c)[i]
            spec = ".6g" if c in ("sqrt_s", "e_beam") else ".5g"
            cells.append(f"<td>{_fmt(v.item() if hasattr(v, 'item') else v, spec)}</td>")
        cells.append(f"<td>{table.ratio[i]:.5f}</td><td>{100 * rel[i]:.2f} %</td>")
        cls = "" if table.used[i] else ' class="unused"'
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(result, table=None, run_info: dict[str, Any] | None = None) -> str:
    """The report as one HTML string (figures embedded, no external resources)."""
    import matplotlib.pyplot as plt

    from x17scan.report.figures import _PLOTTERS
    from x17scan.report.style import figure_style

    figs = []
    with figure_style():
        for name, (plotter, available) in _PLOTTERS.items():
            if available(result):
                fig = plotter(result)
                figs.append((name, _fig_data_uri(fig)))
                plt.close(fig)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>x17scan report: {html.escape(result.dataset or '')} "
             f"({html.escape(result.method)})</title><style>{_CSS}</style></head><body>",
             "<h1>x17scan analysis report</h1>",
             f"<p class='muted'>method <b>{html.escape(result.method)}</b> on "
             f"<b>{html.escape(result.dataset or 'scan table')}</b></p>",
             "<h2>Summary</h2><table class='kv'>"]
    parts += [f"<tr><td class='l'><b>{html.escape(k)}</b></td><td class='l'>{html.escape(v)}"
              "</td></tr>" for k, v in _summary_rows(result)]
    parts.append("</table>")
    if figs:
        parts.append("<h2>Figures</h2><div class='figs'>")
        for name, uri in figs:
            parts.append(f"<figure id='fig-{name}'><img alt='{name}' src='{uri}'>"
                         f"<figcaption>{html.escape(_CAPTIONS.get(name, name))}</figcaption>"
                         "</figure>")
        parts.append("</div>")
    if table is not None:
        parts.append(f"<h2>Scan points ({len(table)}, {table.n_used} used)</h2>")
        parts.append(_points_table(table))
    lim = result.limits
    if lim.get("mass_MeV"):
        parts.append("<h2>Limits</h2><table><thead><tr><th>M_X [MeV]</th><th>observed</th>")
        ex = result.expected
        same = ex.get("mass_MeV") == lim.get("mass_MeV")
        if same:
            parts.append("<th>−2σ</th><th>−1σ</th><th>median</th><th>+1σ</th><th>+2σ</th>")
        loc = result.local if result.local.get("mass_MeV") == lim.get("mass_MeV") else {}
        if loc:
            parts.append("<th>local p</th>")
        parts.append("</tr></thead><tbody>")
        for i, m in enumerate(lim["mass_MeV"]):
            row = f"<tr><td>{m:.3f}</td><td>{_fmt(lim['observed'][i], '.4g')}</td>"
            if same:
                row += "".join(f"<td>{_fmt(ex[k][i], '.4g')}</td>"
                               for k in ("minus2", "minus1", "median", "plus1", "plus2"))
            if loc:
                row += f"<td>{_fmt(loc['p'][i], '.3g')}</td>"
            parts.append(row + "</tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Configuration and versions</h2>")
    config = {"options": result.options, "provenance": result.provenance,
              "diagnostics": result.diagnostics, "run": run_info or {}}
    parts.append(f"<pre>{html.escape(json.dumps(config, indent=1, sort_keys=True, default=str))}"
                 "</pre>")
    parts.append("<p class='muted'>Generated by x17scan. Self-contained: figures are embedded."
                 "</p></body></html>")
    return "\n".join(parts)


def write_html(result, table, outdir: str | Path, run_info: dict[str, Any] | None = None) -> Path:
    """Write ``outdir/report.html`` atomically and return its path."""
    path = Path(outdir) / "report.html"
    atomic.write_text(path, render_html(result, table, run_info))
    return path
