"""ETag: the Run III electron tagger, a plane of horizontal plastic-scintillator bars in front of
the ECal with vertical segmentation (docs/detector.md §1.6, §5).

15 rows of 660 x 44 x 5 mm^3 bars, row r centred at y = (r - 7) x 44.3 mm; rows 6-8 are each two
265 mm bars centred at x = +-197.5 mm, leaving a central gap |x| < 65 mm three rows high. The
frame is centred on x = y = 0 (no ECal survey offset). Bar id = 10 row (+1 for the x > 0 short
bar), as PadmeMC. A bar fires when a charged particle crosses its active area (efficiency
``efficiency``); a photon fires it only if it converted upstream (``photon_conversion``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, eq=False)
class EtagConfig:
    """ETag geometry (mm) and response.

    Attributes
    ----------
    z
        Distance of the bar plane from the target front face (mm).
    n_rows, row_pitch, bar_height, bar_length
        Rows, their pitch, active bar height and full bar length (mm).
    short_rows
        Rows made of two short bars.
    short_bar_length, short_bar_centre
        Length and |x| of the centre of the short bars (mm).
    efficiency
        Probability that a crossing charged particle gives a hit.
    photon_conversion
        Probability that a photon converts upstream of the bars (then tagged like a charged
        particle).
    time_resolution
        Gaussian time resolution of a bar hit (ns).
    merge_window
        Hits of one bar closer than this (ns) make one hit (the earliest time).
    """

    z: float = 3624.7
    n_rows: int = 15
    row_pitch: float = 44.3
    bar_height: float = 44.0
    bar_length: float = 660.0
    short_rows: tuple[int, ...] = (6, 7, 8)
    short_bar_length: float = 265.0
    short_bar_centre: float = 197.5
    efficiency: float = 0.99
    photon_conversion: float = 0.005
    time_resolution: float = 1.0
    merge_window: float = 17.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "short_rows", tuple(int(r) for r in self.short_rows))

    @property
    def centre_row(self) -> int:
        """Row at y = 0."""
        return self.n_rows // 2

    @property
    def gap_half_width(self) -> float:
        """Half width (mm) of the central gap of the short-bar rows."""
        return self.short_bar_centre - 0.5 * self.short_bar_length

    def short_mask(self) -> NDArray[np.uint8]:
        """(n_rows,) uint8, 1 for rows made of two short bars."""
        m = np.zeros(self.n_rows, dtype=np.uint8)
        m[list(self.short_rows)] = 1
        return m

    def bar_at(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.int64]:
        """Bar id hit by a particle crossing the bar plane at (x, y) (mm); -1 if none (outside,
        in the central gap or in the dead paint between bars)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        row = np.floor(y / self.row_pitch + 0.5).astype(np.int64) + self.centre_row
        dy = y - (row - self.centre_row) * self.row_pitch
        ok = (row >= 0) & (row < self.n_rows) & (np.abs(dy) < 0.5 * self.bar_height)
        ok &= np.abs(x) < 0.5 * self.bar_length
        short = self.short_mask()[np.clip(row, 0, self.n_rows - 1)].astype(bool)
        ok &= ~short | (np.abs(x) > self.gap_half_width)
        bar = 10 * row + (short & (x > 0))
        return np.where(ok, bar, -1)
