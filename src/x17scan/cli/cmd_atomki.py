"""``x17scan atomki``: the ATOMKI masses, their combination, and the combination with a scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    app.command("atomki")(atomki)


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or x != x else round(float(x), nd)


def atomki(
    result: Path = typer.Option(
        None, "--result", help="result.json of a scan with bestfit.profile_mass (q vs M "
        "profiled over g): combine it with the nuclear masses."),
    correlation: str = typer.Option(
        "uncorrelated", "--correlation", help="Correlation model of the nuclear masses: "
        "uncorrelated (stat+syst; default), stat-only, nucleus, setup, common."),
    rho: float = typer.Option(
        1.0, "--rho", help="Correlation coefficient of the systematics for the nucleus, setup "
        "and common models."),
    dataset: str = typer.Option(
        "published", "--dataset", help="published (one mass per paper) or per-energy (4He 2021 "
        "and 12C 2022 per proton energy)."),
    he4_2019: str = typer.Option(
        "arxiv", "--he4-2019", help="4He 21.01 MeV value: arxiv (16.84) or epj (16.98); which "
        "is the reference is to be checked."),
    measurements: str = typer.Option(
        None, "--measurements", help="Explicit comma-separated measurement ids (overrides "
        "--dataset)."),
    interp: str = typer.Option("cubic", "--interp", help="Interpolation of the scan profile: "
                               "cubic (not-a-knot spline) or pchip (shape-preserving)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    out: Path = typer.Option(Path("atomki"), "--out", help="Output folder (figure, JSON)."),
    formats: str = typer.Option("png,pdf", "--format", help="Figure formats, comma separated."),
) -> None:
    """ATOMKI X17 masses: opening angles, combined mass (stated correlations), alternatives,
    and the combination with a scan's mass profile, with the (g-2)_e of its best-fit point."""
    import json

    from x17scan import atomic
    from x17scan.constraints import atomki as atk
    from x17scan.constraints import g2 as g2mod
    from x17scan.constraints import plot
    from x17scan.constraints.overlay import load_profile_mass
    from x17scan.errors import InputError

    atomic.check_output_dir(out)
    if interp not in ("cubic", "pchip"):
        raise InputError(f"unknown interpolation {interp!r}", field="--interp",
                         fix="use cubic or pchip")
    ids = [i for i in measurements.split(",") if i.strip()] if measurements else None
    ms = atk.load_measurements(dataset, he4_2019, ids)
    comb = atk.combine(ms, correlation, rho)
    fmts = [f.strip() for f in formats.split(",") if f.strip()]
    if not fmts or any(f not in ("png", "pdf", "svg") for f in fmts):
        raise InputError(f"unsupported figure format(s) {formats!r}", field="--format",
                         fix="use png, pdf and/or svg")

    doc: dict[str, Any] = {"measurements": [], "combination": {}, "alternatives": [],
                           "null_results": atk.null_results(),
                           "external_combinations": atk.external_combinations()}
    for m in ms:
        doc["measurements"].append({
            "id": m.id, "nucleus": m.nucleus, "transition": m.transition,
            "delta_E_MeV": m.delta_e, "mass_MeV": m.mass, "stat_MeV": m.stat,
            "syst_MeV": m.syst, "total_MeV": m.total, "error_MeV": _r(m.error),
            "theta_min_deg": _r(float(atk.opening_angle(m.mass, m.delta_e)), 2),
            "theta_min_recoil_deg": _r(float(atk.opening_angle(m.mass, m.delta_e,
                                                               m.final_nucleus)), 2),
            "reference": m.reference, "checks": list(m.checks)})
    doc["combination"] = {
        "mass_MeV": _r(comb.mass), "error_MeV": _r(comb.error), "chi2": _r(comb.chi2),
        "ndof": comb.ndof, "p_value": _r(comb.p_value), "correlation": comb.correlation,
        "rho": comb.rho, "assumptions": comb.assumptions,
        "weights": {i: _r(w) for i, w in zip(comb.ids, comb.weights, strict=True)}}
    for ds in atk.DATASETS:
        for corr in atk.CORRELATIONS:
            c = atk.combine(atk.load_measurements(ds, he4_2019), corr, rho)
            doc["alternatives"].append({
                "dataset": ds, "correlation": corr, "rho": rho if corr in
                ("nucleus", "setup", "common") else None, "mass_MeV": _r(c.mass),
                "error_MeV": _r(c.error), "chi2": _r(c.chi2), "ndof": c.ndof,
                "p_value": _r(c.p_value)})

    scan = None
    scan_label = "scan"
    if result is not None:
        mass, q, bestfit = load_profile_mass(result)
        scan = atk.combine_with_scan(mass, q, comb, interp=interp, source=str(result))
        scan_label = result.stem if result.stem != "result" else "scan"
        doc["scan"] = {
            "source": str(result), "scan_mass_MeV": _r(scan.scan_mass),
            "scan_err_low_MeV": _r(scan.scan_err_low), "scan_err_high_MeV":
            _r(scan.scan_err_high), "combined_mass_MeV": _r(scan.mass),
            "combined_err_low_MeV": _r(scan.err_low), "combined_err_high_MeV":
            _r(scan.err_high), "delta_chi2": _r(scan.delta_chi2), "ndof": 1,
            "p_value": _r(scan.p_value), "z": _r(scan.z),
            "scan_range_MeV": [_r(scan.grid[0]), _r(scan.grid[-1])], "notes": list(scan.notes)}
        bm, bg = bestfit.get("mass_MeV"), bestfit.get("g")
        if isinstance(bm, int | float) and isinstance(bg, int | float) and bm > 0 and bg >= 0:
            s = g2mod.point_summary(float(bm), float(bg))
            doc["g2_bestfit"] = {k: (v if not isinstance(v, float) else float(f"{v:.4g}"))
                                 for k, v in s.items() if not isinstance(v, dict)}
            for k in ("cs", "rb"):
                doc["g2_bestfit"][k] = {kk: (float(f"{vv:.4g}") if isinstance(vv, float)
                                             else vv) for kk, vv in s[k].items()}

    fig = plot.atomki_figure(ms, comb, scan, atk.external_combinations(), scan_label)
    written = plot.save_figure(fig, out / "atomki", fmts)
    atomic.write_text(out / "atomki.json", json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    written.append(out / "atomki.json")

    if as_json:
        typer.echo(json.dumps(doc, indent=1, ensure_ascii=False))
        return
    _print_tables(doc, written)


def _print_tables(doc: dict[str, Any], written: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=150)
    t = Table(title="ATOMKI X17 masses (MeV); theta_min from sin(theta/2) = "
              "sqrt(m^2-4m_e^2)/sqrt(E_X^2-4m_e^2)")
    for col in ("id", "transition", "dE", "m_X", "stat", "syst", "total", "theta_min",
                "w/ recoil", "weight", "reference", "to check"):
        t.add_column(col, overflow="fold")
    w = doc["combination"]["weights"]

    def f(x, nd=2):
        return "-" if x is None else f"{x:.{nd}f}"

    for m in doc["measurements"]:
        t.add_row(m["id"], m["transition"], f"{m['delta_E_MeV']:g}", f(m["mass_MeV"]),
                  f(m["stat_MeV"]), f(m["syst_MeV"]), f(m["error_MeV"]),
                  f(m["theta_min_deg"], 1), f(m["theta_min_recoil_deg"], 1), f(w[m["id"]], 3),
                  m["reference"], str(len(m["checks"])))
    console.print(t)
    c = doc["combination"]
    console.print(f"[bold]combined mass[/]: {c['mass_MeV']:.3f} ± {c['error_MeV']:.3f} MeV, "
                  f"chi2/ndof = {c['chi2']:.2f}/{c['ndof']}, p = {c['p_value']:.3g} "
                  f"({c['assumptions']})")
    a = Table(title="alternatives (data set x correlation model)")
    for col in ("data set", "correlation", "rho", "m_X", "error", "chi2/ndof", "p"):
        a.add_column(col)
    for r in doc["alternatives"]:
        a.add_row(r["dataset"], r["correlation"], "-" if r["rho"] is None else f"{r['rho']:g}",
                  f"{r['mass_MeV']:.3f}", f"{r['error_MeV']:.3f}",
                  f"{r['chi2']:.2f}/{r['ndof']}", f"{r['p_value']:.3g}")
    console.print(a)
    for e in doc["external_combinations"]:
        console.print(f"not reproduced here: {e['reference']}: {e['mass_MeV']} ± "
                      f"{e['total_MeV']} MeV ({e['note']})")
    for n in doc["null_results"]:
        console.print(f"null result: {n['transition']}: {n['result']} ({n['reference']})")
    if "scan" in doc:
        s = doc["scan"]

        def pm(v, lo, hi):
            if lo is None or hi is None:
                return f"{v:.3f} MeV (a Δq = 1 crossing lies outside the scan range)"
            return f"{v:.3f} +{hi:.3f} -{lo:.3f} MeV"

        alone = pm(s["scan_mass_MeV"], s["scan_err_low_MeV"], s["scan_err_high_MeV"])
        both = pm(s["combined_mass_MeV"], s["combined_err_low_MeV"], s["combined_err_high_MeV"])
        console.print(f"[bold]scan[/] ({s['source']}): m_X = {alone}")
        console.print(f"[bold]scan + nuclear[/]: m_X = {both}; "
                      f"consistency Δχ² = {s['delta_chi2']:.2f} (1 dof), p = {s['p_value']:.3g}, "
                      f"z = {s['z']:.2f}")
        for note in s["notes"]:
            console.print(f"note: {note}")
    if "g2_bestfit" in doc:
        g = doc["g2_bestfit"]
        cs, rb = g["cs"], g["rb"]
        console.print(f"[bold](g-2)_e of the best-fit point[/] (M = {g['mass_MeV']:.3f} MeV, "
                      f"g_ve = {g['gve']:.3g}): Δa_V = {g['delta_a_V']:.3g}; pull vs "
                      f"Δa_e(Cs) = {cs['pull']:+.2f}σ (SM alone {cs['pull_sm']:+.2f}σ), "
                      f"vs Δa_e(Rb) = {rb['pull']:+.2f}σ (SM alone {rb['pull_sm']:+.2f}σ)")
    for p in written:
        console.print(f"wrote {p}")
