"""PADME-like ECal geometry: a 29 x 29 grid of BGO crystals with a central hole.

Crystal (row, col) has its centre at x = pitch (col - 14) + offset_x, y = pitch (row - 14) +
offset_y (mm), in a frame whose z axis is the beam axis and whose origin is the target front
face (docs/detector.md §1.3, §2). Crystal ids are ``row * 29 + col`` (0..840); PADME's
reconstruction uses ``100 * col + row`` (:func:`padme_channel_id`).

The crystal mask is package data (``sim/detectors/run3.toml``): map 0 of PadmeMC, 616 crystals,
5 x 5 hole.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

N_SIDE = 29
"""Cells per side of the ECal grid."""

CENTRE = 14
"""Index of the central row/column."""

N_CELLS = N_SIDE * N_SIDE


@dataclass(frozen=True, eq=False)
class EcalGeometry:
    """ECal geometry (lengths in mm).

    Attributes
    ----------
    mask
        (29, 29) bool, True where a crystal exists; index [row, col] with row along y.
    pitch
        Cell pitch (mm): 21.35 in PadmeMC, 21.45 in PadmeReco.
    z_front
        Distance of the front face from the target front face (mm).
    offset
        (x, y) survey offset of the grid centre (mm).
    crystal_size, crystal_length
        Transverse size and length of a crystal (mm); informative (the response model treats
        cells as tiling the plane and puts the inactive wrapping into its visible fraction).
    """

    mask: NDArray[np.bool_]
    pitch: float = 21.35
    z_front: float = 3640.41
    offset: tuple[float, float] = (0.0, 0.0)
    crystal_size: float = 21.0
    crystal_length: float = 230.0

    def __post_init__(self) -> None:
        m = np.asarray(self.mask, dtype=bool)
        if m.shape != (N_SIDE, N_SIDE):
            raise ValueError(f"ECal mask must be {N_SIDE} x {N_SIDE}, got {m.shape}")
        m.setflags(write=False)
        object.__setattr__(self, "mask", m)
        object.__setattr__(self, "offset", (float(self.offset[0]), float(self.offset[1])))

    @property
    def n_crystals(self) -> int:
        """Number of crystals (616 for map 0)."""
        return int(self.mask.sum())

    @cached_property
    def mask_flat(self) -> NDArray[np.uint8]:
        """(841,) uint8 crystal mask indexed by crystal id."""
        return np.ascontiguousarray(self.mask.ravel().astype(np.uint8))

    def centres(self, pitch: float | None = None,
                offset: tuple[float, float] | None = None) -> tuple[NDArray, NDArray]:
        """(x, y) of every cell centre (mm), arrays (841,) indexed by crystal id; ``pitch`` and
        ``offset`` override the geometry's (e.g. PadmeReco's 21.45 mm pitch)."""
        p = self.pitch if pitch is None else float(pitch)
        ox, oy = self.offset if offset is None else offset
        idx = np.arange(N_CELLS)
        row, col = np.divmod(idx, N_SIDE)
        return p * (col - CENTRE) + ox, p * (row - CENTRE) + oy

    def crystal_ids(self) -> NDArray[np.int64]:
        """Ids of the existing crystals, ascending."""
        return np.flatnonzero(self.mask.ravel())

    def crystal_radii(self) -> NDArray[np.float64]:
        """Distance (mm) of each existing crystal centre from the grid centre (no offset)."""
        x, y = self.centres(offset=(0.0, 0.0))
        ids = self.crystal_ids()
        return np.hypot(x[ids], y[ids])

    def cell_of(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray, NDArray]:
        """(row, col) of the cell containing the point (x, y) (mm); may lie outside 0..28."""
        fx = (np.asarray(x, dtype=float) - self.offset[0]) / self.pitch + CENTRE + 0.5
        fy = (np.asarray(y, dtype=float) - self.offset[1]) / self.pitch + CENTRE + 0.5
        return np.floor(fy).astype(np.int64), np.floor(fx).astype(np.int64)

    def has_crystal(self, row: ArrayLike, col: ArrayLike) -> NDArray[np.bool_]:
        """True where (row, col) is inside the grid and holds a crystal."""
        r, c = np.broadcast_arrays(np.asarray(row, dtype=np.int64),
                                   np.asarray(col, dtype=np.int64))
        inside = (r >= 0) & (r < N_SIDE) & (c >= 0) & (c < N_SIDE)
        out = np.zeros(r.shape, dtype=bool)
        out[inside] = self.mask[r[inside], c[inside]]
        return out


def crystal_id(row: ArrayLike, col: ArrayLike) -> NDArray[np.int64]:
    """x17scan crystal id ``row * 29 + col``."""
    return np.asarray(row, dtype=np.int64) * N_SIDE + np.asarray(col, dtype=np.int64)


def padme_channel_id(cid: ArrayLike) -> NDArray[np.int64]:
    """PadmeReco channel id ``100 * ix + iy`` (ix = column, iy = row) of x17scan crystal ids
    (PadmeReco/config.template/2022/ECal_Calib6.cfg:109-117; the grid centre is 1414)."""
    row, col = np.divmod(np.asarray(cid, dtype=np.int64), N_SIDE)
    return 100 * col + row


def parse_map(rows: list[str]) -> NDArray[np.bool_]:
    """Turn 29 strings of '0'/'1' (row 0 first) into a (29, 29) bool mask."""
    if len(rows) != N_SIDE or any(len(r) != N_SIDE or set(r) - {"0", "1"} for r in rows):
        raise ValueError(f"crystal map must be {N_SIDE} strings of {N_SIDE} characters 0/1")
    return np.array([[c == "1" for c in r] for r in rows], dtype=bool)
