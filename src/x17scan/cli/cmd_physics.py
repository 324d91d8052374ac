"""``x17scan physics``: the physics core's numbers (widths, yields, cross sections, (g-2),
kinematics, line shapes) as rich tables or JSON, the line-shape figure, a compact report."""

from __future__ import annotations

from pathlib import Path

import typer

physics_app = typer.Typer(
    name="physics",
    help="Physics quantities: widths, signal yields and line shapes, background cross "
    "sections, (g-2), kinematics; a compact physics report.",
    no_args_is_help=True,
)

_MASS_HELP = "Boson mass M_X (MeV)."
_G_HELP = "Coupling to electrons g (g_ve for a vector)."
_SPINS = ("vector", "axial", "scalar", "pseudoscalar")
_LINESHAPES = ("free", "atomic", "sto", "voigt")
_LABELS = {"free": "free electrons (Gaussian BES)", "atomic": "atomic e$^-$ (HF, xraylib)",
           "sto": "atomic e$^-$ (Slater orbitals)", "voigt": "PADME Voigt ($\\gamma_L$ = 1.72 MeV)"}


def register(app: typer.Typer) -> None:
    app.add_typer(physics_app, name="physics")


# --- helpers ---------------------------------------------------------------------------------
def _err(message: str, field: str, fix: str):
    from x17scan.errors import InputError

    return InputError(message, field=field, fix=fix)


def _check_mass(mass: float) -> float:
    from x17scan.physics.constants import M_E

    if not mass > 2 * M_E or mass != mass or mass == float("inf"):
        raise _err(f"mass must be a finite number > 2 m_e = {2 * M_E:.4f} MeV, got {mass}",
                   "--mass", "give M_X in MeV, e.g. --mass 17")
    return mass


def _check_g(g: float) -> float:
    if not (0 <= g < float("inf")):
        raise _err(f"coupling must be a finite number >= 0, got {g}", "--gve",
                   "e.g. --gve 5e-4")
    return g


def _check_bes(bes: float) -> float:
    if not (0 < bes < 0.5):
        raise _err(f"relative beam-energy spread must lie in (0, 0.5), got {bes}", "--bes",
                   "e.g. --bes 0.0025 for 0.25 %")
    return bes


def _check_choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise _err(f"unknown value {value!r}; allowed: {', '.join(allowed)}", field,
                   f"use one of {', '.join(allowed)}")
    return value


def _check_sqrts(values: list[float]) -> list[float]:
    from x17scan.physics.constants import M_E

    for w in values:
        if not 2 * M_E < w < float("inf"):
            raise _err(f"sqrt(s) must be a finite number > 2 m_e = {2 * M_E:.4f} MeV, got {w}",
                       "--sqrt-s", "give sqrt(s) in MeV, e.g. --sqrt-s 17")
    return values


def _check_geometry(r_max: float, distance: float) -> None:
    if not 0 < r_max < float("inf"):
        raise _err(f"r_max must be > 0 mm, got {r_max}", "--r-max", "e.g. --r-max 270")
    if not 0 < distance < float("inf"):
        raise _err(f"distance must be > 0 mm, got {distance}", "--distance",
                   "e.g. --distance 3640.4")


def _console():
    from rich.console import Console

    c = Console(highlight=False)
    return c if c.is_terminal else Console(highlight=False, width=140)


def _echo_json(obj) -> None:
    import json

    typer.echo(json.dumps(obj, indent=1, default=float))


def _table(title: str, columns: list[str], rows: list[list]):
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c not in ("quantity", "line shape", "spin") else "left")
    for r in rows:
        t.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in r])
    return t


# --- computations shared by commands and report ------------------------------------------------
def _yield_summary(mass: float, g: float, bes: float, lineshape: str, spin: str,
                   gamma_l: float, a_peak: float, padme: bool) -> dict:
    import numpy as np

    from x17scan.physics import integrated_yield, sqrt_s
    from x17scan.physics.lineshape import e_res_model, kernel_fwhm, kernel_peak

    kw = {"gamma_l": gamma_l, "padme_convention": padme}
    e_pk, k_pk = kernel_peak(mass, bes, lineshape, **kw)
    if lineshape == "voigt":
        from x17scan.physics.resonance import integrated_xsec_s

        integ = g * g * a_peak * float(integrated_xsec_s(mass, 1.0, spin)
                                       / integrated_xsec_s(mass, 1.0, "vector"))
    else:
        integ = float(integrated_yield(mass, g, spin))
    er = float(e_res_model(mass, padme))
    return {
        "mass_mev": mass, "g": g, "spin": spin, "bes": bes, "lineshape": lineshape,
        "e_res_mev": er, "sqrt_s_at_e_res_mev": float(sqrt_s(er)),
        "e_peak_mev": e_pk, "peak_yield_per_pot": integ * k_pk,
        "peak_yield_per_pot_per_g2": (integ * k_pk / (g * g)) if g > 0 else float(np.nan),
        "integrated_yield_mev_per_pot": integ,
        "fwhm_mev": kernel_fwhm(mass, bes, lineshape, **kw),
        "target": "diamond, 100 um",
    }


def _xsec_summary(w: float, r_max: float, distance: float) -> dict:
    from x17scan.physics import acceptance_cos, e_beam
    from x17scan.physics.constants import M_E
    from x17scan.physics.xsec import (
        k_factor,
        sigma_gg,
        sigma_gg_total_dirac,
        sigma_in_acceptance,
    )

    return {
        "sqrt_s_mev": w, "e_beam_mev": float(e_beam(w)),
        "c_ee": float(acceptance_cos(w, r_max, distance, mass=M_E)),
        "c_gg": float(acceptance_cos(w, r_max, distance, mass=0.0)),
        "sigma_bhabha_acc_mb": float(sigma_in_acceptance(w, r_max, distance, "bhabha")),
        "sigma_gg_acc_mb": float(sigma_in_acceptance(w, r_max, distance, "gg")),
        "sigma_gg_total_mb": float(sigma_gg(w, 1.0)),
        "sigma_gg_total_dirac_mb": float(sigma_gg_total_dirac(w)),
        "k_bhabha": float(k_factor(w, "bhabha")), "k_gg": float(k_factor(w, "gg")),
        "k_both": float(k_factor(w, "both")),
        "r_max_mm": r_max, "distance_mm": distance,
    }


def _lineshape_figure(path: Path, mass: float, g: float, bes: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from x17scan.atomic import atomic_path
    from x17scan.physics import e_beam, e_res, sqrt_s, yield_per_pot
    from x17scan.report.style import figure_style

    er = float(e_res(mass))
    e = np.linspace(er - 0.04 * er, er + 0.04 * er, 1601)
    curves = {m: yield_per_pot(e, mass, g, bes=bes, model=m) for m in
              ("free", "atomic", "sto", "voigt")}
    top = max(float(c.max()) for c in curves.values())
    p = int(np.floor(np.log10(top))) if top > 0 else 0
    styles = {"free": "--", "atomic": "-", "sto": ":", "voigt": "-."}
    with figure_style():
        fig, ax = plt.subplots()
        for m, y in curves.items():
            ax.plot(e, y / 10.0**p, styles[m], lw=2, label=_LABELS[m])
        ax.set_xlabel(r"$E_\mathrm{beam}$ [MeV]")
        ax.set_ylabel(rf"$N_X / N_\mathrm{{PoT}}$ [$10^{{{p}}}$]")
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(0, 1.35 * top / 10.0**p)
        sec = ax.secondary_xaxis("top", functions=(lambda x: sqrt_s(np.maximum(x, 1.0)),
                                                   lambda w: e_beam(w)))
        sec.set_xlabel("√s [MeV]", fontsize=18)
        ax.legend(loc="upper right", fontsize=12)
        ax.text(0.03, 0.96, "x17scan", transform=ax.transAxes, fontsize=16,
                fontweight="bold", va="top")
        ax.text(0.03, 0.89, f"$M_X$ = {mass:g} MeV, $g_{{ve}}$ = {g:g} (vector)\n"
                f"BES = {100 * bes:g} %, 100 µm diamond", transform=ax.transAxes,
                fontsize=12, va="top")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
        plt.close(fig)


# --- commands --------------------------------------------------------------------------------
@physics_app.command("width")
def width_cmd(
    mass: float = typer.Option(17.0, "--mass", "-m", help=_MASS_HELP),
    g: float = typer.Option(1e-3, "--gve", "--g", help=_G_HELP),
    spin: str = typer.Option("all", "--spin", help="vector, axial, scalar, pseudoscalar or all."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Partial width Gamma(X -> e+e-), lifetime c tau and lab decay length at E_res."""
    import numpy as np

    from x17scan.physics import e_res, width
    from x17scan.physics.constants import HBARC_MEV_MM, M_E

    _check_mass(mass)
    _check_g(g)
    spins = _SPINS if spin == "all" else (_check_choice(spin, (*_SPINS, "all"), "--spin"),)
    ex = float(e_res(mass)) + M_E  # X carries the total energy of the e+e- system
    rows = []
    for s in spins:
        gam = float(width(mass, g, s))
        ctau = HBARC_MEV_MM / gam if gam > 0 else float("inf")
        rows.append({"spin": s, "width_mev": gam, "width_ev": gam * 1e6, "ctau_mm": ctau,
                     "lab_decay_length_mm": ctau * float(np.sqrt(ex * ex - mass * mass)) / mass})
    out = {"mass_mev": mass, "g": g, "e_x_mev": ex, "widths": rows}
    if as_json:
        _echo_json(out)
        return
    _console().print(_table(
        f"X -> e+e- at M = {mass:g} MeV, g = {g:g}",
        ["spin", "Gamma (eV)", "c tau (um)", "lab decay length (um)"],
        [[r["spin"], r["width_ev"], r["ctau_mm"] * 1e3, r["lab_decay_length_mm"] * 1e3]
         for r in rows]))


@physics_app.command("yield")
def yield_cmd(
    mass: float = typer.Option(17.0, "--mass", "-m", help=_MASS_HELP),
    g: float = typer.Option(5e-4, "--gve", "--g", help=_G_HELP),
    bes: float = typer.Option(0.0025, "--bes", help="Relative beam-energy spread."),
    lineshape: str = typer.Option("atomic", "--lineshape", "-l",
                                  help="free, atomic, sto or voigt."),
    spin: str = typer.Option("vector", "--spin", help="vector, axial, scalar or pseudoscalar."),
    gamma_l: float = typer.Option(1.72, "--gamma-l", help="Voigt Lorentzian half width (MeV)."),
    a_peak: float = typer.Option(13.56, "--a-peak", help="Voigt normalisation (MeV per g^2)."),
    padme: bool = typer.Option(False, "--padme-convention",
                               help="E_res with PADME's m_e = 0.511 MeV and W_b = -7 eV."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Signal yield per positron on target (100 um diamond): peak, integral over E_beam,
    E_res and the FWHM of the line shape."""
    _check_mass(mass)
    _check_g(g)
    _check_bes(bes)
    _check_choice(lineshape, _LINESHAPES, "--lineshape")
    _check_choice(spin, _SPINS, "--spin")
    if not gamma_l >= 0:
        raise _err(f"gamma_l must be >= 0 MeV, got {gamma_l}", "--gamma-l", "e.g. 1.72")
    if not a_peak > 0:
        raise _err(f"a_peak must be > 0 MeV, got {a_peak}", "--a-peak", "e.g. 13.56")
    out = _yield_summary(mass, g, bes, lineshape, spin, gamma_l, a_peak, padme)
    if as_json:
        _echo_json(out)
        return
    _console().print(_table(
        f"signal yield: M = {mass:g} MeV, g = {g:g} ({spin}), BES = {100 * bes:g} %, "
        f"{lineshape}, 100 um diamond", ["quantity", "value", "unit"],
        [["peak yield N_X/N_PoT", out["peak_yield_per_pot"], "per PoT"],
         ["peak yield / g^2", out["peak_yield_per_pot_per_g2"], "per PoT"],
         ["beam energy at the peak", out["e_peak_mev"], "MeV"],
         ["integrated yield (over E_beam)", out["integrated_yield_mev_per_pot"], "MeV per PoT"],
         ["E_res", out["e_res_mev"], "MeV"],
         ["line-shape FWHM (in E_beam)", out["fwhm_mev"], "MeV"]]))


@physics_app.command("xsec")
def xsec_cmd(
    sqrt_s: list[float] = typer.Option([17.0], "--sqrt-s", "-s",
                                       help="Centre-of-mass energy (MeV); repeatable."),
    r_max: float = typer.Option(270.0, "--r-max", help="Fiducial radius (mm)."),
    distance: float = typer.Option(3640.4, "--distance", help="Target-ECal distance (mm)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tree-level Bhabha and gamma gamma cross sections in the two-body acceptance, total
    gamma gamma, and PADME's NLO/LO K factors."""
    _check_sqrts(sqrt_s)
    _check_geometry(r_max, distance)
    rows = [_xsec_summary(w, r_max, distance) for w in sqrt_s]
    if as_json:
        _echo_json({"points": rows})
        return
    _console().print(_table(
        f"cross sections (mb), R_max = {r_max:g} mm at {distance:g} mm",
        ["sqrt(s) MeV", "E_beam MeV", "c_ee", "c_gg", "Bhabha acc", "gg acc", "gg total",
         "K_ee", "K_gg"],
        [[r["sqrt_s_mev"], r["e_beam_mev"], r["c_ee"], r["c_gg"], r["sigma_bhabha_acc_mb"],
          r["sigma_gg_acc_mb"], r["sigma_gg_total_mb"], r["k_bhabha"], r["k_gg"]]
         for r in rows]))


@physics_app.command("g2")
def g2_cmd(
    mass: float = typer.Option(17.0, "--mass", "-m", help=_MASS_HELP),
    g: float = typer.Option(5e-4, "--gve", "--g", help=_G_HELP),
    lepton: str = typer.Option("e", "--lepton", help="e or mu."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One-loop contribution Delta a_l of the boson for each spin."""
    from x17scan.physics import delta_a

    if not mass > 0:
        raise _err(f"mass must be > 0 MeV, got {mass}", "--mass", "e.g. --mass 17")
    _check_g(g)
    _check_choice(lepton, ("e", "mu"), "--lepton")
    rows = [{"spin": s, "delta_a": float(delta_a(mass, g, s, lepton)),
             "delta_a_per_g2": float(delta_a(mass, 1.0, s, lepton))} for s in _SPINS]
    if as_json:
        _echo_json({"mass_mev": mass, "g": g, "lepton": lepton, "contributions": rows})
        return
    _console().print(_table(f"(g-2)_{lepton}: M = {mass:g} MeV, g = {g:g}",
                            ["spin", "Delta a", "Delta a / g^2"],
                            [[r["spin"], r["delta_a"], r["delta_a_per_g2"]] for r in rows]))


@physics_app.command("kinematics")
def kinematics_cmd(
    sqrt_s: float = typer.Option(None, "--sqrt-s", "-s", help="Centre-of-mass energy (MeV)."),
    e_beam: float = typer.Option(None, "--e-beam", "-e", help="Beam energy (MeV)."),
    r_max: float = typer.Option(270.0, "--r-max", help="Fiducial radius (mm)."),
    distance: float = typer.Option(3640.4, "--distance", help="Target-ECal distance (mm)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fixed-target kinematics at one sqrt(s) or beam energy: boost, opening angle,
    acceptance c(sqrt s) and the partner radius R_min."""
    import numpy as np

    from x17scan.physics import kinematics as k
    from x17scan.physics.constants import M_E

    if (sqrt_s is None) == (e_beam is None):
        raise _err("give exactly one of --sqrt-s and --e-beam", "--sqrt-s",
                   "e.g. --sqrt-s 17 or --e-beam 282.27")
    if e_beam is not None:
        if not M_E < e_beam < float("inf"):
            raise _err(f"beam energy must be > m_e, got {e_beam}", "--e-beam", "in MeV")
        sqrt_s = float(k.sqrt_s(e_beam))
    _check_sqrts([sqrt_s])
    _check_geometry(r_max, distance)
    eb = float(k.e_beam(sqrt_s))
    out = {
        "sqrt_s_mev": sqrt_s, "e_beam_mev": eb, "gamma_cm": float(k.gamma_cm(eb)),
        "beta_cm": float(k.beta_cm(eb)), "dsqrts_debeam": float(k.dsqrts_debeam(eb)),
        "symmetric_opening_angle_ee_mrad": 2e3 * float(k.theta_lab(0.0, sqrt_s, M_E)),
        "symmetric_opening_angle_gg_mrad": 2e3 * float(k.theta_lab(0.0, sqrt_s, 0.0)),
        "theta_max_mrad": 1e3 * float(np.arctan(r_max / distance)),
        "c_ee": float(k.acceptance_cos(sqrt_s, r_max, distance, M_E)),
        "c_gg": float(k.acceptance_cos(sqrt_s, r_max, distance, 0.0)),
        "r_min_ee_mm": float(k.r_min_partner(sqrt_s, r_max, distance, M_E)),
        "r_min_gg_mm": float(k.r_min_partner(sqrt_s, r_max, distance, 0.0)),
        "r_max_mm": r_max, "distance_mm": distance,
    }
    if as_json:
        _echo_json(out)
        return
    _console().print(_table(f"kinematics at sqrt(s) = {sqrt_s:.6g} MeV", ["quantity", "value"],
                            [[key, val] for key, val in out.items()]))


@physics_app.command("lineshape")
def lineshape_cmd(
    mass: float = typer.Option(17.0, "--mass", "-m", help=_MASS_HELP),
    g: float = typer.Option(5e-4, "--gve", "--g", help=_G_HELP),
    bes: float = typer.Option(0.0025, "--bes", help="Relative beam-energy spread."),
    plot: Path = typer.Option(None, "--plot", help="Write the line-shape figure here (.png, "
                              ".pdf, .svg)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Signal line shape in beam energy: free vs atomic (HF, STO) electrons vs PADME's Voigt,
    peak yields and widths; optionally the figure."""
    _check_mass(mass)
    _check_g(g)
    _check_bes(bes)
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise _err(f"unsupported figure format {plot.suffix!r}", "--plot",
                   "use a .png, .pdf or .svg file name")
    if plot is not None:
        from x17scan.atomic import check_output_file

        check_output_file(plot, "--plot")
    rows = [_yield_summary(mass, g, bes, m, "vector", 1.72, 13.56, False) for m in _LINESHAPES]
    if plot is not None:
        _lineshape_figure(plot, mass, g, bes)
    if as_json:
        _echo_json({"mass_mev": mass, "g": g, "bes": bes, "lineshapes": rows,
                    "plot": str(plot) if plot else None})
        return
    c = _console()
    c.print(_table(f"line shapes: M = {mass:g} MeV, g = {g:g}, BES = {100 * bes:g} %",
                   ["line shape", "peak N_X/N_PoT", "E_peak (MeV)", "FWHM (MeV)",
                    "integral (MeV/PoT)"],
                   [[r["lineshape"], r["peak_yield_per_pot"], r["e_peak_mev"], r["fwhm_mev"],
                     r["integrated_yield_mev_per_pot"]] for r in rows]))
    if plot is not None:
        c.print(f"figure: {plot}")


@physics_app.command("report")
def report_cmd(
    out: Path = typer.Option(Path("x17scan-out/physics"), "--out", "-o",
                             help="Folder for the figure and physics_report.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Compact physics report at M = 17 MeV: widths, peak and integrated yields per line
    shape, acceptance and cross sections at the reference sqrt(s), (g-2) per g^2.
    Writes lineshape.png and physics_report.json to --out."""
    import json

    from x17scan.atomic import check_output_dir, write_text
    from x17scan.physics import delta_a, width

    check_output_dir(out)
    m = 17.0
    report = {
        "mass_mev": m,
        "widths_ev_at_g_1e-3": {s: float(width(m, 1e-3, s)) * 1e6 for s in _SPINS},
        "yields_per_g2": [
            {k: v for k, v in _yield_summary(m, 1.0, bes, ls, "vector", 1.72, 13.56,
                                            ls == "voigt").items()
             if k in ("lineshape", "bes", "peak_yield_per_pot", "integrated_yield_mev_per_pot",
                      "fwhm_mev")}
            for bes in (0.0022, 0.0025) for ls in _LINESHAPES],
        "cross_sections": [_xsec_summary(w, 270.0, 3640.4) for w in (16.4, 16.7, 17.0, 17.4)],
        "g2_e_per_g2": {s: float(delta_a(m, 1.0, s)) for s in _SPINS},
    }
    fig = out / "lineshape.png"
    _lineshape_figure(fig, m, 5e-4, 0.0025)
    write_text(out / "physics_report.json", json.dumps(report, indent=1) + "\n")
    report["figure"] = str(fig)
    if as_json:
        _echo_json(report)
        return
    c = _console()
    c.print(_table(f"X -> e+e- width at M = {m:g} MeV, g = 1e-3", ["spin", "Gamma (eV)"],
                   [[s, v] for s, v in report["widths_ev_at_g_1e-3"].items()]))
    c.print(_table("signal yield per g^2 (vector, 100 um diamond)",
                   ["line shape", "BES", "peak / PoT", "integral MeV/PoT", "FWHM MeV"],
                   [[r["lineshape"], r["bes"], r["peak_yield_per_pot"],
                     r["integrated_yield_mev_per_pot"], r["fwhm_mev"]]
                    for r in report["yields_per_g2"]]))
    c.print(_table("cross sections (mb) in R_max = 270 mm at 3640.4 mm",
                   ["sqrt(s) MeV", "c_ee", "c_gg", "Bhabha acc", "gg acc", "gg total"],
                   [[r["sqrt_s_mev"], r["c_ee"], r["c_gg"], r["sigma_bhabha_acc_mb"],
                     r["sigma_gg_acc_mb"], r["sigma_gg_total_mb"]]
                    for r in report["cross_sections"]]))
    c.print(_table(f"(g-2)_e per g^2 at M = {m:g} MeV", ["spin", "Delta a / g^2"],
                   [[s, v] for s, v in report["g2_e_per_g2"].items()]))
    c.print(f"written: {fig}, {out / 'physics_report.json'}")
