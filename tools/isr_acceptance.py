#!/usr/bin/env python
"""Initial-state radiation and the Run III acceptance: how much does the Bhabha acceptance of
the inferred selection change with ISR, below resonance against the scan points? (A manual
diagnostic for the padme-shape comparison, docs/validation.md; not run in CI.)

Usage: python tools/isr_acceptance.py [events] [seed]

Tree-level Bhabha (:func:`x17scan.physics.xsec.dsigma_bhabha`) with and without ISR from both
beams in the leading-log structure-function approximation (Kuraev-Fadin, exponentiated first
order: D(x) = (b/2)(1 - x)^(b/2 - 1)(1 + 3b/8) - (b/4)(1 + x), b = (2 alpha/pi)(ln(s/m^2) - 1);
collinear photons, so the reduced system keeps zero transverse momentum and moves along the
beam with the rapidity set by the two momentum fractions). Massless final-state kinematics in
light-cone variables; an idealised detector: impact at the ECal face, both bodies on a crystal
of the Run III map, the inferred selection's one-sided radius and energy cuts at the nominal
sqrt(s) (``Selection.cut_values``), energy sum > 0.7 E_tot and the azimuth wedges; no
resolution, no shower. The same random numbers serve both samples (common random numbers), so
the ratio K_ISR = sigma_acc(ISR)/sigma_acc(tree) has a small error.

What it answers: PADME's B column is relatively higher at the five below-resonance points than
the fast simulation's (docs/validation.md); if ISR raised the acceptance there relative to the
scan points, a K factor held constant below 16.4 MeV would miss it.
"""

from __future__ import annotations

import sys

import numpy as np

from x17scan.physics import xsec
from x17scan.physics.constants import ALPHA, M_E
from x17scan.physics.kinematics import e_beam
from x17scan.reco.selection import Selection
from x17scan.sim.detector import DetectorConfig

SQRT_S = (14.55, 14.76, 16.39, 16.92, 17.53)
"""A below-resonance point each end, and the scan's first, pivot and last point (MeV)."""


def structure_function_draw(rng: np.random.Generator, n: int, b: float):
    """x from (b/2)(1 - x)^(b/2 - 1) and the weight D(x)/that density."""
    y = rng.random(n) ** (2.0 / b)  # 1 - x
    x = 1.0 - y
    with np.errstate(divide="ignore", over="ignore"):
        dens = 0.5 * b * y ** (0.5 * b - 1.0)
        wt = 1.0 + 3.0 * b / 8.0 - 0.25 * b * (1.0 + x) / dens
    return x, np.where(np.isfinite(dens), wt, 1.0 + 3.0 * b / 8.0)


def acceptance(w_nom: float, isr: bool, n: int, seed: int, c_max: float = 0.6) -> float:
    """Accepted Bhabha cross section (mb) at nominal sqrt(s) ``w_nom`` (MeV)."""
    rng = np.random.default_rng(seed)
    sel = Selection.preset("padme-run3-inferred")
    ecal = DetectorConfig.preset("run3").ecal
    eb = float(e_beam(w_nom))
    cv = sel.cut_values(eb)
    dist = cv["distance"]
    half = np.radians(sel.cuts["phi"]["half_width"])
    s = w_nom * w_nom
    c = rng.uniform(-c_max, c_max, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    weight = np.full(n, 2.0 * c_max)
    b = 2.0 * ALPHA / np.pi * (np.log(s / M_E**2) - 1.0)
    x1, w1 = structure_function_draw(rng, n, b)
    x2, w2 = structure_function_draw(rng, n, b)
    if not isr:
        x1 = x2 = np.ones(n)
        w1 = w2 = np.ones(n)
    # light-cone components of the reduced system: e+ (p+ = 2 E x1), e- at rest (p- = m x2)
    p_plus, p_minus = 2.0 * eb * x1, M_E * x2
    s_red = p_plus * p_minus
    ok = s_red > (4.0 * M_E) ** 2
    w_red = np.sqrt(np.where(ok, s_red, 1.0))
    y = 0.5 * np.log(p_plus / p_minus)
    weight = weight * w1 * w2 * np.where(ok, xsec.dsigma_bhabha(np.maximum(w_red, 4 * M_E), c), 0)
    eta = (np.arctanh(c) + y, np.arctanh(-c) + y)
    pt = 0.5 * w_red * np.sqrt(1.0 - c * c)
    theta = [2.0 * np.arctan(np.exp(-e)) for e in eta]
    energy = [pt * np.cosh(e) for e in eta]
    radius = [dist * np.tan(t) for t in theta]
    lead = energy[0] >= energy[1]
    r1, r2 = np.where(lead, radius[0], radius[1]), np.where(lead, radius[1], radius[0])
    e1, e2 = np.where(lead, energy[0], energy[1]), np.where(lead, energy[1], energy[0])
    on_crystal = np.ones(n, bool)
    for r, ph in ((radius[0], phi), (radius[1], phi + np.pi)):
        row, col = ecal.cell_of(r * np.cos(ph), r * np.sin(ph))
        on_crystal &= ecal.has_crystal(row, col)
    acc = (ok & on_crystal & (np.abs(np.cos(phi)) > np.cos(half))
           & (r1 < cv["r_max"]) & (r2 > cv["r_min"]) & (e1 > cv["e_min"]) & (e2 < cv["e_max"])
           & (energy[0] + energy[1] > 0.7 * cv["e_tot"]))
    return float(np.sum(weight * acc) / n)


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 4_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rows = [(w, acceptance(w, False, n, seed), acceptance(w, True, n, seed)) for w in SQRT_S]
    pivot = next(hi / lo for w, lo, hi in rows if w == 16.92)
    print(f"{'sqrt_s':>7} {'tree (mb)':>10} {'ISR (mb)':>10} {'K_ISR':>7} {'/K(16.92)':>10}")
    for w, lo, hi in rows:
        print(f"{w:7.2f} {lo:10.5f} {hi:10.5f} {hi / lo:7.4f} {hi / lo / pivot:10.4f}")


if __name__ == "__main__":
    main()
