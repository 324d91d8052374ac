"""``x17scan reco``: inspect selections and detector configurations, run toy events through the
detector response, clustering and selection."""

from __future__ import annotations

import typer

reco_app = typer.Typer(
    name="reco",
    help="Reconstruction: show a selection (cut values vs sqrt s) or a detector configuration, "
    "run toy two-body events through detector, clustering and selection.",
    no_args_is_help=True,
)


TOY_MAX_EVENTS = 1_000_000
"""Largest ``reco toy`` sample: it runs as one batch (~0.6 GB resident at the maximum)."""


def register(app: typer.Typer) -> None:
    app.add_typer(reco_app, name="reco")


def _console():
    from rich.console import Console

    c = Console(highlight=False)
    return c if c.is_terminal else Console(highlight=False, width=160)


def _energies(e_beam: list[float] | None) -> list[float]:
    import math

    from x17scan.beam import E_BEAM_RANGE
    from x17scan.errors import InputError

    lo, hi = E_BEAM_RANGE
    out = e_beam or [263.75, 282.22, 295.80]
    for e in out:
        if not (math.isfinite(e) and lo <= e <= hi):
            raise InputError(f"beam energy {e} MeV is outside the beam line's {lo:g}-{hi:g} MeV",
                             field="--e-beam",
                             fix="give the total positron energy in MeV, e.g. 282.2")
    return out


@reco_app.command("show-selection")
def show_selection(
    selection: str = typer.Argument("padme-run3-inferred",
                                    help="Preset name or path to a selection TOML file."),
    e_beam: list[float] = typer.Option(None, "--e-beam", "-e",
                                       help="Nominal beam energy (MeV); repeat for several."),
) -> None:
    """Check a selection file and print its cuts and the sqrt(s)-dependent cut values."""
    from rich.table import Table

    from x17scan.reco import Selection

    sel = Selection.load(selection)
    energies = _energies(e_beam)  # checked before anything is printed
    console = _console()
    console.print(f"[bold]{sel.name}[/]  {sel.description}  ({sel.source})")
    t = Table(title="cuts", show_lines=False)
    for col in ("table", "parameters"):
        t.add_column(col, overflow="fold")
    t.add_row("clustering", ", ".join(f"{k}={v}" for k, v in sel.clustering.to_dict().items()))
    for name, tab in sel.cuts.items():
        t.add_row(name, ", ".join(f"{k}={v}" for k, v in tab.items()))
    console.print(t)
    v = Table(title="cut values at the nominal beam energy (MeV, mm)")
    for col in ("E_beam", "sqrt_s", "R_min", "R_max", "E_min", "E_max", "E_tot"):
        v.add_column(col, justify="right")
    for e in energies:
        cv = sel.cut_values(e)
        v.add_row(f"{e:.2f}", f"{cv['sqrt_s']:.4f}", f"{cv['r_min']:.1f}", f"{cv['r_max']:.1f}",
                  f"{cv['e_min']:.1f}", f"{cv['e_max']:.1f}", f"{cv['e_tot']:.2f}")
    console.print(v)


@reco_app.command("show-detector")
def show_detector(
    path: str = typer.Argument(None, help="Preset (run3, run3-padme-mc) or detector TOML file "
                               "(default: the shipped Run III configuration)."),
) -> None:
    """Check a detector configuration and print its main parameters."""
    from x17scan.sim.pipeline import load_detector

    cfg = load_detector(path or "run3")
    g, r, s, t = cfg.ecal, cfg.response, cfg.shower, cfg.etag
    radii = g.crystal_radii()
    console = _console()
    console.print(f"[bold]{cfg.name}[/] ({cfg.source})")
    console.print(f"ECal: {g.n_crystals} crystals, pitch {g.pitch} mm, face at {g.z_front} mm, "
                  f"offset {g.offset} mm, crystal centres at R = {radii.min():.2f}-"
                  f"{radii.max():.2f} mm")
    console.print(f"response: sigma_E/E = {r.stochastic:g}/sqrt(E/GeV) + {r.noise:g} MeV/E + "
                  f"{r.constant:g} (100 MeV: {r.sigma(100.0) / 100:.2%}, 282 MeV: "
                  f"{r.sigma(282.0) / 282:.2%}); hit time {r.time_resolution} ns; merge "
                  f"{r.merge_window} ns; threshold {r.readout_threshold} MeV")
    console.print(f"shower: R_M {s.moliere_radius} mm, X0 {s.radiation_length} mm, profile "
                  f"weights {s.weights}, radii {s.radii} R_M (90 % at R_M: "
                  f"{float(s.containment(s.moliere_radius)):.3f}), block {s.block}x{s.block}")
    if t is None:
        console.print("ETag: disabled")
    else:
        console.print(f"ETag: {t.n_rows} rows at z = {t.z} mm, pitch {t.row_pitch} mm, gap "
                      f"|x| < {t.gap_half_width} mm in rows {list(t.short_rows)}, efficiency "
                      f"{t.efficiency}, photon conversion {t.photon_conversion}")
    m = cfg.magnet
    console.print(f"dipole: {m.field:g} T between z = {m.z_start:g} and {m.z_end:g} mm"
                  + (f" (100 MeV e+-: {m.displacement(100.0, g.z_front):.1f} mm at the ECal)"
                     if m.on else " (off, straight tracks)"))


@reco_app.command("toy")
def toy(
    e_beam: float = typer.Option(282.22, "--e-beam", "-e", help="Beam energy (MeV)."),
    n: int = typer.Option(100_000, "--n", help="Number of two-body events."),
    final: str = typer.Option("ee", "--final", help="ee or gg."),
    cos_max: float = typer.Option(0.4, "--cos-max", help="Generate |cos theta*| < cos_max."),
    selection: str = typer.Option("padme-run3-inferred", "--selection", "-s",
                                  help="Preset name or selection TOML."),
    detector: str = typer.Option(None, "--detector", help="Detector preset (run3, "
                                 "run3-padme-mc) or TOML file (default run3)."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Run toy two-body events (uniform in cos theta*) through detector, clustering and
    selection; print the cut flow (fraction x cos_max is comparable with the acceptance c)."""
    import numpy as np
    from rich.table import Table

    from x17scan.errors import InputError
    from x17scan.reco import Selection, process
    from x17scan.reco.toys import two_body
    from x17scan.sim.pipeline import load_detector

    if final not in ("ee", "gg"):
        raise InputError(f"--final must be ee or gg, got {final!r}", field="--final",
                         fix="use --final ee or --final gg")
    if not 0 < cos_max <= 1:
        raise InputError(f"--cos-max must be in (0, 1], got {cos_max}", field="--cos-max",
                         fix="e.g. --cos-max 0.4")
    if not 1 <= n <= TOY_MAX_EVENTS:  # one unchunked batch: ~0.4 kB per event
        raise InputError(f"--n must be in 1-{TOY_MAX_EVENTS:,}, got {n:,}", field="--n",
                         fix="e.g. --n 100000; larger samples: x17scan simulate (chunked)")
    if seed < 0:
        raise InputError(f"--seed must be non-negative, got {seed}", field="--seed",
                         fix="give a non-negative integer")
    _energies([e_beam])
    sel = Selection.load(selection)
    cfg = load_detector(detector or "run3")
    rng = np.random.default_rng(seed)
    ev = two_body(n, e_beam, rng, final=final, cos_max=cos_max)
    r = process(ev, cfg, sel, e_beam, rng)
    t = Table(title=f"{sel.name}: {n} {final} events, |cos theta*| < {cos_max}, "
                    f"E_beam {e_beam} MeV")
    t.add_column("cut")
    t.add_column("events", justify="right")
    t.add_column("fraction x cos_max (cf. c(sqrt s))", justify="right")
    for name, k in r.cutflow().items():
        t.add_row(name, str(k), f"{k * cos_max / n:.4f}")
    console = _console()
    console.print(t)
    c = r.counts()
    console.print(f"selected {c['n2']}: ee-tagged {c['ee']}, gamma-gamma-tagged {c['gg']}")
