"""Pure physics formulas: constants, kinematics, resonance, line shapes, cross sections, (g-2).

No I/O and no imports from other x17scan subpackages. Everything broadcasts over numpy arrays.
Units: MeV, mm, ns; cross sections in mb. Modules: ``constants``, ``kinematics``, ``resonance``
(widths, Breit-Wigner, integrated yield), ``compton`` (carbon Compton profiles), ``lineshape``
(signal kernels in beam energy, yield per positron on target), ``xsec`` (Bhabha, gamma gamma,
gamma X), ``g2`` (one-loop Delta a).
"""

from x17scan.physics.constants import DIAMOND, DIAMOND_100UM, Material, Target
from x17scan.physics.g2 import delta_a, g_max
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
from x17scan.physics.lineshape import (
    LINESHAPES,
    e_res_model,
    kernel,
    kernel_fwhm,
    kernel_peak,
    yield_per_pot,
)
from x17scan.physics.resonance import (
    SPINS,
    integrated_xsec_s,
    integrated_xsec_sqrts,
    integrated_yield,
    sigma_bw,
    width,
    yield_free_gaussian,
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
    "LINESHAPES",
    "SPINS",
    "Material",
    "Target",
    "acceptance_cos",
    "atomki_mass",
    "atomki_theta_min",
    "beta_cm",
    "cos_star_from_lab",
    "delta_a",
    "dsigma_bhabha",
    "dsigma_gg",
    "dsqrts_debeam",
    "e_beam",
    "e_res",
    "e_res_model",
    "g_max",
    "gamma_cm",
    "integrated_xsec_s",
    "integrated_xsec_sqrts",
    "integrated_yield",
    "k_factor",
    "kernel",
    "kernel_fwhm",
    "kernel_peak",
    "r_min_partner",
    "sigma_bhabha",
    "sigma_bw",
    "sigma_gamma_x",
    "sigma_gg",
    "sigma_gg_total_dirac",
    "sigma_in_acceptance",
    "sqrt_s",
    "theta_lab",
    "width",
    "yield_free_gaussian",
    "yield_per_pot",
]
