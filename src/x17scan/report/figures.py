"""The figures of ``x17scan analyze``, drawn from a :class:`~x17scan.stats.result.Result`.

Each ``plot_*`` function draws on given axes (or makes its own) and returns the figure, so the
same code serves the CLI, notebooks (``Result.plot``) and the HTML report. Units: masses and
sqrt(s) in MeV, couplings g_ve dimensionless.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from x17scan import atomic
from x17scan.physics.constants import E_CHARGE
from x17scan.report.style import BAND_1SIGMA, BAND_2SIGMA, figure_style, label

FIGURES = ("ratio", "local_p", "limits", "cls_scan", "control")


def _arr(block: Mapping[str, Any], key: str) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in block.get(key, [])], dtype=float)


def z_text(block: Mapping[str, Any], key: str) -> str:
    """``"= 2.31"``, or ``"> 2.10"`` when toys only bound Z (no toy beyond the observation)."""
    z = block.get(key)
    if z is not None and np.isfinite(z):
        return f"= {z:.2f}"
    lo = block.get(f"{key}_lo")
    return f"> {lo:.2f}" if lo is not None else "= n/a"


def _method_label(result) -> str:
    return {"padme-run3": "PADME Run III method", "profile": "profile likelihood"}.get(
        result.method, result.method)


def _dataset_label(result) -> str:
    return result.dataset or ""


def _new_axes(ax, **kw):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(**kw)
    return fig, ax


def plot_ratio(result, axes=None):
    """R = N/(PoT B) vs sqrt(s) with the background-only and best S+B fits, and pulls.

    ``axes``: an optional pair (main, pulls); with ``pulls`` None only the main panel is drawn.
    Points not used in the fit are open markers.
    """
    import matplotlib.pyplot as plt

    f = result.fits
    if axes is None:
        fig, (ax, axp) = plt.subplots(2, 1, sharex=True, figsize=(9, 7.5),
                                      gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    else:
        ax, axp = axes
        fig = ax.figure
    s, r, dr = _arr(f, "sqrt_s"), _arr(f, "ratio"), _arr(f, "ratio_err")
    used = np.asarray(f.get("used", [True] * len(s)), dtype=bool)
    ax.errorbar(s[used], r[used], dr[used], fmt="o", color="black", ms=4, label="data (fit points)")
    if (~used).any():
        ax.errorbar(s[~used], r[~used], dr[~used], fmt="o", mfc="white", color="0.4", ms=4,
                    label="not in the fit")
    order = np.argsort(s)
    b = _arr(f, "b_only")
    if b.size:
        cs, cb = ((_arr(f, "curve_sqrt_s"), _arr(f, "curve_b_only")) if "curve_b_only" in f
                  else (s[order], b[order]))
        ax.plot(cs, cb, "-", color="#3f90da", lw=2, label="background-only fit")
    sb = _arr(f, "s_plus_b")
    if sb.size:
        cs, csb = ((_arr(f, "curve_sqrt_s"), _arr(f, "curve_s_plus_b")) if "curve_s_plus_b" in f
                   else (s[order], sb[order]))
        text = f.get("s_plus_b_label")
        if text is None and f.get("s_plus_b_mass_MeV") is not None and f.get("s_plus_b_g"):
            text = (f"signal + background: $M_X$ = {f['s_plus_b_mass_MeV']:.2f} MeV, "
                    f"$g_{{ve}}$ = {f['s_plus_b_g'] * 1e4:.2f}" + r"$\times 10^{-4}$")
        ax.plot(cs, csb, "-", color="#bd1f01", lw=2, label=text or "signal + background fit")
    if used.any():
        # frame the fitted scan and the unfitted points next to it (within 0.5 MeV); far-away
        # control points (below resonance) are in the control-region figure
        near = (s >= s[used].min() - 0.5) & (s <= s[used].max() + 0.5)
        lo, hi = s[near].min(), s[near].max()
        pad = 0.03 * (hi - lo) + 0.02
        ax.set_xlim(lo - pad, hi + pad)
        inside = (s >= lo - pad) & (s <= hi + pad)
        rr, ee = r[inside], dr[inside]
        ymin, ymax = np.nanmin(rr - ee), np.nanmax(rr + ee)
        ax.set_ylim(ymin - 0.05 * (ymax - ymin), ymax + 0.35 * (ymax - ymin))
    ax.set_ylabel(r"$R = N_{2cl}\,/\,(N_{PoT}\,B)$")
    ax.legend(loc="upper right", fontsize=12)
    label(ax, _method_label(result), _dataset_label(result))
    if axp is None:
        ax.set_xlabel("√s [MeV]")
        return fig
    if b.size:
        pulls = (r - b) / dr
        axp.bar(s[used], pulls[used], width=0.012, color="0.3")
        if (~used).any():
            axp.bar(s[~used], pulls[~used], width=0.012, color="0.75")
        axp.axhline(0, color="black", lw=1)
        for v in (-2, 2):
            axp.axhline(v, color="0.6", lw=1, ls=":")
        shown = (s >= ax.get_xlim()[0]) & (s <= ax.get_xlim()[1])
        lim = max(3.0, float(np.nanmax(np.abs(pulls[shown]))) * 1.15)
        axp.set_ylim(-lim, lim)
    axp.set_ylabel("pull (B fit)")
    axp.set_xlabel("√s [MeV]")
    return fig


def plot_local_p(result, ax=None):
    """Local p-value vs M_X (log scale) with 1-3 sigma reference lines and the global p."""
    fig, ax = _new_axes(ax)
    loc = result.local
    m, p = _arr(loc, "mass_MeV"), _arr(loc, "p")
    p_plot = np.clip(p, 1e-7, 1.0)
    ax.plot(m, p_plot, "-", color="black", lw=2, label="observed local p-value")
    if "p_err" in loc:
        dp = _arr(loc, "p_err")
        ax.fill_between(m, np.clip(p - dp, 1e-7, 1), np.clip(p + dp, 1e-7, 1), color="0.8",
                        lw=0, label="toy statistics")
    for z in (1, 2, 3):
        pz = sps.norm.sf(z)
        ax.axhline(pz, color="#bd1f01", ls="--", lw=1)
        ax.text(m.max(), pz * 1.15, f"{z}$\\sigma$", color="#bd1f01", ha="right", va="bottom",
                fontsize=12)
    ex = result.excess or {}
    if ex.get("mass_MeV") is not None and ex.get("p_local") is not None:
        text = f"largest excess: Z$_{{loc}}$ {z_text(ex, 'z_local')}"
        if ex.get("p_global") is not None:
            text += f", Z$_{{glob}}$ {z_text(ex, 'z_global')}"
        ax.plot([ex["mass_MeV"]], [max(ex["p_local"], 1e-7)], "v", color="#bd1f01", ms=9,
                label=text)
    ax.set_yscale("log")
    ax.set_ylim(max(1e-7, min(4e-4, np.nanmin(p_plot) / 4)), 2.0)
    ax.set_xlabel(r"$M_X$ [MeV]")
    ax.set_ylabel("local p-value")
    ax.legend(loc="lower left", fontsize=12)
    label(ax, _method_label(result), _dataset_label(result))
    return fig


def plot_limits(result, ax=None, scale: float = 1e-4):
    """Upper limit on g_ve vs M_X at the result's CL with the expected +-1/2 sigma bands.

    ``scale``: couplings are drawn in units of ``scale`` (default 1e-4). A secondary axis shows
    the kinetic-mixing equivalent epsilon = g_ve / e.
    """
    fig, ax = _new_axes(ax)
    ex = result.expected
    if ex:
        me = _arr(ex, "mass_MeV")
        ax.fill_between(me, _arr(ex, "minus2") / scale, _arr(ex, "plus2") / scale,
                        color=BAND_2SIGMA, lw=0, label=r"expected $\pm 2\sigma$")
        ax.fill_between(me, _arr(ex, "minus1") / scale, _arr(ex, "plus1") / scale,
                        color=BAND_1SIGMA, lw=0, label=r"expected $\pm 1\sigma$")
        ax.plot(me, _arr(ex, "median") / scale, "--", color="black", lw=1.5,
                label="expected (median)")
    lim = result.limits
    if lim:
        ax.plot(_arr(lim, "mass_MeV"), _arr(lim, "observed") / scale, "-", color="black", lw=2,
                label="observed")
    bf = result.bestfit or {}
    if bf.get("mass_MeV") is not None and bf.get("g") is not None and bf["g"] > 0:
        ax.plot([bf["mass_MeV"]], [bf["g"] / scale], "*", color="#bd1f01", ms=14,
                label="best fit")
    cl = round(100 * result.cl)
    exp10 = round(float(np.log10(scale)))
    ax.set_ylabel(rf"$g_{{ve}}$ upper limit at {cl}% CL [$10^{{{exp10}}}$]")
    ax.set_xlabel(r"$M_X$ [MeV]")
    # the limits explode at the edges of the scan; frame the sensitive region instead
    lows = [np.nanmin(_arr(b, k)) for b, k in ((ex, "median"), (lim, "observed")) if b and k in b]
    ymax = ax.get_ylim()[1]
    if lows and np.isfinite(min(lows)):
        ymax = min(ymax * 1.25, 4.2 * min(lows) / scale)
    ax.set_ylim(0, ymax)
    sec = ax.secondary_yaxis("right", functions=(lambda g: g / E_CHARGE, lambda e: e * E_CHARGE))
    sec.set_ylabel(rf"$\varepsilon = g_{{ve}}/e$ [$10^{{{exp10}}}$]")
    ax.legend(loc="upper center", fontsize=12, ncols=2, bbox_to_anchor=(0.5, 0.93))
    label(ax, _method_label(result), _dataset_label(result))
    return fig


def plot_cls_scan(result, ax=None):
    """CLs (and CLs+b, CLb where available) vs g_ve at the most significant mass."""
    fig, ax = _new_axes(ax)
    c = result.cls_scan
    g = _arr(c, "g")
    cls = _arr(c, "cls")
    err = _arr(c, "cls_err") if "cls_err" in c else None
    ax.errorbar(g * 1e4, cls, err, fmt="o-", color="black", ms=4, label=r"CL$_s$", zorder=2)
    if "clsb" in c:
        # open markers drawn over CL_s: where CL_b ~ 1 the two curves coincide
        ax.plot(g * 1e4, _arr(c, "clsb"), "s--", color="#3f90da", ms=5, mfc="none", mew=1.2,
                label=r"CL$_{s+b}$", zorder=3)
    if "clb" in c:
        ax.plot(g * 1e4, _arr(c, "clb"), "^:", color="#94a4a2", ms=3, label=r"CL$_b$")
    if "cls_fit" in c and "g_fit" in c:
        ax.plot(_arr(c, "g_fit") * 1e4, _arr(c, "cls_fit"), "-", color="#ffa90e", lw=1.5,
                label=c.get("fit_label", "interpolation"))
    alpha = 1.0 - float(c.get("cl", result.cl))
    ax.axhline(alpha, color="#bd1f01", ls="--", lw=1, label=f"$1-$CL = {alpha:.2f}")
    y_top = 1.4  # room above the CL_b ~ 1 curve for the legend
    if c.get("g_limit") is not None:
        # stops below the legend
        ax.axvline(c["g_limit"] * 1e4, ymax=1.05 / y_top, color="#bd1f01", lw=1,
                   label=f"{100 * (1 - alpha):.0f} % CL limit: "
                         f"$g_{{ve}}$ = {c['g_limit'] * 1e4:.2f}" + r"$\times 10^{-4}$")
    ax.set_xlabel(r"$g_{ve}$ [$10^{-4}$]")
    ax.set_ylabel("p-value")
    ax.set_ylim(0, y_top)
    ax.set_yticks(np.linspace(0, 1, 6))
    m = c.get("mass_MeV")
    handles, labels = ax.get_legend_handles_labels()
    # matplotlib lists errorbar containers last: CL_s goes first again, then in drawing order
    first = labels.index(r"CL$_s$")
    order = [first] + [i for i in range(len(labels)) if i != first]
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper right",
              fontsize=12, ncols=3, title=None if m is None else f"$M_X$ = {m:.2f} MeV",
              title_fontsize=12)
    label(ax, _method_label(result), _dataset_label(result))
    return fig


def _x_groups(x: np.ndarray, min_gap: float) -> list[tuple[float, float]]:
    """(lo, hi) of the runs of sorted ``x`` separated by more than ``min_gap``."""
    x = np.sort(x[np.isfinite(x)])
    if x.size == 0:
        return []
    cut = np.flatnonzero(np.diff(x) > min_gap)
    starts, ends = np.r_[0, cut + 1], np.r_[cut, x.size - 1]
    return [(float(x[a]), float(x[b])) for a, b in zip(starts, ends, strict=True)]


def plot_control(result, ax=None):
    """Stability of R in the control regions (below resonance, side bands), with fits.

    Regions more than 0.5 MeV apart in sqrt(s) (Run III: 14.5-14.8 and 16.4-17.5 MeV) are drawn
    on a broken x axis, one panel per group with a common y axis; with ``ax`` given, one axis."""
    import matplotlib.pyplot as plt

    regions = (result.control or {}).get("regions", {})
    xs = [_arr(reg, "sqrt_s") for reg in regions.values()]
    groups = _x_groups(np.concatenate(xs), 0.5) if xs else []
    if ax is not None or len(groups) < 2:
        fig, ax = _new_axes(ax)
        axes = [ax]
    else:
        pad = 0.08
        widths = [hi - lo + 2 * pad for lo, hi in groups]
        fig, axes = plt.subplots(1, len(groups), sharey=True, figsize=(9, 6.5),
                                 gridspec_kw={"width_ratios": widths, "wspace": 0.06})
        axes = list(axes)
    for a in axes:
        for i, (name, reg) in enumerate(regions.items()):
            s, r, dr = _arr(reg, "sqrt_s"), _arr(reg, "ratio"), _arr(reg, "ratio_err")
            color = f"C{i}"
            a.errorbar(s, r, dr, fmt="o", color=color, ms=4, label=reg.get("label", name))
            for kind, ls in (("constant", "--"), ("linear", "-")):
                fit = reg.get(kind)
                if fit and "curve" in fit:
                    txt = fit.get("chi2"), fit.get("ndf")
                    lab = (f"{reg.get('label', name).split(' (')[0]}, {kind}: $\\chi^2$/ndf = "
                           f"{txt[0]:.1f}/{txt[1]}" if None not in txt else kind)
                    a.plot(s, _arr(fit, "curve"), ls, color=color, lw=1.2, label=lab)
    axes[0].set_ylabel(r"$R = N/(N_{PoT}\,B)$")
    if len(axes) == 1:
        axes[0].set_xlabel("√s [MeV]")
        axes[0].legend(fontsize=11, loc="best")
        label(axes[0], "control regions", _dataset_label(result))
        return fig
    from matplotlib.ticker import MaxNLocator

    for k, (a, (lo, hi)) in enumerate(zip(axes, groups, strict=True)):
        a.set_xlim(lo - pad, hi + pad)
        a.xaxis.set_major_locator(MaxNLocator(max(2, int(4 * widths[k])), steps=[1, 2, 5]))
        # break marks (fixed-size markers, the same on narrow and wide panels): the panels are
        # one axis with the empty sqrt(s) ranges cut out
        marks = {"marker": [(-1, -2), (1, 2)], "markersize": 10, "linestyle": "none",
                 "color": "k", "mec": "k", "mew": 1.2, "clip_on": False,
                 "transform": a.transAxes}
        if k > 0:
            a.spines["left"].set_visible(False)
            a.tick_params(which="both", left=False, labelleft=False)
            a.plot([0, 0], [0, 1], **marks)
        if k < len(axes) - 1:
            a.spines["right"].set_visible(False)
            a.tick_params(which="both", right=False)
            a.plot([1, 1], [0, 1], **marks)
    axes[-1].set_xlabel("√s [MeV]")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2,
               fontsize=11)
    label(axes[0], "control regions")
    axes[-1].text(1.0, 1.005, _dataset_label(result) or "", transform=axes[-1].transAxes,
                  ha="right", va="bottom", fontsize=14)
    return fig


def _has(block: Mapping[str, Any] | None, key: str) -> bool:
    v = (block or {}).get(key)
    return v is not None and len(v) > 0


_PLOTTERS = {
    "ratio": (plot_ratio, lambda r: _has(r.fits, "sqrt_s")),
    "local_p": (plot_local_p, lambda r: _has(r.local, "mass_MeV")),
    "limits": (plot_limits, lambda r: _has(r.limits, "mass_MeV") or _has(r.expected, "mass_MeV")),
    "cls_scan": (plot_cls_scan, lambda r: _has(r.cls_scan, "g")),
    "control": (plot_control, lambda r: _has(r.control, "regions")),
}


def write_figures(result, outdir: str | Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
    """Draw every figure the result has data for into ``outdir``; return the written paths."""
    import matplotlib.pyplot as plt

    out = Path(outdir)
    written: list[Path] = []
    with figure_style():
        for name, (plotter, available) in _PLOTTERS.items():
            if not available(result):
                continue
            fig = plotter(result)
            for fmt in formats:
                path = out / f"{name}.{fmt}"
                with atomic.atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt)
                written.append(path)
            plt.close(fig)
    return written
