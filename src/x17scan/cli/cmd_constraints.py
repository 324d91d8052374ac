"""``x17scan constraints``: the exclusion plot with external limits, (g-2)_e and ATOMKI."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("constraints")(constraints)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def constraints(
    overlay: list[Path] = typer.Option(
        None, "--overlay", help="result.json of an x17scan analysis to draw (observed limit, "
        "expected band, best fit); repeat for several."),
    alpha: str = typer.Option(
        "rb", "--alpha", help="Delta a_e input(s) for the (g-2)_e bound, comma separated: rb "
        "(alpha from Rb 2020), cs (Cs 2018), rb2023, cs2023 (approximate). The first is filled."),
    g2_convention: str = typer.Option(
        "abs+3sig", "--g2-convention", help="(g-2)_e bound: abs+3sig (|Delta a|+3 sigma, "
        "DarkCast; default), onesided90, onesided95, 2sig, or none."),
    g2_band: bool = typer.Option(
        True, "--g2-band/--no-g2-band", help="Draw the (g-2)_e-favoured band (+-1, 2 sigma) "
        "of the inputs with Delta a > 0."),
    limits: str = typer.Option(
        "default", "--limits", help="External limits: default, all, electron (those that apply "
        "to an electron-only vector), none, or DarkCast names, comma separated."),
    atomki_band: str = typer.Option(
        "feng2016", "--atomki-band", help="ATOMKI-favoured coupling range(s): feng2016 "
        "(2e-4 < eps < 1.4e-3), seed ([0.63, 1.2]e-3, source unverified), both, none."),
    atomki_mass: str = typer.Option(
        "range", "--atomki-mass", help="Mass range of the ATOMKI box: 'range' (16.5-17.5 MeV) "
        "or 'combination' (+-2 sigma of the uncorrelated nuclear mass combination)."),
    mass: float = typer.Option(17.0, "--mass", help="Mass (MeV) at which to print the limits."),
    out: Path = typer.Option(Path("constraints"), "--out", help="Output folder."),
    formats: str = typer.Option("png,pdf", "--format", help="Figure formats, comma separated."),
) -> None:
    """Exclusion plot in (M_X, g_ve), 1-100 MeV, and its zoom on 16-18 MeV."""
    from rich.console import Console
    from rich.table import Table

    from x17scan.atomic import check_output_dir
    from x17scan.constraints import atomki as atk
    from x17scan.constraints import g2 as g2mod
    from x17scan.constraints import plot
    from x17scan.constraints.limits import load_limits
    from x17scan.constraints.overlay import load_overlay
    from x17scan.errors import InputError

    check_output_dir(out)
    lims = load_limits(limits)
    alphas = [g2mod.get_input(a).key for a in _split(alpha)] or [g2mod.DEFAULT_ALPHA]
    conv = None if g2_convention.strip().lower() == "none" else g2_convention.strip()
    if conv is not None and conv not in g2mod.CONVENTIONS:
        raise InputError(f"unknown (g-2) convention {g2_convention!r}", field="--g2-convention",
                         fix=f"use one of {', '.join(g2mod.CONVENTIONS)} or none")
    bands_all = atk.coupling_bands()
    choice = {"feng2016": ["feng2016"], "seed": ["seed"], "both": ["feng2016", "seed"],
              "none": []}
    if atomki_band not in choice:
        raise InputError(f"unknown ATOMKI band {atomki_band!r}", field="--atomki-band",
                         fix=f"use one of {', '.join(choice)}")
    nuclear = atk.combine(atk.load_measurements())
    if atomki_mass == "range":
        m_box, m_label = (16.5, 17.5), "16.5-17.5 MeV"
    elif atomki_mass == "combination":
        m_box = (nuclear.mass - 2 * nuclear.error, nuclear.mass + 2 * nuclear.error)
        m_label = rf"${nuclear.mass:.2f}\pm{2 * nuclear.error:.2f}$ MeV ($\pm2\sigma$)"
    else:
        raise InputError(f"unknown ATOMKI mass choice {atomki_mass!r}", field="--atomki-mass",
                         fix="use 'range' or 'combination'")
    fmts = _split(formats)
    bad = [f for f in fmts if f not in ("png", "pdf", "svg")]
    if bad or not fmts:
        raise InputError(f"unsupported figure format(s) {bad or formats!r}", field="--format",
                         fix="use png, pdf and/or svg")
    if not (1.0 <= mass <= 100.0):  # the range of the exclusion plot and its inputs
        raise InputError(f"mass {mass:g} MeV is outside the 1-100 MeV of the limits",
                         field="--mass", fix="give the mass in MeV, e.g. 17.0")
    overlays = [load_overlay(p) for p in (overlay or [])]

    spec = plot.PlotSpec(limits=list(lims.values()), g2_alphas=alphas, g2_convention=conv,
                         g2_band=g2_band, atomki_bands=[bands_all[k] for k in choice[atomki_band]],
                         atomki_mass=m_box, atomki_mass_label=m_label, nuclear=nuclear,
                         overlays=overlays)
    written = []
    written += plot.save_figure(plot.exclusion_figure(spec), out / "exclusion", fmts)
    written += plot.save_figure(plot.zoom_figure(spec), out / "exclusion_zoom", fmts)

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=150)
    table = Table(title=f"External limits at M = {mass:g} MeV (log-log interpolation)")
    for col in ("limit", "excluded eps", "excluded g_ve", "applies to e-only vector",
                "reference"):
        table.add_column(col, overflow="fold")
    for lim in lims.values():
        lo, hi = lim.eps_at(mass)
        if not lo == lo:
            continue
        rng = (f"{lo:.3g} - {hi:.3g}" if lim.two_sided else f"> {lo:.3g}")
        grng = (f"{lo * _e():.3g} - {hi * _e():.3g}" if lim.two_sided
                else f"> {lo * _e():.3g}")
        table.add_row(lim.name, rng, grng, lim.applicability, lim.reference)
    if conv is not None:
        for a in alphas:
            g = float(g2mod.gve_upper_limit(mass, a, conv))
            txt = "no bound" if g != g else f"> {g / _e():.3g}"
            gtxt = "no bound" if g != g else f"> {g:.3g}"
            inp = g2mod.get_input(a)
            table.add_row(f"(g-2)_e {inp.label}, {conv}", txt, gtxt, "yes (vector)",
                          f"{inp.alpha_reference}; {inp.a_e_exp_reference}")
    console.print(table)
    for p in written:
        console.print(f"wrote {p}")


def _e() -> float:
    from x17scan.physics.constants import E_CHARGE

    return E_CHARGE
