"""Charged tracks through the PADME dipole: a uniform vertical field between two planes.

PADME's dipole (1 m yoke centred 1028 mm downstream of the target front face, field along y,
bending in the horizontal plane) was off in Run III (docs/detector.md §6), and the shipped
detector keeps it at 0 T. A field is an option for systematic studies: a residual field of the
yoke, or the "MC signal and bkg with magnetic field ON" labels of PADME's Run III inputs
(PADMERunIIISensitivity prepareInput.C:24-27; detector.md §6, open question 3).

Model: hard-edged uniform field B_y between ``z_start`` and ``z_end`` (mm from the target front
face), no field elsewhere, no aperture (the yoke gap is not simulated). In the field region an
e+- moves on a helix whose projection on the x-z plane is a circle of radius p_T / (0.2998 B)
(p_T = sqrt(p_x^2 + p_z^2) in MeV/c, B in T, radius in mm); p_y / p_T is constant. The detector
kernels propagate straight lines from the vertex, so :func:`bend` returns for each particle the
momentum of the same magnitude pointing from its vertex to the point where the true track
crosses the ECal face. At the ETag, 15.7 mm upstream, that line and the true track differ by
15.7 mm times their angle (0.07 mm for a 4.5 mrad bend). Units: MeV, mm, T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from x17scan.physics.constants import C_MM_PER_NS

MEV_PER_TESLA_MM: float = C_MM_PER_NS * 1e-3
"""p [MeV/c] = 0.299792458 B [T] rho [mm] for a unit charge (c = 299.792458 mm/ns, CODATA)."""

YOKE_Z_START: float = 528.0
"""Upstream end of the dipole yoke (mm from the target front face): the yoke spans z = -500 to
+500 mm around the dipole centre (padme-fw develop PadmeMC/Magnet/src/MagnetGeometry.cc:27-33,
:60-64), which is 1028 mm downstream of the target front face (docs/detector.md §6, "Coordinate
frame")."""

YOKE_Z_END: float = 1528.0
"""Downstream end of the dipole yoke (mm from the target front face)."""


@dataclass(frozen=True)
class DipoleField:
    """Uniform vertical field ``field`` (T; B_y > 0 bends e+ moving along +z towards -x) between
    ``z_start`` and ``z_end`` (mm from the target front face)."""

    field: float = 0.0
    z_start: float = YOKE_Z_START
    z_end: float = YOKE_Z_END

    @property
    def on(self) -> bool:
        return self.field != 0.0

    def displacement(self, p: float, z_face: float) -> float:
        """Horizontal displacement (mm) at ``z_face`` (mm) of a unit charge of momentum ``p``
        (MeV/c) entering the field along z, to first order in the bend angle:
        0.2998 B / p x L (L / 2 + z_face - z_end), L = z_end - z_start."""
        length = self.z_end - self.z_start
        return (MEV_PER_TESLA_MM * abs(self.field) / p * length
                * (0.5 * length + z_face - self.z_end))


def bend(vertex: NDArray, pdg: NDArray, p: NDArray, magnet: DipoleField,
         z_face: float) -> NDArray[np.float64]:
    """Effective straight-line momenta (MeV/c) of the particles of ``n`` events after the field.

    ``vertex`` (n, 3) mm, ``pdg`` (n, 2), ``p`` (n, 2, 3) MeV/c as in
    :class:`~x17scan.sim.events.TruthEvents`; ``z_face`` (mm) is the plane where the true track
    and the returned line meet (the ECal front face). Photons, empty slots and backward
    particles are unchanged; an e+- that turns back inside the field (it never reaches the
    ECal) gets a backward momentum, which the detector ignores. Returns a new array."""
    out = np.array(p, dtype=np.float64, copy=True)
    if not magnet.on:
        return out
    charge = np.where(pdg == -11, 1.0, np.where(pdg == 11, -1.0, 0.0))
    for slot in range(pdg.shape[1]):
        m = (charge[:, slot] != 0.0) & (p[:, slot, 2] > 0.0)
        if not m.any():
            continue
        px, py, pz = (p[m, slot, k] for k in range(3))
        vx, vy, vz = (vertex[m, k] for k in range(3))
        pt = np.hypot(px, pz)
        kappa = -charge[m, slot] * MEV_PER_TESLA_MM * magnet.field / pt  # d(angle)/d(arc), 1/mm
        z1 = np.maximum(vz, magnet.z_start)
        z2 = np.maximum(magnet.z_end, z1)
        x1 = vx + (z1 - vz) * px / pz
        y1 = vy + (z1 - vz) * py / pz
        a0 = np.arctan2(px, pz)
        s1 = np.sin(a0) + kappa * (z2 - z1)
        lost = np.abs(s1) >= 1.0
        a1 = np.arcsin(np.clip(s1, -1.0, 1.0))
        # chord of the arc: dx/dz = tan of the mean angle, arc = chord (d/2) / sin(d/2); both
        # stay accurate for vanishing fields, where (cos a0 - cos a1) / kappa would cancel
        half = 0.5 * (a1 - a0)
        dz = z2 - z1
        dx = dz * np.tan(a0 + half)
        chord = np.hypot(dz, dx)
        arc = chord / np.sinc(half / np.pi)
        x2 = x1 + dx
        y2 = y1 + py / pt * arc
        rest = z_face - z2
        xf = x2 + rest * np.tan(a1)
        yf = y2 + rest * (py / pt) / np.cos(a1)
        d = np.stack([xf - vx, yf - vy, z_face - vz], axis=1)
        d /= np.linalg.norm(d, axis=1)[:, None]
        pm = np.sqrt(px * px + py * py + pz * pz)
        d[lost] = (0.0, 0.0, -1.0)
        out[m, slot, :] = d * pm[:, None]
    return out
