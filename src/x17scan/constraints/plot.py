"""The exclusion plot in (M_X, g_ve): external limits, (g-2)_e, the ATOMKI-favoured region and
x17scan results; and its zoom on 16-18 MeV.

Masses in MeV, couplings g_ve (left axis) and ε = g_ve/e (right axis). Model-dependent limits
(quark, proton or muon couplings needed) are hatched with dashed edges and marked in the legend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np

from x17scan import atomic
from x17scan.constraints import g2 as g2mod
from x17scan.constraints.atomki import CouplingBand, MassCombination
from x17scan.constraints.limits import DEFAULT_PLOT_LIMITS, ExternalLimit
from x17scan.constraints.overlay import Overlay
from x17scan.physics.constants import E_CHARGE

BAND_1SIGMA = "#00cc00"  # the conventional green/yellow expected-limit bands
BAND_2SIGMA = "#ffcc00"
G2_COLOR = "#6b6b6b"
G2_BAND_COLOR = "#c51b8a"
ATOMKI_COLOR = "#d7191c"
OVERLAY_COLORS = ("black", "#1f4e9c", "#7b3294", "#a6611a")

LIMIT_COLORS: dict[str, str] = {
    "E137_Andreas2012mt": "#c6dbef",
    "E137_Bjorken2009mm": "#deebf7",
    "KEK_Konaka1986cb": "#c7e9c0",
    "Orsay_Davier1989wz": "#dadaeb",
    "E774_Bross1989mp": "#f2d9b3",
    "E141_Riordan1987aw": "#8fd3c8",
    "NA64_Banerjee2019hmi": "#6baed6",
    "NA64_Banerjee2018vgk": "#9ecae1",
    "KLOE_Anastasi2015qla": "#fdae6b",
    "BaBar_Lees2014xha": "#a1d99b",
    "A1_Merkel2014avp": "#fcbba1",
    "HPS_Adrian2018scb": "#e7cb94",
    "NA48_Batley2015lha": "#525252",
    "AMMe_Bodas2021fsy_rb": "#8c2d04",
    "AMMe_Bodas2021fsy_cs": "#54278f",
    "AMMmu_Bodas2021fsy": "#7b4173",
}
_SPARE_COLORS = ("#8c6d31", "#637939", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
                 "#756bb1", "#636363", "#bd9e39", "#ad494a", "#a55194")

G_TOP = 1.0  # one-sided regions are filled up to here (far above any axis range)


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """mplhep ROOT style for the constraint figures (rcParams restored on exit)."""
    import mplhep

    with matplotlib.rc_context():
        mplhep.style.use("ROOT")
        matplotlib.rcParams.update({"legend.frameon": False, "savefig.dpi": 150,
                                    "savefig.bbox": "tight", "hatch.linewidth": 0.8})
        yield


@dataclass
class PlotSpec:
    """What goes on an exclusion plot.

    ``g2_alphas``: Δa_e inputs whose bound is drawn (the first one filled, the others as lines);
    ``g2_convention``: the bound's convention; ``g2_band``: draw the favoured ±1σ/±2σ band of
    every input with Δa > 0. ``atomki_bands``: coupling ranges (ε) drawn as boxes over
    ``atomki_mass`` (MeV); ``nuclear``: a mass combination drawn as a vertical band in the zoom.
    """

    limits: Sequence[ExternalLimit] = ()
    g2_alphas: Sequence[str] = (g2mod.DEFAULT_ALPHA,)
    g2_convention: str | None = g2mod.DEFAULT_CONVENTION
    g2_band: bool = True
    atomki_bands: Sequence[CouplingBand] = ()
    atomki_mass: tuple[float, float] = (16.5, 17.5)
    atomki_mass_label: str = "16.5-17.5 MeV"
    nuclear: MassCombination | None = None
    overlays: Sequence[Overlay] = field(default_factory=tuple)


def _drawing_order(limits: Sequence[ExternalLimit], m_lo: float, m_hi: float
                   ) -> list[ExternalLimit]:
    """The curated default limits first, in the order of :data:`DEFAULT_PLOT_LIMITS` (chosen so
    that opaque fills hide as little as possible); the others after them, by decreasing
    log-log area within the window (large regions at the back)."""
    grid = np.geomspace(m_lo, m_hi, 200)

    def area(lim: ExternalLimit) -> float:
        lo, hi = lim.gve_at(grid)
        hi = np.where(np.isinf(hi), G_TOP, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.log(hi / lo)
        return float(np.nansum(w))

    def key(lim: ExternalLimit):
        if lim.name in DEFAULT_PLOT_LIMITS:
            return (0, DEFAULT_PLOT_LIMITS.index(lim.name), 0.0)
        return (1, 0, -area(lim))

    return sorted(limits, key=key)


def _limit_color(lim: ExternalLimit, i: int) -> str:
    return LIMIT_COLORS.get(lim.name, _SPARE_COLORS[i % len(_SPARE_COLORS)])


def _needs(lim: ExternalLimit) -> str:
    text = lim.applicability.lower()
    if "muon" in text:
        return "needs a muon coupling"
    if "proton" in text:
        return "needs a proton coupling"
    return "needs quark couplings"


def _draw_limit(ax, lim: ExternalLimit, color: str, m_lo: float, m_hi: float,
                g_lo: float, g_hi: float) -> None:
    n = lim.mass.size
    idx = np.flatnonzero((lim.mass >= m_lo) & (lim.mass <= m_hi))
    if idx.size == 0:
        if n < 2 or not (lim.mass[0] < m_lo and lim.mass[-1] > m_hi):
            return
        j = int(np.searchsorted(lim.mass, m_lo))
        idx = np.array([j - 1, j])
    # one neighbour on each side, so that the region reaches the edges of the window
    i0, i1 = max(idx[0] - 1, 0), min(idx[-1] + 1, n - 1)
    m = lim.mass[i0:i1 + 1]
    lo = lim.gve_lower[i0:i1 + 1]
    top = lim.gve_upper[i0:i1 + 1] if lim.two_sided else np.full(m.size, G_TOP)
    if not (np.any(top >= g_lo) and np.any(lo <= g_hi)):
        return  # outside the window: no legend entry for an invisible region
    dep = lim.model_dependent
    label = lim.label + (f" [{_needs(lim)}]" if dep else "")
    if n == 1:
        ax.plot([m[0], m[0]], [lo[0], lim.gve_upper[0]], color=color, lw=2.5, ls="--",
                label=label)
        return
    if lim.band_edge:
        ax.plot(m, lo, ls=":", color=color, lw=1.5, label=label + " (band edge, not a limit)")
        return
    if lim.two_sided:
        hi = lim.gve_upper[i0:i1 + 1]
        xs, ys = np.r_[m, m[::-1]], np.r_[lo, hi[::-1]]
    else:
        xs, ys = np.r_[m, m[::-1]], np.r_[lo, np.full(m.size, G_TOP)]
    if dep:
        ax.fill(xs, ys, facecolor="none", edgecolor=color, hatch="////", lw=1.2, ls="--",
                label=label, zorder=2.4)
    elif lim.name not in DEFAULT_PLOT_LIMITS and lim.kind != "g-2":
        # superseded or alternative analyses of an experiment already shown: contour only
        ax.plot(xs, ys, color=_darker(color, 0.8), lw=1.6, ls="-", zorder=3,
                label=label + " (contour)")
    elif lim.kind == "g-2":
        # (g-2) bounds cover everything above them: transparent, like the computed bound
        ax.fill(xs, ys, facecolor=color, alpha=0.25, edgecolor="none", zorder=2.2)
        ax.plot(m, lo, color=color, lw=1.8, ls="-.", zorder=3)
        ax.fill([], [], facecolor=color, alpha=0.25, edgecolor=color, ls="-.", label=label)
    else:
        # opaque fills, drawn in order; every contour is drawn above all fills so that a region
        # hidden behind a later one still shows its edge
        ax.fill(xs, ys, facecolor=color, edgecolor="none", zorder=1)
        ax.plot(m, lo, color=_darker(color), lw=1.0, zorder=1.5)
        if lim.two_sided:
            ax.plot(m, hi, color=_darker(color), lw=1.0, zorder=1.5)
        # legend proxy: face and edge in one patch
        ax.fill([], [], facecolor=color, edgecolor=_darker(color), label=label)


def _darker(color: str, f: float = 0.65) -> tuple[float, float, float]:
    r, g, b = matplotlib.colors.to_rgb(color)
    return (r * f, g * f, b * f)


def _draw_g2(ax, spec: PlotSpec, masses: np.ndarray) -> None:
    styles = ("-", "--", "-.", ":")
    if spec.g2_convention is not None:
        for i, a in enumerate(spec.g2_alphas):
            g = g2mod.gve_upper_limit(masses, a, spec.g2_convention)
            lab = g2mod.convention_label(a, spec.g2_convention)
            if not np.any(np.isfinite(g)):
                # say so in the legend rather than silently drawing nothing
                ax.plot([], [], ls=styles[i % 4], color=G2_COLOR,
                        label=lab + ": no bound (Δa < 0)")
                continue
            if i == 0:
                ax.fill_between(masses, g, G_TOP, color=G2_COLOR, alpha=0.30, lw=0, zorder=2.2)
                ax.plot(masses, g, color=G2_COLOR, lw=1.8, zorder=3)
                ax.fill([], [], facecolor=G2_COLOR, alpha=0.30, edgecolor=G2_COLOR, label=lab)
            else:
                ax.plot(masses, g, ls=styles[i % 4], color=G2_COLOR, lw=1.8, zorder=3,
                        label=lab)
    if spec.g2_band:
        for a in spec.g2_alphas:
            inp = g2mod.get_input(a)
            if inp.delta_a <= 0:
                continue
            for ns, alpha in ((2, 0.20), (1, 0.45)):
                lo, hi = g2mod.favoured_band(masses, inp, ns)
                lab = rf"$(g-2)_e$ favoured, {inp.label}, $\pm{ns}\sigma$"
                if np.all(lo > 0):
                    ax.fill_between(masses, lo, hi, color=G2_BAND_COLOR, alpha=alpha, lw=0,
                                    zorder=2.5, label=lab)
                else:
                    # Δa - nσ < 0: g_ve = 0 is inside the band, only its upper edge is drawn
                    ax.plot(masses, hi, color=G2_BAND_COLOR, ls="--", lw=1.5, zorder=2.5,
                            label=lab + r" (upper edge; $g_{ve}=0$ allowed)")


def _draw_atomki(ax, spec: PlotSpec) -> None:
    from matplotlib.patches import Rectangle

    m0, m1 = spec.atomki_mass
    for band in spec.atomki_bands:
        g0, g1 = band.eps_min * E_CHARGE, band.eps_max * E_CHARGE
        unverified = band.key != "feng2016"
        note = "source unverified" if unverified else "to be checked"
        edge = Rectangle((m0, g0), m1 - m0, g1 - g0, facecolor="none", edgecolor=ATOMKI_COLOR,
                         lw=2.0, ls=":" if unverified else "-", zorder=4.1,
                         label=(rf"ATOMKI: $M_X$ {spec.atomki_mass_label}, "
                                rf"$\varepsilon\in[{_tex(band.eps_min)}, {_tex(band.eps_max)}]$"
                                f"\n({band.label}; {note})"))
        ax.add_patch(edge)


def _tex(x: float) -> str:
    e = int(np.floor(np.log10(x)))
    mant = x / 10**e
    return rf"{mant:.3g}\times10^{{{e}}}"


def _draw_overlays(ax, spec: PlotSpec) -> None:
    for i, ov in enumerate(spec.overlays):
        c = OVERLAY_COLORS[i % len(OVERLAY_COLORS)]
        cl = round(100 * ov.cl)
        tag = f"{ov.label}: " if ov.label else ""
        if ov.expected is not None:
            e = ov.expected
            if i == 0:
                ax.fill_between(e["mass_MeV"], e["minus2"], e["plus2"], color=BAND_2SIGMA,
                                lw=0, zorder=5, label=rf"{tag}expected $\pm2\sigma$")
                ax.fill_between(e["mass_MeV"], e["minus1"], e["plus1"], color=BAND_1SIGMA,
                                lw=0, zorder=5.1, label=rf"{tag}expected $\pm1\sigma$")
            ax.plot(e["mass_MeV"], e["median"], ls="--", color=c, lw=1.5, zorder=5.2,
                    label=f"{tag}expected {cl}% CL (median)")
        if ov.observed is not None:
            ax.plot(ov.observed["mass_MeV"], ov.observed["observed"], "-", color=c, lw=2.2,
                    zorder=5.3, label=f"{tag}observed {cl}% CL upper limit")
        if ov.bestfit is not None and ov.bestfit[1] > 0:
            e = ov.bestfit_err or {}
            xerr = ([[e["mass_err_low"]], [e["mass_err_high"]]]
                    if "mass_err_low" in e and "mass_err_high" in e else None)
            yerr = ([[min(e["g_err_low"], 0.999 * ov.bestfit[1])], [e["g_err_high"]]]
                    if "g_err_low" in e and "g_err_high" in e else None)
            lab = f"{tag}best fit" + (r" ($\pm1\sigma$)" if xerr or yerr else "")
            ax.errorbar([ov.bestfit[0]], [ov.bestfit[1]], xerr=xerr, yerr=yerr, fmt="*",
                        color=c, mec="white", mew=0.8, ms=16, capsize=3, lw=1.5, zorder=6,
                        label=lab)


def _secondary_eps(ax) -> None:
    sec = ax.secondary_yaxis("right", functions=(lambda g: g / E_CHARGE,
                                                 lambda e: e * E_CHARGE))
    sec.set_ylabel(r"$\varepsilon = g_{ve}/e$")


def _legend(ax, fig) -> None:
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.13, 1.0), fontsize=11,
              handlelength=2.2, borderaxespad=0.0, labelspacing=0.55)


def _title(ax, text: str) -> None:
    ax.text(0.0, 1.01, r"$\bf{x17scan}$ " + text, transform=ax.transAxes, ha="left",
            va="bottom", fontsize=15)


def exclusion_figure(spec: PlotSpec, mass_range: tuple[float, float] = (1.0, 100.0),
                     g_range: tuple[float, float] = (5e-9, 1e-2)):
    """Full exclusion plot, log-log, ``mass_range`` in MeV, ``g_range`` in g_ve."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, ax = plt.subplots(figsize=(10, 7.5))
        for i, lim in enumerate(_drawing_order(spec.limits, *mass_range)):
            _draw_limit(ax, lim, _limit_color(lim, i), *mass_range, *g_range)
        masses = np.geomspace(mass_range[0], mass_range[1], 400)
        _draw_g2(ax, spec, masses)
        _draw_atomki(ax, spec)
        _draw_overlays(ax, spec)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*mass_range)
        ax.set_ylim(*g_range)
        ax.set_xlabel(r"$M_X$ [MeV]")
        ax.set_ylabel(r"$g_{ve}$")
        _secondary_eps(ax)
        _title(ax, "vector boson coupled to electrons")
        _legend(ax, fig)
    return fig


def zoom_figure(spec: PlotSpec, mass_range: tuple[float, float] = (16.0, 18.0),
                g_range: tuple[float, float] = (1e-5, 3e-3)):
    """Zoom on the X17 region: linear mass axis (MeV), log g_ve; with the nuclear mass
    combination as a vertical band if ``spec.nuclear`` is set."""
    import matplotlib.pyplot as plt

    with figure_style():
        fig, ax = plt.subplots(figsize=(10, 7.5))
        for i, lim in enumerate(_drawing_order(spec.limits, *mass_range)):
            _draw_limit(ax, lim, _limit_color(lim, i), *mass_range, *g_range)
        masses = np.linspace(mass_range[0], mass_range[1], 200)
        _draw_g2(ax, spec, masses)
        _draw_atomki(ax, spec)
        if spec.nuclear is not None:
            n = spec.nuclear
            ax.axvspan(n.mass - n.error, n.mass + n.error, color=ATOMKI_COLOR, alpha=0.15,
                       lw=0, zorder=2.6,
                       label=rf"ATOMKI mass combination ${n.mass:.2f}\pm{n.error:.2f}$ MeV"
                       f"\n({n.correlation}" + (f", ρ = {n.rho:g})" if n.correlation
                                                 not in ("uncorrelated", "stat-only") else ")"))
            ax.axvline(n.mass, color=ATOMKI_COLOR, lw=1.0, ls="--", zorder=2.7)
        _draw_overlays(ax, spec)
        ax.set_yscale("log")
        ax.set_xlim(*mass_range)
        ax.set_ylim(*g_range)
        ax.set_xlabel(r"$M_X$ [MeV]")
        ax.set_ylabel(r"$g_{ve}$")
        _secondary_eps(ax)
        _title(ax, "vector boson coupled to electrons, X17 region")
        _legend(ax, fig)
    return fig


def save_figure(fig, path: str | Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``, atomically; return the paths."""
    import matplotlib.pyplot as plt

    out = []
    base = Path(path)
    with figure_style():
        for fmt in formats:
            p = base.with_suffix("." + fmt)
            with atomic.atomic_path(p) as tmp:
                fig.savefig(tmp, format=fmt)
            out.append(p)
    plt.close(fig)
    return out


_NUCLEUS_TEX = {"8Be": r"$^{8}$Be", "4He": r"$^{4}$He", "12C": r"$^{12}$C"}


def _measurement_label(m) -> str:
    year = m.id.split("_")[1] if "_" in m.id else ""
    ep = m.id.split("_Ep")[1] if "_Ep" in m.id else None
    extra = f", $E_p$ = {ep} MeV" if ep else f" ({m.delta_e:g} MeV)"
    return f"{_NUCLEUS_TEX.get(m.nucleus, m.nucleus)} {year}{extra}"


def atomki_figure(measurements, nuclear: MassCombination, scan=None,
                  external: Sequence[dict] = (), scan_label: str = "scan"):
    """ATOMKI masses (MeV) with stat (inner) and total (outer) error bars, the nuclear
    combination (band), published combinations not reproduced here (open markers) and, with a
    :class:`~x17scan.constraints.atomki.ScanCombination` ``scan``, a lower panel with the
    Δχ² curves of the scan, the nuclear masses and their sum vs M."""
    import matplotlib.pyplot as plt

    ms = list(measurements)
    with figure_style():
        if scan is None:
            fig, ax = plt.subplots(figsize=(9, 1.6 + 0.55 * (len(ms) + len(external) + 1)))
            axq = None
        else:
            n = len(ms) + len(external) + 3
            fig, (ax, axq) = plt.subplots(
                2, 1, sharex=True, figsize=(9, 4.5 + 0.5 * n),
                gridspec_kw={"height_ratios": [0.5 * n, 4.5], "hspace": 0.06})
        y = np.arange(len(ms))[::-1] + len(external) + (2 if scan is not None else 1)
        for yi, m in zip(y, ms, strict=True):
            c = {"8Be": "#1f4e9c", "4He": "#2a9d3f", "12C": "#c05a00"}.get(m.nucleus, "black")
            ax.errorbar(m.mass, yi, xerr=m.error, fmt="o", color=c, ms=6, capsize=3, lw=1.2)
            if m.stat is not None and m.total is None:
                ax.errorbar(m.mass, yi, xerr=m.stat, fmt="none", color=c, lw=3.0)
        labels = [_measurement_label(m) for m in ms]
        ticks = list(y)
        for j, ext in enumerate(external):
            yj = len(external) - j + (1 if scan is not None else 0)
            ax.errorbar(ext["mass_MeV"], yj, xerr=ext["total_MeV"], fmt="s", mfc="white",
                        color="#555555", ms=6, capsize=3)
            ticks.append(yj)
            labels.append(f"{ext['id'].replace('Gehrlein2023', '-Gehrlein 2023')} "
                          "(not an input)")
        ax.axvspan(nuclear.mass - nuclear.error, nuclear.mass + nuclear.error,
                   color=ATOMKI_COLOR, alpha=0.18, lw=0)
        ax.axvline(nuclear.mass, color=ATOMKI_COLOR, lw=1.2, ls="--")
        if scan is not None:
            err = (scan.scan_err_low, scan.scan_err_high)
            xerr = None if None in err else [[err[0]], [err[1]]]
            ax.errorbar(scan.scan_mass, 1, xerr=xerr, fmt="*", color="black", ms=12, capsize=3)
            ax.errorbar(scan.mass, 0, xerr=None if scan.error is None else
                        [[scan.err_low], [scan.err_high]], fmt="D", color="#7b3294", ms=7,
                        capsize=3)
            ticks += [1, 0]
            labels += [f"{scan_label} (profile, $\\Delta q=1$)", "scan + nuclear combined"]
        ax.text(0.99, 0.03, "error bars: statistical (thick), total (thin)",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=10, color="#555555")
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=12)
        ax.minorticks_off()
        ax.tick_params(axis="x", which="both", direction="in")
        ax.set_ylim(min(ticks) - 0.8, max(ticks) + 0.8)
        corr = nuclear.correlation + (f", ρ = {nuclear.rho:g}" if nuclear.correlation
                                      not in ("uncorrelated", "stat-only") else "")
        ax.set_title(rf"ATOMKI masses: ${nuclear.mass:.3f}\pm{nuclear.error:.3f}$ MeV, "
                     rf"$\chi^2$/dof = {nuclear.chi2:.2f}/{nuclear.ndof} ({corr})",
                     fontsize=13, loc="left")
        lo = min(m.mass - m.error for m in ms)
        hi = max(m.mass + m.error for m in ms)
        if scan is not None:
            lo, hi = min(lo, scan.grid[0]), max(hi, scan.grid[-1])
        ax.set_xlim(lo - 0.05, hi + 0.05)
        if axq is None:
            ax.set_xlabel(r"$m_X$ [MeV]")
        else:
            g = scan.grid
            tot = scan.q_scan + scan.chi2_nuc
            axq.plot(g, scan.q_scan - scan.q_scan_min, color="black", lw=2,
                     label=rf"{scan_label}: $q(M)$ profiled over $g$")
            axq.plot(g, scan.chi2_nuc - nuclear.chi2, color=ATOMKI_COLOR, lw=2, ls="--",
                     label=r"nuclear masses: $\chi^2(M)-\chi^2_{min}$")
            axq.plot(g, tot - scan.total_min, color="#7b3294", lw=2.5,
                     label=(rf"sum: $m_X = {scan.mass:.3f}" +
                            (rf"^{{+{scan.err_high:.3f}}}_{{-{scan.err_low:.3f}}}$ MeV"
                             if scan.error is not None else "$ MeV (crossing outside)")))
            axq.axhline(1.0, color="#888888", lw=1, ls=":")
            axq.set_ylim(0, 9)
            axq.set_ylabel(r"$\Delta\chi^2$")
            axq.set_xlabel(r"$M_X$ [MeV]")
            axq.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=12,
                       borderaxespad=0.0,
                       title=(rf"consistency: $\Delta\chi^2$ = {scan.delta_chi2:.2f} (1 dof), "
                              f"p = {scan.p_value:.3g}"), title_fontsize=12)
    return fig
