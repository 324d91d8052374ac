"""PADME Run III observable, signal model and chi-square (method doc §2-§3).

Observable per point: R_i = N_i / (PoT_i B_i) with relative error
sigma_rel^2 = (sigma_PoT/PoT)^2 + 1/N + (sigma_B/B)^2 (weights w_i = 1/(R_i sigma_rel,i)^2).
Model: mu_i = K(sqrt s_i) [1 + g^2 Y0 V(E_beam,i - E_res(M); BES E_res, Gamma_L) E(sqrt s_i)],
K = P0 + P1 x, E = e0 + e1 x, x = sqrt s - 16.92 MeV. Parameter vector (index order of every
array in this subpackage): ``theta = (P0, P1, Y0, Gamma_L, BES, e0, e1)``.

Constraints (§3b (b)-(d)) are written in whitened form: theta = c + T v with c the auxiliary
observables ("centres") and T a block-lower-triangular Cholesky factor of their covariance, so
that chi2_constraints = |v|^2. The background-only fit (2 parameters, bracket = 1) is linear
least squares and solved in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.data.scantable import ScanTable
from x17scan.errors import InputError
from x17scan.stats.padme_run3.config import PadmeRun3Config
from x17scan.stats.padme_run3.voigt import voigt_derivs

PARAM_NAMES: tuple[str, ...] = ("P0", "P1", "Y0", "Gamma_L", "BES", "e0", "e1")
N_PAR = 7
IP0, IP1, IY0, IGAM, IBES, IE0, IE1 = range(N_PAR)

F64 = NDArray[np.float64]


def e_res(mass: ArrayLike, m_e: float, w_b: float) -> F64:
    """Resonance beam energy E_res(M) = (M^2 - 2 m_e^2)/(2 (m_e + W_b)) in MeV (§3a)."""
    m = np.asarray(mass, dtype=np.float64)
    return (m * m - 2.0 * m_e * m_e) / (2.0 * (m_e + w_b))


def e_beam(sqrt_s: ArrayLike, m_e: float) -> F64:
    """Beam energy E_beam = (s - 2 m_e^2)/(2 m_e) in MeV (PADME's m_e, §3a)."""
    s = np.asarray(sqrt_s, dtype=np.float64) ** 2
    return (s - 2.0 * m_e * m_e) / (2.0 * m_e)


def ratio_and_weights(n_obs: ArrayLike, pot: ArrayLike, bkg: ArrayLike, pot_err: ArrayLike,
                      bkg_err: ArrayLike) -> tuple[F64, F64]:
    """R = N/(PoT B) and chi2 weights w = 1/(R sigma_rel)^2 (§2), broadcast (float64)."""
    n = np.asarray(n_obs, dtype=np.float64)
    p = np.asarray(pot, dtype=np.float64)
    b = np.asarray(bkg, dtype=np.float64)
    r = n / (p * b)
    rel2 = (np.asarray(pot_err) / p) ** 2 + 1.0 / n + (np.asarray(bkg_err) / b) ** 2
    return r, 1.0 / (r * r * rel2)


def fit_line(x: F64, y: F64, sy: F64) -> tuple[F64, F64, float]:
    """Weighted straight line y = a0 + a1 x: (params, covariance, chi2).

    What ROOT's TGraphErrors::Fit("pol1"-like, "ESQ") returns for a linear model with y errors:
    the least-squares solution and the unscaled inverse of the normal matrix.
    """
    w = 1.0 / sy**2
    a = np.array([[w.sum(), (w * x).sum()], [(w * x).sum(), (w * x * x).sum()]])
    b = np.array([(w * y).sum(), (w * x * y).sum()])
    cov = np.linalg.inv(a)
    p = cov @ b
    chi2 = float((w * (y - p[0] - p[1] * x) ** 2).sum())
    return p, cov, chi2


@dataclass(frozen=True, eq=False)
class PadmeProblem:
    """The fixed ingredients of the fits for one scan table (the used points only).

    ``center`` holds the nominal auxiliary observables (K constraint, Y0, Gamma_L, BES from the
    config; the eps/B line fitted from the table or given); ``T`` maps whitened nuisance
    coordinates v to parameters (theta = center + T v). Datasets (the data, pseudo-experiments)
    share everything here except their counts, PoT, B and auxiliary centres.
    """

    config: PadmeRun3Config
    sqrt_s: F64
    x: F64
    e_beam: F64
    n_obs: F64
    pot: F64
    pot_err: F64
    bkg: F64
    bkg_err: F64
    sig_eff: F64
    sig_eff_err: F64
    period: NDArray[np.int64]
    scan_part: NDArray[np.int64]
    center: F64
    T: F64
    T_inv: F64
    effb: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_table(cls, table: ScanTable, config: PadmeRun3Config | None = None
                   ) -> PadmeProblem:
        """Build the problem from the ``used`` rows of a scan table (errors used as given)."""
        cfg = config or PadmeRun3Config()
        t = table.fit_points()
        if len(t) < 4:
            raise InputError(f"only {len(t)} used points; the padme-run3 fit needs at least 4",
                             field="used", fix="mark more points as used")
        if np.any(t.n_obs <= 0):
            i = int(np.flatnonzero(t.n_obs <= 0)[0])
            raise InputError("n_obs must be > 0 on used points (R and its error need it)",
                             field="n_obs", row=i, fix="drop empty points from the fit")
        x = t.sqrt_s - cfg.pivot
        if cfg.effb_line is None:
            if np.any(t.sig_eff <= 0) or np.any(t.sig_eff_err <= 0):
                raise InputError("the eps/B line needs sig_eff > 0 and sig_eff_err > 0",
                                 field="sig_eff", fix="give efficiencies with errors, or "
                                 "pass effb_line=(e0, e1, err0, err1, rho) in the config")
            y = t.sig_eff / t.bkg_per_pot
            sy = y * np.sqrt((t.bkg_per_pot_err / t.bkg_per_pot) ** 2
                             + (t.sig_eff_err / t.sig_eff) ** 2)
            p, cov, chi2 = fit_line(x, y, sy)
            s0, s1 = np.sqrt(np.diag(cov))
            effb = {"e0": float(p[0]), "e1": float(p[1]), "e0_err": float(s0),
                    "e1_err": float(s1), "rho": float(cov[0, 1] / (s0 * s1)),
                    "chi2": chi2, "ndf": len(t) - 2, "source": "fit of the table"}
        else:
            e0, e1, s0, s1, rho = cfg.effb_line
            effb = {"e0": e0, "e1": e1, "e0_err": s0, "e1_err": s1, "rho": rho,
                    "source": "config"}
        center = np.array([cfg.k_p0, cfg.k_p1, cfg.y0, cfg.gamma_l, cfg.bes,
                           effb["e0"], effb["e1"]])
        T = np.zeros((N_PAR, N_PAR))
        T[0:2, 0:2] = np.linalg.cholesky(cfg.k_cov())
        T[IY0, IY0] = cfg.y0_err
        T[IGAM, IGAM] = cfg.gamma_l_err
        T[IBES, IBES] = cfg.bes_err
        s0, s1, r = effb["e0_err"], effb["e1_err"], effb["rho"]
        T[5:7, 5:7] = np.linalg.cholesky(np.array([[s0 * s0, r * s0 * s1],
                                                   [r * s0 * s1, s1 * s1]]))
        return cls(config=cfg, sqrt_s=t.sqrt_s.copy(), x=x, e_beam=e_beam(t.sqrt_s, cfg.m_e),
                   n_obs=t.n_obs.copy(), pot=t.pot.copy(), pot_err=t.pot_err.copy(),
                   bkg=t.bkg_per_pot.copy(), bkg_err=t.bkg_per_pot_err.copy(),
                   sig_eff=t.sig_eff.copy(), sig_eff_err=t.sig_eff_err.copy(),
                   period=t.period.copy(), scan_part=t.scan_part.copy(), center=center,
                   T=T, T_inv=np.linalg.inv(T),
                   effb=effb, meta={"name": table.name, "n_points": len(t)})

    @property
    def n(self) -> int:
        """Number of fit points."""
        return int(self.sqrt_s.size)

    def e_res(self, mass: ArrayLike) -> F64:
        """E_res(M) in MeV with the configured PADME conventions."""
        return e_res(mass, self.config.m_e, self.config.w_b)

    def k_prec(self) -> F64:
        """Precision matrix of the K constraint."""
        return np.linalg.inv(self.config.k_cov())

    def data(self) -> Dataset:
        """The measured dataset (counts, PoT, B and nominal auxiliary centres)."""
        return Dataset(n_obs=self.n_obs, pot=self.pot, bkg=self.bkg, center=self.center)

    def to_theta(self, v: F64, center: F64) -> F64:
        """theta = center + T v (last axis = parameters)."""
        return center + v @ self.T.T

    def to_v(self, theta: F64, center: F64) -> F64:
        """v = T^-1 (theta - center)."""
        return (theta - center) @ self.T_inv.T


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset to analyse: per-point N, PoT, B (arrays (n,)) and its auxiliary centres (7,).

    The measured data, or a pseudo-experiment (resampled counts, PoT, B and centres).
    """

    n_obs: F64
    pot: F64
    bkg: F64
    center: F64

    def ratio_weights(self, problem: PadmeProblem) -> tuple[F64, F64]:
        """R and w of this dataset (input errors of the problem)."""
        return ratio_and_weights(self.n_obs, self.pot, self.bkg, problem.pot_err,
                                 problem.bkg_err)


def fit_b(r: F64, w: F64, x: F64, k_center: F64, k_prec: F64) -> tuple[F64, F64]:
    """Closed-form background-only fit (§3b (a)+(b)), batched over leading axes.

    Minimises sum_i w_i (R_i - P0 - P1 x_i)^2 + (p - k)^T C^-1 (p - k).
    Returns (p = (P0, P1) with shape (..., 2), chi2_min (...)).
    """
    sw = w.sum(-1)
    swx = (w * x).sum(-1)
    swxx = (w * x * x).sum(-1)
    swr = (w * r).sum(-1)
    swxr = (w * x * r).sum(-1)
    kc = np.broadcast_to(k_center, (*sw.shape, 2))
    ck = kc @ k_prec.T
    a00 = sw + k_prec[0, 0]
    a01 = swx + k_prec[0, 1]
    a11 = swxx + k_prec[1, 1]
    b0 = swr + ck[..., 0]
    b1 = swxr + ck[..., 1]
    det = a00 * a11 - a01 * a01
    p0 = (a11 * b0 - a01 * b1) / det
    p1 = (a00 * b1 - a01 * b0) / det
    p = np.stack([p0, p1], axis=-1)
    res = r - p0[..., None] - p1[..., None] * x
    d = p - kc
    chi2 = (w * res * res).sum(-1) + np.einsum("...i,ij,...j->...", d, k_prec, d)
    return p, chi2


def model_sb(theta: F64, x: F64, u: F64 | None, eres: F64, g2: F64, jac: bool = True,
             vdv: tuple[F64, F64, F64] | None = None) -> tuple[F64, F64 | None]:
    """mu_i and d mu_i / d theta for rows of parameters.

    ``theta`` (B, 7); ``x`` (n,) = sqrt s - pivot; ``u`` (B, n) = E_beam,i - E_res(M_row);
    ``eres`` (B,) = E_res(M_row); ``g2`` (B,) = g^2. Returns mu (B, n) and J (B, n, 7).
    ``vdv``: precomputed (V, dV/dsigma, dV/dgamma) at this theta (then ``u`` is unused).
    """
    p0, p1, y0, gam, bes, e0, e1 = (theta[:, k:k + 1] for k in range(N_PAR))
    k = p0 + p1 * x
    eff = e0 + e1 * x
    if vdv is None:
        v, dvs, dvg = voigt_derivs(u, bes * eres[:, None], gam)
    else:
        v, dvs, dvg = vdv
    a = g2[:, None] * y0
    av = a * v
    s = av * eff
    mu = k * (1.0 + s)
    if not jac:
        return mu, None
    J = np.empty((*mu.shape, N_PAR))
    one_s = 1.0 + s
    J[..., IP0] = one_s
    J[..., IP1] = x * one_s
    kg = k * g2[:, None]
    J[..., IY0] = kg * v * eff
    kae = k * a * eff
    J[..., IGAM] = kae * dvg
    J[..., IBES] = kae * dvs * eres[:, None]
    kav = k * av
    J[..., IE0] = kav
    J[..., IE1] = kav * x
    return mu, J


def chi2_sb(theta: ArrayLike, r: F64, w: F64, problem: PadmeProblem, mass: float, g: float,
            center: F64 | None = None) -> float:
    """Full S+B chi-square (points + constraints) at one parameter vector (for cross-checks)."""
    th = np.asarray(theta, dtype=np.float64).reshape(1, N_PAR)
    c = problem.center if center is None else center
    er = problem.e_res(mass)
    u = (problem.e_beam - er)[None, :]
    mu, _ = model_sb(th, problem.x, u, np.array([er]), np.array([g * g]), jac=False)
    v = problem.to_v(th, c)
    return float((w * (r - mu[0]) ** 2).sum() + (v * v).sum())


def chi2_b(p: ArrayLike, r: F64, w: F64, problem: PadmeProblem, center: F64 | None = None
           ) -> float:
    """Background-only chi-square at (P0, P1) (points + K constraint)."""
    p = np.asarray(p, dtype=np.float64)
    c = (problem.center if center is None else center)[:2]
    d = p - c
    res = r - p[0] - p[1] * problem.x
    return float((w * res * res).sum() + d @ problem.k_prec() @ d)


def signal_yield(problem: PadmeProblem, mass: float, y0: float | None = None,
                 gamma_l: float | None = None, bes: float | None = None) -> F64:
    """Y(sqrt s_i; M) = Y0 V(E_beam - E_res; BES E_res, Gamma_L): X17 produced per PoT per g^2.

    Defaults: the configured nominal shape parameters (§3a). Units: per PoT per g^2.
    """
    cfg = problem.config
    y0 = cfg.y0 if y0 is None else y0
    gam = cfg.gamma_l if gamma_l is None else gamma_l
    bes_ = cfg.bes if bes is None else bes
    er = float(problem.e_res(mass))
    v, _, _ = voigt_derivs(problem.e_beam - er, bes_ * er, gam)
    return y0 * v
