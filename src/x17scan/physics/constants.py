"""Physical constants, unit conversions and target materials.

The one place where numbers of nature live. Units: MeV, mm, ns; cross sections in mb.
Sources: CODATA 2018 (Tiesinga et al., Rev. Mod. Phys. 93 (2021) 025010) and the PDG
Review of Particle Physics (Phys. Rev. D 110 (2024) 030001), as noted per value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --- fundamental constants ------------------------------------------------------------------
M_E: float = 0.51099895000
"""Electron mass (MeV). CODATA 2018."""

M_MU: float = 105.6583755
"""Muon mass (MeV). CODATA 2018."""

ALPHA: float = 1.0 / 137.035999084
"""Fine-structure constant alpha(0). CODATA 2018."""

E_CHARGE: float = math.sqrt(4.0 * math.pi * ALPHA)
"""Elementary charge in natural (Heaviside-Lorentz) units, sqrt(4 pi alpha) = 0.3028221."""

HBARC_MEV_FM: float = 197.3269804
"""hbar*c (MeV fm). CODATA 2018."""

HBARC_MEV_MM: float = HBARC_MEV_FM * 1e-12
"""hbar*c (MeV mm)."""

N_A: float = 6.02214076e23
"""Avogadro constant (1/mol). SI 2019, exact."""

C_MM_PER_NS: float = 299.792458
"""Speed of light (mm/ns). SI, exact."""

R_E_FM: float = ALPHA * HBARC_MEV_FM / M_E
"""Classical electron radius (fm), alpha hbar c / m_e = 2.8179403 fm."""

# --- unit conversions -------------------------------------------------------------------------
HBARC2_MEV2_MB: float = HBARC_MEV_FM**2 * 10.0
"""(hbar c)^2 in MeV^2 mb (= 0.3893794 GeV^2 mb; 1 fm^2 = 10 mb).

Multiply a cross section in MeV^-2 by this to get mb."""

MB_TO_CM2: float = 1.0e-27
"""1 mb in cm^2."""

MB_TO_MM2: float = 1.0e-25
"""1 mb in mm^2."""

EV: float = 1.0e-6
"""1 eV in MeV."""

KEV: float = 1.0e-3
"""1 keV in MeV."""

ATOMIC_MOMENTUM_MEV: float = M_E * ALPHA
"""Atomic unit of momentum m_e alpha c (MeV/c) = 3.728940 keV."""

# --- PADME conventions (only for re-implementing PADME's method; see docs) -------------------
M_E_PADME: float = 0.511
"""Rounded electron mass (MeV) used in PADME's Run III statistical code."""

W_B_PADME: float = -7.0e-6
"""Average electron binding energy (MeV) in PADME's E_res(M) (enters E_res only)."""

SQRTS_PIVOT_PADME: float = 16.92
"""Pivot sqrt(s) (MeV) of every straight line in PADME's Run III treatment (SQRTSMID)."""


# --- target materials -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Material:
    """A target material.

    Attributes
    ----------
    name
        Human-readable name.
    density
        Mass density (g/cm^3).
    z, a
        Atomic number and atomic mass (g/mol) of the (single-element) material.
    x0
        Radiation length (g/cm^2).
    """

    name: str
    density: float
    z: int
    a: float
    x0: float

    @property
    def electrons_per_cm3(self) -> float:
        """Electron number density n_e (1/cm^3) = N_A rho Z / A."""
        return N_A * self.density * self.z / self.a

    @property
    def x0_mm(self) -> float:
        """Radiation length (mm)."""
        return self.x0 / self.density * 10.0


@dataclass(frozen=True, slots=True)
class Target:
    """A thin fixed target: a material and a thickness (mm)."""

    material: Material
    thickness: float

    @property
    def electrons_per_cm2(self) -> float:
        """Electrons per unit area n_e * l (1/cm^2)."""
        return self.material.electrons_per_cm3 * self.thickness * 0.1

    @property
    def electrons_per_mb(self) -> float:
        """Electrons per unit area in 1/mb: multiply a cross section in mb to get a probability."""
        return self.electrons_per_cm2 * MB_TO_CM2

    @property
    def thickness_x0(self) -> float:
        """Thickness in radiation lengths."""
        return self.thickness / self.material.x0_mm


DIAMOND = Material(name="diamond", density=3.515, z=6, a=12.011, x0=42.70)
"""Diamond: density 3.515 g/cm^3 (standard value, as in PADME's Geant4 geometry); carbon Z = 6,
A = 12.011 g/mol (PDG atomic and nuclear properties); X0 = 42.70 g/cm^2 (PDG, carbon)."""

DIAMOND_100UM = Target(material=DIAMOND, thickness=0.100)
"""PADME's target: 100 um of diamond (padme-fw PadmeMC/Target/src/TargetGeometry.cc)."""
