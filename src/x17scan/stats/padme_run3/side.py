"""Side limits shown in PADME's figures (method doc §10), not the main result.

"Bkg stat only" (stored by PADME under the misleading name ``FeldmanCousinsLimit90``): for each
mass take the ``n_points`` (FrequentistNPoints = 5) points with the largest nominal signal
yield Y(sqrt s_i; M); n_exp = sum PoT_i B_i K_i (nominal K), n_sig = sum PoT_i Y_i K_i B_i
(eps/B)_i (nominal eps/B line), and g_UL = sqrt(1.28 sqrt(n_exp) / n_sig): a 1.28-sigma
background fluctuation with statistical errors only. The Rolke-Lopez variant is not provided.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.stats.padme_run3.model import PadmeProblem, signal_yield


def bkg_stat_only_limits(problem: PadmeProblem, masses: ArrayLike, n_points: int = 5
                         ) -> NDArray[np.float64]:
    """g_UL per mass of PADME's "Bkg stat only" curve (dimensionless coupling)."""
    c = problem.center
    k = c[0] + c[1] * problem.x
    effb = c[5] + c[6] * problem.x
    out = []
    for m in np.atleast_1d(np.asarray(masses, dtype=np.float64)):
        y = signal_yield(problem, float(m))
        top = np.argsort(-y, kind="stable")[:n_points]
        n_exp = np.sum(problem.pot[top] * problem.bkg[top] * k[top])
        n_sig = np.sum(problem.pot[top] * y[top] * k[top] * problem.bkg[top] * effb[top])
        out.append(np.sqrt(1.28 * np.sqrt(n_exp) / n_sig))
    return np.asarray(out)
