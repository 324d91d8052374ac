"""Pure physics formulas: constants, kinematics, resonance, line shapes, cross sections, (g-2).

No I/O and no imports from other x17scan subpackages. Everything broadcasts over numpy arrays.
Units: MeV, mm, ns; cross sections in mb.
"""

from x17scan.physics.constants import DIAMOND, DIAMOND_100UM, Material, Target
from x17scan.physics.kinematics import beta_cm, dsqrts_debeam, e_beam, e_res, gamma_cm, sqrt_s

__all__ = [
    "DIAMOND",
    "DIAMOND_100UM",
    "Material",
    "Target",
    "beta_cm",
    "dsqrts_debeam",
    "e_beam",
    "e_res",
    "gamma_cm",
    "sqrt_s",
]
