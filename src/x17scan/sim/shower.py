"""Electromagnetic shower model of the fast ECal simulation: lateral sharing and depth.

Lateral profile. The energy density in the plane transverse to the shower axis is a sum of two
components of the Grindhammer-Peters form (hep-ex/0001020),

    g(x, y) = sum_k w_k R_k^2 / (pi (x^2 + y^2 + R_k^2)^2),     sum_k w_k = 1,

a "core" and a "tail", with radii in units of the Moliere radius R_M. The fraction of energy
inside a radius r is sum_k w_k r^2/(r^2 + R_k^2); the default radii (``sim/detectors/run3.toml``)
make it 0.90 at r = R_M and 0.99 at r = 3.5 R_M, the two containment statements of the PDG
review (Passage of particles through matter, "Electromagnetic cascades"). The integral over an
axis-parallel rectangle is analytic (:func:`rect_integral`), so the fraction of energy in each
crystal of a K x K block around the impact cell is tabulated once against the impact position
inside the cell (:func:`sharing_table`) and interpolated bilinearly per particle. Energy that
falls outside the block, into the central hole or outside the grid is lost (leakage).

Depth. The shower is placed on the particle's straight line at the depth of its maximum,
t_max = X0 (ln(E/E_c) + C) with C = +0.5 for photons and -0.5 for electrons/positrons (PDG
review, "Electromagnetic cascades"), so inclined particles hit the crystals further out than
their front-face impact point. The reconstruction undoes this on average
(:mod:`x17scan.reco.clustering`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, eq=False)
class ShowerModel:
    """Parameters of the shower model.

    Attributes
    ----------
    moliere_radius
        R_M of the crystal material (mm); BGO: 22.3 mm.
    radiation_length
        X0 (mm); BGO: 11.2 mm.
    critical_energy
        E_c (MeV) in t_max = X0 (ln(E/E_c) + C).
    depth_c_photon, depth_c_electron
        C for photons and for e+- in t_max.
    weights, radii
        Weights (summing to 1) and radii (units of R_M) of the profile components.
    block
        Odd number K: each particle deposits in the K x K cells around its impact cell.
    table_bins
        Intervals per cell side of the sharing table (nodes = table_bins + 1).
    visible_fraction
        Fraction of the particle's energy seen by the crystals if the lateral profile were fully
        contained (longitudinal leakage, albedo, wrapping and gaps are folded into it).
    """

    moliere_radius: float = 22.3
    radiation_length: float = 11.2
    critical_energy: float = 10.2
    depth_c_photon: float = 0.5
    depth_c_electron: float = -0.5
    weights: tuple[float, ...] = (0.8, 0.2)
    radii: tuple[float, ...] = (0.168, 0.80)
    block: int = 5
    table_bins: int = 32
    visible_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))
        if len(self.weights) != len(self.radii) or not self.weights:
            raise ValueError("shower weights and radii must have the same non-zero length")
        if abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"shower weights must sum to 1, got {sum(self.weights)}")
        if self.block % 2 != 1 or not 1 <= self.block <= 9:
            raise ValueError(f"shower block must be odd, 1..9, got {self.block}")

    def containment(self, r: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the energy within radius ``r`` (mm) of the shower axis."""
        r2 = np.asarray(r, dtype=float) ** 2
        out = np.zeros_like(r2)
        for w, rk in zip(self.weights, self.radii, strict=True):
            big_r = rk * self.moliere_radius
            out = out + w * r2 / (r2 + big_r * big_r)
        return out

    def t_max(self, energy: ArrayLike, photon: ArrayLike = True) -> NDArray[np.float64]:
        """Depth of the shower maximum (mm) for ``energy`` (MeV), >= 0."""
        c = np.where(np.asarray(photon, dtype=bool), self.depth_c_photon, self.depth_c_electron)
        e = np.maximum(np.asarray(energy, dtype=float), 1e-300)
        return self.radiation_length * np.maximum(np.log(e / self.critical_energy) + c, 0.0)

    def rect_fraction(self, x1: ArrayLike, x2: ArrayLike, y1: ArrayLike,
                      y2: ArrayLike) -> NDArray[np.float64]:
        """Fraction of the energy in the rectangle [x1, x2] x [y1, y2] (mm, axis at 0)."""
        out = 0.0
        for w, rk in zip(self.weights, self.radii, strict=True):
            out = out + w * rect_integral(x1, x2, y1, y2, rk * self.moliere_radius)
        return np.asarray(out, dtype=float)

    @cached_property
    def _tables(self) -> dict[float, NDArray[np.float64]]:
        return {}

    def sharing_table(self, pitch: float) -> NDArray[np.float64]:
        """Fractions of the energy in the K x K cells around the impact cell, tabulated at the
        (B+1) x (B+1) impact positions (u, v) = (i/B, j/B) inside the cell (u = 0 at the low-x
        edge): array [iu, iv, dy + K//2, dx + K//2], float64, cached per pitch (mm)."""
        key = float(pitch)
        tab = self._tables.get(key)
        if tab is None:
            tab = _build_table(self, key)
            tab.setflags(write=False)
            self._tables[key] = tab
        return tab


def quadrant_integral(x: ArrayLike, y: ArrayLike, radius: float) -> NDArray[np.float64]:
    """Integral of R^2 / (pi (x^2 + y^2 + R^2)^2) over [0, x] x [0, y] (odd in x and y):
    (x/a atan(y/a) + y/b atan(x/b)) / (2 pi), a = sqrt(x^2 + R^2), b = sqrt(y^2 + R^2)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    a = np.sqrt(x * x + radius * radius)
    b = np.sqrt(y * y + radius * radius)
    return (x / a * np.arctan(y / a) + y / b * np.arctan(x / b)) / (2.0 * np.pi)


def rect_integral(x1: ArrayLike, x2: ArrayLike, y1: ArrayLike, y2: ArrayLike,
                  radius: float) -> NDArray[np.float64]:
    """Integral of the unit-normalised profile of radius ``radius`` (mm) over a rectangle."""
    def f(x, y):
        return quadrant_integral(x, y, radius)

    return f(x2, y2) - f(x1, y2) - f(x2, y1) + f(x1, y1)


def _build_table(model: ShowerModel, pitch: float) -> NDArray[np.float64]:
    k = model.block
    h = k // 2
    nb = model.table_bins
    u = np.arange(nb + 1) / nb
    d = np.arange(-h, h + 1)
    # cell (dx, dy) spans x in [(dx - u) p, (dx - u + 1) p] relative to the impact point
    x1 = (d[None, :] - u[:, None]) * pitch  # [iu, dx]
    x2 = x1 + pitch
    tab = model.rect_fraction(x1[:, None, None, :], x2[:, None, None, :],
                              x1[None, :, :, None], x2[None, :, :, None])
    return np.ascontiguousarray(tab)  # [iu, iv, dy, dx]
