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


# --- more constants -----------------------------------------------------------------------------
U_MEV: float = 931.49410242
"""Atomic mass unit (MeV). CODATA 2018."""

R_E2_MB: float = R_E_FM**2 * 10.0
"""Classical electron radius squared (mb), r_e^2 = 79.407877 mb (1 fm^2 = 10 mb)."""

# Atomic masses (u) of the ATOMKI nuclei, AME2020 (Wang et al., Chin. Phys. C 45 (2021) 030003).
# Nuclear masses follow by subtracting Z m_e (electron binding energies, < 1 keV, neglected).
M_HE4_NUCLEUS: float = 4.00260325413 * U_MEV - 2 * M_E
"""Mass of the 4He nucleus (MeV), from the AME2020 atomic mass 4.00260325413 u."""

M_BE8_NUCLEUS: float = 8.00530510 * U_MEV - 4 * M_E
"""Mass of the 8Be nucleus, ground state (MeV), from the AME2020 atomic mass 8.00530510 u."""

M_C12_NUCLEUS: float = 12.0 * U_MEV - 6 * M_E
"""Mass of the 12C nucleus (MeV), atomic mass 12 u exactly (definition of u)."""

# --- carbon Compton-profile parameters ----------------------------------------------------------
CARBON_STO_ZETA: dict[str, float] = {"1s": 5.6727, "2s": 1.6083, "2p": 1.5679}
"""Single-zeta Slater exponents (atomic units) of carbon orbitals (Clementi & Raimondi,
J. Chem. Phys. 38 (1963) 2686; docs/physics.md §6.3 b, to be checked against the paper)."""

CARBON_OCCUPATION: dict[str, int] = {"1s": 2, "2s": 2, "2p": 2}
"""Electrons per shell in atomic carbon (ground state 1s2 2s2 2p2)."""

# --- PADME Run III geometry and signal model (docs/detector.md, docs/physics.md §6.5, §9) -------
ECAL_DISTANCE_RUN3: float = 3640.4
"""Target front face to ECal front face in Run III (mm): padme-fw branch clara_MC
PadmeMC/ECal/src/ECalGeometry.cc (z = 2612.41 mm vs target at -1028 mm); docs/detector.md §1.3."""

ECAL_DISTANCE_PHYSICS_TABLE: float = 3636.0
"""Effective target-ECal distance (mm) used for the reference table of docs/physics.md §9
(reproduces PADMERunIIISensitivity plotmaking/Kinematics.C to <= 0.3 % with massless kinematics)."""

R_MAX_RUN3: float = 270.0
"""Fiducial outer cluster radius of the Run III selection (mm); 230 and 300 mm are variations."""

A_PEAK_PADME: float = 13.56
"""PADME signal normalisation A_peak (MeV per g_ve^2, +- 0.18): integral over E_beam of the
Voigt line shape (PADMERunIIISensitivity input/config_generic.txt, SignalPeakYield)."""

A_PEAK_PADME_ERR: float = 0.18
"""Uncertainty of :data:`A_PEAK_PADME` (MeV)."""

GAMMA_L_PADME: float = 1.72
"""Lorentzian HALF width (MeV, in E_beam, +- 0.039) of PADME's Voigt line shape
(PADMERunIIISensitivity input/config_generic.txt, SignalLorentzianWidth)."""

GAMMA_L_PADME_ERR: float = 0.039
"""Uncertainty of :data:`GAMMA_L_PADME` (MeV)."""

BES_PADME: float = 0.0025
"""Relative beam-energy spread of PADME Run III (+- 0.0005), PADME statistical code."""

BES_PADME_ERR: float = 0.0005
"""Uncertainty of :data:`BES_PADME` (relative)."""

E_RES_REF_PADME: float = 282.27
"""Resonant beam energy (MeV) at M = 17 MeV where gamma_L was fitted; used to scale gamma_L
proportionally to E_res for other masses (docs/physics.md §6.6)."""

K_FACTOR_PADME: dict[str, tuple[float, float]] = {
    "bhabha": (0.9706, 0.0060),
    "gg": (0.9840, 0.0059),
    "both": (0.9731, 0.0058),
}
"""NLO/LO ratio sigma_BabaYaga / sigma_CalcHEP in the Run III acceptance, fitted as
p0 + p1 (sqrt(s) - 16.92 MeV) (p1 per MeV) over 41 scan points: (p0, p1) per process.
Source: PADMERunIIISensitivity (commit f9d62b0) plotmaking/fig12_1_paper.C, fig12_2_paper.C
(docs/physics.md §9). Errors: bhabha (0.0005, 0.0017), gg (0.0026, 0.0096),
both (0.00065, 0.0024)."""

# --- (g-2)_e inputs (docs/physics.md §12; literature, to be checked before use as defaults) ----
DELTA_A_E_RB_2020: tuple[float, float] = (4.8e-13, 3.0e-13)
"""Delta a_e = a_e(exp) - a_e(SM) and its 1 sigma with alpha(Rb) (Morel et al., Nature 588
(2020) 61) and a_e(exp) of Hanneke et al., PRL 100 (2008) 120801."""

DELTA_A_E_CS_2018: tuple[float, float] = (-8.8e-13, 3.6e-13)
"""Delta a_e and its 1 sigma with alpha(Cs) (Parker et al., Science 360 (2018) 191) and a_e(exp)
of Hanneke et al. (2008)."""
