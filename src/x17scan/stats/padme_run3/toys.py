"""Pseudo-data generation (method doc §5, PADME's ``GenerateGeneralPseudoData``).

Per point, given true PoT^t, B^t and a true relative model m_i = K^t_i (1 + s^t_i):

    mu_i = PoT^t_i B^t_i m_i,  N_i ~ Gauss(mu_i, sqrt(mu_i))  (not Poisson, not rounded)
    PoT^o_i = PoT^t_i + Gauss(0, sigma_PoT,i),   B^o_i = B^t_i + Gauss(0, sigma_B,i)

Two kinds: CLs toys ("toy of toy", auxiliary centres kept) and pseudo-experiments for the
expected band (all auxiliary observables re-sampled around the nominal values through the
Cholesky factor T: centre = nominal + T z, z ~ N(0, 1)^7, which draws (P0, P1) and (e0, e1)
from their 2-D Gaussians and Y0, Gamma_L, BES independently).

Random streams are keyed, not sequential: :func:`keyed_rng` derives a child of the dataset's
``SeedSequence`` from integer keys (kind, mass, coupling), so the toys of a grid point are the
same whatever grid, mode, task split or worker count produced them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from x17scan.stats.padme_run3.model import N_PAR, Dataset, PadmeProblem, fit_line, model_sb

F64 = NDArray[np.float64]

KIND_PSEUDO = 0
KIND_BTOYS = 1
KIND_SBTOYS = 2


def keyed_rng(ss: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """Generator of the child stream ``key`` of ``ss`` (independent of spawn order)."""
    child = np.random.SeedSequence(entropy=ss.entropy,
                                   spawn_key=tuple(ss.spawn_key) + tuple(int(k) for k in key),
                                   pool_size=ss.pool_size)
    return np.random.default_rng(child)


def grid_key(mass: float, g: float) -> tuple[int, int]:
    """Integer key of a grid point: mass in 10 eV units, g in units of 1e-10."""
    return round(mass * 1e5), round(g * 1e10)


def generate(rng: np.random.Generator, n_toys: int, pot_t: F64, bkg_t: F64, rel_model: F64,
             pot_err: F64, bkg_err: F64) -> tuple[F64, F64, F64]:
    """(N, PoT^o, B^o), each (..., n_toys, n) for ``rel_model`` of shape (..., n).

    ``pot_t``, ``bkg_t``: true PoT (positrons) and B (per PoT), broadcastable to (..., n).
    """
    rel_model = np.asarray(rel_model, dtype=np.float64)
    lead = rel_model.shape[:-1]
    n = rel_model.shape[-1]
    z = rng.standard_normal((*lead, n_toys, 3, n))
    mu = (pot_t * bkg_t * rel_model)[..., None, :]
    n_obs = mu + np.sqrt(mu) * z[..., 0, :]
    pot_o = np.broadcast_to(pot_t, (*lead, n))[..., None, :] + pot_err * z[..., 1, :]
    bkg_o = np.broadcast_to(bkg_t, (*lead, n))[..., None, :] + bkg_err * z[..., 2, :]
    return n_obs, pot_o, bkg_o


def rel_model_b(problem: PadmeProblem, p: F64) -> F64:
    """K(sqrt s_i) for background-only truths p = (P0, P1) (..., 2) -> (..., n)."""
    return p[..., 0:1] + p[..., 1:2] * problem.x


def rel_model_sb(problem: PadmeProblem, theta: F64, mass: F64, g: F64) -> F64:
    """K (1 + s) for S+B truths: theta (B, 7), mass (B,), g (B,) -> (B, n)."""
    eres = problem.e_res(mass)
    u = problem.e_beam[None, :] - eres[:, None]
    mu, _ = model_sb(np.atleast_2d(theta), problem.x, u, np.atleast_1d(eres),
                     np.atleast_1d(g) ** 2, jac=False)
    return mu


def pseudo_experiment(problem: PadmeProblem, rng: np.random.Generator,
                      inject: tuple[float, float] | None = None) -> Dataset:
    """One background-only (or signal-injected) pseudo-experiment from the nominal inputs.

    True values: nominal K (config centre), measured PoT and B; auxiliary observables all
    re-sampled. ``inject = (M, g)`` adds a signal with the nominal shape parameters.
    With ``config.pseudo_bkg == "scan_lines"`` the true B is a weighted straight line in
    sqrt(s) per sub-scan and the observed B that line with re-sampled parameters (no per-point
    scatter; a what-if, see :class:`~x17scan.stats.padme_run3.config.PadmeRun3Config`).
    """
    z_aux = rng.standard_normal(N_PAR)
    center = problem.center + problem.T @ z_aux
    bkg_t = problem.bkg
    bkg_lines = None
    if problem.config.pseudo_bkg == "scan_lines":
        bkg_t = np.empty(problem.n)
        bkg_lines = np.empty(problem.n)
        for part in np.unique(problem.scan_part):
            sel = problem.scan_part == part
            p, cov, _ = fit_line(problem.x[sel], problem.bkg[sel], problem.bkg_err[sel])
            q = p + np.linalg.cholesky(cov) @ rng.standard_normal(2)
            bkg_t[sel] = p[0] + p[1] * problem.x[sel]
            bkg_lines[sel] = q[0] + q[1] * problem.x[sel]
    if inject is None:
        rel = rel_model_b(problem, problem.center[:2])
    else:
        m, g = inject
        rel = rel_model_sb(problem, problem.center[None, :], np.array([m]), np.array([g]))[0]
    n_obs, pot_o, bkg_o = generate(rng, 1, problem.pot, bkg_t, rel, problem.pot_err,
                                   problem.bkg_err)
    bkg = bkg_o[0] if bkg_lines is None else bkg_lines
    return Dataset(n_obs=n_obs[0], pot=pot_o[0], bkg=bkg, center=center)
