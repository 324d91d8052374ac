"""Pure physics formulas: constants, kinematics, resonance, line shapes, cross sections, (g-2).

No I/O and no imports from other x17scan subpackages. Everything broadcasts over numpy arrays.
Units: MeV, mm, ns; cross sections in mb.
"""

from x17scan.physics.constants import DIAMOND, DIAMOND_100UM, Material, Target
from x17scan.physics.kinematics import (
    acceptance_cos,
    atomki_mass,
    atomki_theta_min,
    beta_cm,
    cos_star_from_lab,
    dsqrts_debeam,
    e_beam,
    e_res,
    gamma_cm,
    r_min_partner,
    sqrt_s,
    theta_lab,
)
from x17scan.physics.xsec import (
    dsigma_bhabha,
    dsigma_gg,
    k_factor,
    sigma_bhabha,
    sigma_gamma_x,
    sigma_gg,
    sigma_gg_total_dirac,
    sigma_in_acceptance,
)

__all__ = [
    "DIAMOND",
    "DIAMOND_100UM",
    "Material",
    "Target",
    "acceptance_cos",
    "atomki_mass",
    "atomki_theta_min",
    "beta_cm",
    "cos_star_from_lab",
    "dsigma_bhabha",
    "dsigma_gg",
    "dsqrts_debeam",
    "e_beam",
    "e_res",
    "gamma_cm",
    "k_factor",
    "r_min_partner",
    "sigma_bhabha",
    "sigma_gamma_x",
    "sigma_gg",
    "sigma_gg_total_dirac",
    "sigma_in_acceptance",
    "sqrt_s",
    "theta_lab",
]
