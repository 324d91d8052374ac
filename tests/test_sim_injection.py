"""An X17 injected into a simulated scan is found at its mass by the analysis.

Reduced size: the Run III points within 0.15 MeV of the injected mass, a coupling large enough
to make the excess unmistakable (g_ve = 2e-3, 16x the yield of 5e-4), few MC events per point;
the profile method's asymptotic local significance picks the mass. The reference is the
injected mass itself: the most significant mass must lie within one scan step of it, and the
same scan without injection must show no comparable excess.
"""

import numpy as np
import pytest

from x17scan.beam import load_plan
from x17scan.sim.pipeline import SimOptions, simulate

M_X = 16.9


@pytest.fixture(scope="module")
def plan():
    p = load_plan("run3")
    pts = tuple(q for q in p.points if q.kind == "on-resonance" and abs(q.sqrt_s - M_X) < 0.15)
    return p.replace(points=pts)


def _local_scan(res):
    from x17scan.stats.calculators import AsymptoticCalculator
    from x17scan.stats.profile import ProfileMethod

    masses = np.round(np.arange(M_X - 0.12, M_X + 0.1201, 0.01), 6)
    asym = AsymptoticCalculator(ProfileMethod(res.tables["2cl"]).model(masses))
    _, z = asym.local_pvalues()
    return masses, np.asarray(z), np.asarray(asym.mu_hat)


@pytest.mark.parametrize("gve", [2e-3, None])
def test_injected_signal_found_at_its_mass(plan, gve):
    opts = SimOptions(events_per_point=2000, chunk_size=2000, signal_mass=M_X if gve else None,
                      gve=gve or 5e-4, seed=17, write_events="none")
    res = simulate(opts, None, plan=plan, progress=False)
    masses, z, mu = _local_scan(res)
    j = int(np.argmax(np.where(mu > 0, z, -np.inf)))
    w = np.sort([q.sqrt_s for q in plan.points])
    step = float(np.median(np.diff(w)))
    if gve:
        assert z[j] > 5.0
        assert abs(masses[j] - M_X) <= step, (masses[j], step)
    else:
        # no injection: no local excess beyond what 25 masses of a flat scan give by chance
        assert z[j] < 3.5
