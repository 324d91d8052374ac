"""Synthetic scan tables with known truth: for tests, validation studies and benchmarks.

A PADME-like scan (42 points over sqrt(s) = 16.39-17.38 MeV, 1e10 PoT per point, B ~ 3.5e-6
per PoT, eps ~ 0.09) whose counts are either the expectation (Asimov, ``seed=None``) or Poisson
draws, with an optional injected signal from any :class:`~x17scan.stats.signal.SignalModel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from x17scan.data.scantable import ScanTable
from x17scan.physics.kinematics import e_beam as e_beam_of


def synthetic_table(n_points: int = 42, sqrt_s_range: tuple[float, float] = (16.39, 17.38), *,
                    pot: float | ArrayLike = 1.0e10, bkg_per_pot: float = 3.5e-6,
                    bkg_slope: float = 0.02, sig_eff: float = 0.09,
                    pot_rel_err: float = 0.004, bkg_rel_err: float = 0.005,
                    eff_rel_err: float = 0.005, k: tuple[float, float] = (1.0, 0.0),
                    signal: Any = None, mass: float | None = None, g: float = 0.0,
                    seed: int | np.random.Generator | None = None, observable: str = "2cl",
                    below: int = 0, name: str = "synthetic") -> ScanTable:
    """A synthetic scan table (module docstring).

    ``bkg_slope``: relative slope of B per MeV; ``k``: true (k0, k1 [1/MeV]) of the
    normalisation K(sqrt s) = k0 + k1 (sqrt s - 16.92) applied to the background (and signal)
    expectation; ``signal``/``mass``/``g``: injected signal; ``seed``: None -> expected counts,
    else Poisson counts; ``below``: extra unused points below the scan (control region).
    """
    s = np.linspace(*sqrt_s_range, n_points)
    used = np.ones(n_points, bool)
    if below:
        s = np.concatenate([np.linspace(14.55, 14.76, below), s])
        used = np.concatenate([np.zeros(below, bool), used])
    n = s.size
    pot_arr = np.broadcast_to(np.asarray(pot, float), (n,)).copy() if np.ndim(pot) == 0 \
        else np.concatenate([np.full(below, 1e10), np.asarray(pot, float)])
    b = bkg_per_pot * (1.0 + bkg_slope * (s - 16.92))
    eff = np.full(n, sig_eff)
    kk = k[0] + k[1] * (s - 16.92)
    lam = kk * pot_arr * b
    cols = {"sqrt_s": s, "e_beam": e_beam_of(s), "pot": pot_arr, "pot_err": pot_rel_err * pot_arr,
            "bkg_per_pot": b, "bkg_per_pot_err": bkg_rel_err * b, "sig_eff": eff,
            "sig_eff_err": eff_rel_err * eff, "used": used,
            "scan_part": np.where(used, 0, -1)}
    if signal is not None and g > 0 and mass is not None:
        tmp = ScanTable.from_columns({**cols, "n_obs": lam})
        lam = lam + kk * g * g * signal.template(tmp, [mass])[0]
    if seed is None:
        n_obs = lam
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        n_obs = rng.poisson(lam).astype(float)
    return ScanTable.from_columns({**cols, "n_obs": n_obs},
                                  meta={"name": name, "observable": observable,
                                        "truth": {"k": list(k), "mass": mass, "g": g}})


def synthetic_ee_gg(frac_ee: float = 0.8, eff_ee: float = 0.085, eff_gg: float = 0.005,
                    **kw: Any) -> tuple[ScanTable, ScanTable]:
    """ee- and gamma-gamma-tagged tables of one synthetic scan: background fractions
    ``frac_ee``/(1 - frac_ee) of B, signal efficiencies ``eff_ee``/``eff_gg``; other keywords
    as :func:`synthetic_table` (with the same ``seed`` both tables share nothing random:
    each gets its own stream)."""
    seed = kw.pop("seed", None)
    rng = None if seed is None else np.random.default_rng(seed)
    b = kw.pop("bkg_per_pot", 3.5e-6)
    ee = synthetic_table(bkg_per_pot=frac_ee * b, sig_eff=eff_ee, seed=rng, observable="ee",
                         name="synthetic-ee", **kw)
    kw["k"] = (1.0, 0.0)  # the normalisation curve describes the ee/gg ratio
    gg = synthetic_table(bkg_per_pot=(1 - frac_ee) * b, sig_eff=eff_gg, seed=rng,
                         observable="gg", name="synthetic-gg", **kw)
    return ee, gg
