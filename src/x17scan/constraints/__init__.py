"""x17scan.constraints: the physics context of an X17 search.

* :mod:`~x17scan.constraints.limits`: external limits on a vector coupled to electrons
  (DarkCast digitisations, package data under ``data/limits``, GPL-2.0-or-later), with
  applicability flags and interpolation at a mass;
* :mod:`~x17scan.constraints.g2`: (g-2)_e bounds (four conventions, Cs or Rb α) and the
  favoured band, via :func:`x17scan.physics.g2.delta_a`; default α(Rb), |Δa| + 3σ;
* :mod:`~x17scan.constraints.atomki`: ATOMKI masses (``data/atomki.toml``), opening angles,
  mass combinations under stated correlation models, combination with a scan's mass profile;
* :mod:`~x17scan.constraints.overlay`: reading result.json blocks for the figures;
* :mod:`~x17scan.constraints.plot`: exclusion plot, its 16-18 MeV zoom, the ATOMKI figure.

Masses in MeV, couplings g_ve (ε = g_ve/e).
"""
