"""One plotting style for every x17scan figure (mplhep, ROOT-like), and the figure label."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib

BAND_1SIGMA = "#00cc00"  # the conventional green/yellow ("Brazil") expected-limit bands
BAND_2SIGMA = "#ffcc00"
COLORS = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6", "#a96b59", "#e76300", "#b9ac70")


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Context in which figures get the x17scan style (restores rcParams on exit)."""
    import mplhep

    with matplotlib.rc_context():
        mplhep.style.use("ROOT")
        matplotlib.rcParams.update({
            "axes.prop_cycle": matplotlib.cycler(color=COLORS),
            "figure.figsize": (8.0, 6.0),
            "legend.frameon": False,
            "legend.fontsize": 14,
            "axes.labelsize": 22,
            "xtick.labelsize": 18,
            "ytick.labelsize": 18,
            "savefig.dpi": 130,
            "savefig.bbox": "tight",
        })
        yield


def label(ax, text: str = "", rlabel: str | None = None, simulation: bool = False) -> None:
    """Top-left "x17scan <text>" label (``Simulation`` for simulated inputs) and an optional
    right-hand label (the data set)."""
    import mplhep

    mplhep.label.exp_label(exp="x17scan", text=text, rlabel=rlabel or "", ax=ax, loc=0,
                           data=not simulation, fontsize=14)
