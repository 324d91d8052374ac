"""The profile likelihood of a resonance scan, batched over data sets and mass hypotheses.

Model (one Poisson term per used point i; ``x_i = sqrt(s_i) - 16.92 MeV``)::

    lambda_i = K(sqrt s_i) (1 + sigma_i u_i) [ b_i + mu s_i(M; theta) (1 + tau_i v_i) ]
    K        = k0 + k1 x_i                       background normalisation (free by default)
    b_i      = PoT_i B_i                          expected SM events
    s_i      = PoT_i eps_i Y(E_beam,i; M)         signal events per unit mu = g_ve^2
    sigma_i  = sqrt((dPoT/PoT)^2 + (dB/B)^2)      per-point normalisation uncertainty
    tau_i    = d eps_i / eps_i                    per-point efficiency uncertainty

    -ln L = sum_i [lambda_i - n_i ln lambda_i + lgamma(n_i + 1)]              (continuous Poisson)
            + 1/2 sum_i [(u_i - a_i)^2 + (v_i - c_i)^2]                        (per-point nuisances)
            + 1/2 sum_j (theta_j - t_j)^2                                       (signal shape)
            [+ 1/2 (k - k_aux)^T C_K^-1 (k - k_aux)  if the K curve is constrained]

``n_i`` may be non-integer (PADME's N2 is a corrected yield). The variance of each point is the
model expectation lambda_i (plus the nuisance terms), never the observed value. The signal shape
s_i(M; theta) = (1 + r theta_norm) (s0 + sum_j a_j theta_j + c_j theta_j^2) interpolates
quadratically between the -1/0/+1 sigma templates of :class:`~x17scan.stats.signal.TemplateSet`.
Global observables (a_i, c_i, t_j, k_aux) are part of the data set (:class:`ScanData`): they are 0
(resp. the K prior) for the observed data and are re-sampled in toys.

Parameters: globals ``[mu, k0, k1, theta_1..]`` (one row per data set), locals ``[u_i(, v_i)]``
per point. ``mu`` is in physical units (g_ve^2). The fitter (:mod:`x17scan.stats.fit`) sees only
:meth:`ScanModel.data_terms` (value, gradient, Hessian blocks of the Poisson part) and the
quadratic constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from x17scan.errors import InputError
from x17scan.physics.constants import SQRTS_PIVOT_PADME
from x17scan.stats.signal import SignalModel, TemplateSet

PADME_K_PRIOR = ((1.01163, -1.03e-2), (0.0013, 0.004), -0.06)
"""PADME's constraint on the background normalisation curve K: (k0, k1 [1/MeV]) central values,
their errors and correlation (docs/padme-run3-method.md §3b (b))."""

Array = NDArray[np.float64]


@dataclass
class ScanData:
    """A batch of data sets: counts ``n`` (B, n_points), global observables of the global
    constraints ``aux_g`` (B, n_glob) and of the per-point constraints ``aux_l`` (B, n_points,
    n_loc)."""

    n: Array
    aux_g: Array
    aux_l: Array

    def __len__(self) -> int:
        return int(self.n.shape[0])

    def take(self, idx: ArrayLike) -> ScanData:
        """Rows ``idx`` of the batch."""
        return ScanData(self.n[idx], self.aux_g[idx], self.aux_l[idx])

    def repeat(self, k: int) -> ScanData:
        """Each data set repeated ``k`` times in a row (for fits at several hypotheses)."""
        return ScanData(np.repeat(self.n, k, 0), np.repeat(self.aux_g, k, 0),
                        np.repeat(self.aux_l, k, 0))

    @staticmethod
    def concat(parts: list[ScanData]) -> ScanData:
        """One batch from several."""
        return ScanData(np.concatenate([p.n for p in parts]),
                        np.concatenate([p.aux_g for p in parts]),
                        np.concatenate([p.aux_l for p in parts]))


@dataclass
class DataTerms:
    """Value and derivatives of the data part of -ln L (deviance form), per data set."""

    f: Array          # (B,)
    grad_g: Array     # (B, G)
    grad_l: Array     # (B, n, L)
    h_gg: Array       # (B, G, G)
    h_gl: Array       # (B, n, G, L)
    h_ll: Array       # (B, n, L, L)


def _quad_solve_start(n: Array, b: Array, x: Array) -> tuple[Array, Array]:
    """Weighted straight line k0 + k1 x through R = n/b (weights b^2/n): start values."""
    r = n / b
    w = b * b / np.maximum(n, 1.0)
    sw, swx, swxx = w.sum(-1), (w * x).sum(-1), (w * x * x).sum(-1)
    swy, swxy = (w * r).sum(-1), (w * x * r).sum(-1)
    det = sw * swxx - swx * swx
    k0 = (swxx * swy - swx * swxy) / det
    k1 = (sw * swxy - swx * swy) / det
    return k0, k1


@dataclass
class ScanModel:
    """Batched Poisson likelihood of a scan for a set of mass hypotheses (module docstring).

    Build it with :meth:`from_table`. Arrays are over the *used* points of the table.
    """

    sqrt_s: Array
    n_obs: Array
    b: Array
    sigma: Array
    tau: Array
    templates: TemplateSet
    background: str = "free"
    k_prior: tuple[tuple[float, float], tuple[float, float], float] = PADME_K_PRIOR
    efficiency: str = "per-point"
    pivot: float = SQRTS_PIVOT_PADME
    pot: Array | None = None
    bkg_per_pot: Array | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_table(cls, table: Any, signal: SignalModel | TemplateSet, masses: ArrayLike,
                   *, background: str = "free", k_prior: Any = None,
                   efficiency: str = "per-point", pivot: float = SQRTS_PIVOT_PADME) -> ScanModel:
        """Model of the used points of ``table`` (a ScanTable) for ``masses`` (MeV).

        ``signal``: a :class:`SignalModel` (templates computed here) or ready templates on the
        used points. ``background``: ``"free"`` (K free, data-driven) or ``"constrained"`` (K
        constrained by ``k_prior``, default PADME's). ``efficiency``: ``"per-point"`` (one
        Gaussian nuisance per point from sig_eff_err) or ``"none"``.
        """
        if background not in ("free", "constrained"):
            raise InputError(f"unknown background treatment {background!r}", field="background",
                             fix="use 'free' (data-driven K curve) or 'constrained'")
        if efficiency not in ("per-point", "none"):
            raise InputError(f"unknown efficiency treatment {efficiency!r}", field="efficiency",
                             fix="use 'per-point' or 'none'")
        t = table.fit_points() if not table.used.all() else table
        if t.n_used < 3:
            raise InputError(f"only {t.n_used} used points", field="used",
                             fix="a scan fit needs at least 3 points (2 background parameters)")
        if isinstance(signal, TemplateSet):
            tset = signal
            if tset.nominal.shape[1] != len(t):
                raise InputError(f"templates have {tset.nominal.shape[1]} points, the table "
                                 f"{len(t)} used points", field="templates",
                                 fix="build the templates on table.fit_points()")
        else:
            tset = signal.variations(t, masses)
        pot, bpp = np.asarray(t.pot, float), np.asarray(t.bkg_per_pot, float)
        sigma = np.hypot(t.pot_err / pot, t.bkg_per_pot_err / bpp)
        eff = np.asarray(t.sig_eff, float)
        tau = np.divide(t.sig_eff_err, eff, out=np.zeros(len(t)), where=eff > 0)
        return cls(sqrt_s=np.asarray(t.sqrt_s, float), n_obs=np.asarray(t.n_obs, float),
                   b=pot * bpp, sigma=sigma, tau=tau, templates=tset, background=background,
                   k_prior=k_prior or PADME_K_PRIOR, efficiency=efficiency, pivot=pivot,
                   pot=pot, bkg_per_pot=bpp)

    def __post_init__(self) -> None:
        tset = self.templates
        self.x = self.sqrt_s - self.pivot
        self.n_points = self.sqrt_s.size
        self.has_norm = tset.norm_rel > 0
        self.r_norm = float(tset.norm_rel)
        self.n_shape = len(tset.shape_names)
        self.n_theta = int(self.has_norm) + self.n_shape
        self.n_glob = 3 + self.n_theta
        self.n_loc = 2 if self.efficiency == "per-point" else 1
        self.glob_names = ("mu", "k0", "k1", *tset.names)
        self.loc_names = ("u", "v")[: self.n_loc]
        self.s0 = np.ascontiguousarray(tset.nominal)
        a, c = tset.quadratic_coefficients()
        self.a, self.c = np.ascontiguousarray(a), np.ascontiguousarray(c)
        self.masses = np.asarray(tset.masses, float)
        prec = np.zeros((self.n_glob, self.n_glob))
        prec[3:, 3:] = np.eye(self.n_theta)
        aux0 = np.zeros(self.n_glob)
        (m0, m1), (e0, e1), rho = self.k_prior
        self.k_cov = np.array([[e0 * e0, rho * e0 * e1], [rho * e0 * e1, e1 * e1]])
        if self.background == "constrained":
            prec[1:3, 1:3] = np.linalg.inv(self.k_cov)
            aux0[1:3] = (m0, m1)
        self.prec_g = prec
        self.constrained_g = np.diag(prec) > 0
        self.aux_g0 = aux0

    # -- data ---------------------------------------------------------------------------------
    def observed(self) -> ScanData:
        """The observed data set (batch of one) with nominal global observables."""
        return ScanData(self.n_obs[None, :].copy(), self.aux_g0[None, :].copy(),
                        np.zeros((1, self.n_points, self.n_loc)))

    def with_counts(self, n: ArrayLike) -> ScanData:
        """Data sets with counts ``n`` (B, n_points) and nominal global observables."""
        n = np.atleast_2d(np.asarray(n, float))
        bsz = n.shape[0]
        return ScanData(n, np.repeat(self.aux_g0[None], bsz, 0),
                        np.zeros((bsz, self.n_points, self.n_loc)))

    def nll_constant(self, data: ScanData) -> Array:
        """sum_i [n_i - n_i ln n_i + lgamma(n_i + 1)]: full NLL = deviance part + this."""
        n = data.n
        xlogx = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)
        return (n - xlogx + gammaln(n + 1.0)).sum(-1)

    # -- model pieces -------------------------------------------------------------------------
    def _pieces(self, glob: Array, loc: Array, midx: NDArray[np.intp]) -> dict[str, Any]:
        mu = glob[:, 0:1]
        k0, k1 = glob[:, 1:2], glob[:, 2:3]
        th = glob[:, 3:]
        x = self.x[None, :]
        kk = k0 + k1 * x
        pp = 1.0 + self.sigma[None, :] * loc[..., 0]
        ee = 1.0 + self.tau[None, :] * loc[..., 1] if self.n_loc == 2 else None
        s0 = self.s0[midx]
        nn = int(self.has_norm)
        ths = th[:, nn:]
        if self.n_shape:
            a, c = self.a[midx], self.c[midx]
            tt = s0 + (ths[:, None, :] @ a)[:, 0] + ((ths * ths)[:, None, :] @ c)[:, 0]
            tj = a + 2.0 * c * ths[:, :, None]
        else:
            a = c = tj = None
            tt = s0
        nf = 1.0 + self.r_norm * th[:, 0:1] if nn else 1.0
        ss = nf * tt
        es = ss if ee is None else ee * ss
        qq = self.b[None, :] + mu * es
        lam = kk * pp * qq
        return dict(mu=mu, kk=kk, pp=pp, ee=ee, tt=tt, tj=tj, nf=nf, ss=ss, es=es, qq=qq,
                    lam=lam, c=c, nn=nn)

    def expected(self, glob: Array, loc: Array, midx: ArrayLike) -> Array:
        """Expected counts lambda (B, n_points)."""
        return self._pieces(glob, loc, np.asarray(midx))["lam"]

    def signal_expected(self, glob: Array, loc: Array, midx: ArrayLike) -> Array:
        """Expected signal counts K P mu E S (B, n_points)."""
        p = self._pieces(glob, loc, np.asarray(midx))
        return p["kk"] * p["pp"] * p["mu"] * p["es"]

    def nll_data(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike) -> Array:
        """Deviance part of -ln L, sum_i [lambda - n + n ln(n/lambda)] (inf if lambda <= 0)."""
        lam = self.expected(glob, loc, midx)
        n = data.n
        with np.errstate(divide="ignore", invalid="ignore"):
            t = lam - n + np.where(n > 0, n * np.log(n / lam), 0.0)
        f = t.sum(-1)
        return np.where((lam > 0).all(-1) & np.isfinite(f), f, np.inf)

    def data_terms(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike,
                   exact: bool = True) -> DataTerms:
        """Deviance, gradient and Hessian blocks wrt (globals, per-point locals).

        ``exact=False`` gives the Fisher-scoring (expected-information) Hessian, positive
        definite by construction; the fitter falls back to it where the exact one is not.
        """
        midx = np.asarray(midx)
        p = self._pieces(glob, loc, midx)
        bsz, npt = data.n.shape
        G, L = self.n_glob, self.n_loc
        n = data.n
        lam = p["lam"]
        mu, kk, pp, ee, ss, es, qq = p["mu"], p["kk"], p["pp"], p["ee"], p["ss"], p["es"], p["qq"]
        x = self.x[None, :]
        sig = self.sigma[None, :]
        nn = p["nn"]
        # d S / d theta_m (list of (B, n)) and d^2 S / d theta_m d theta_m'
        dth = []
        if nn:
            dth.append(self.r_norm * p["tt"])
        for j in range(self.n_shape):
            dth.append(p["nf"] * p["tj"][:, j])
        e_fac = 1.0 if ee is None else ee

        jac = np.empty((bsz, npt, G))
        jac[..., 0] = kk * pp * es
        jac[..., 1] = pp * qq
        jac[..., 2] = x * pp * qq
        for m, d in enumerate(dth):
            jac[..., 3 + m] = kk * pp * mu * e_fac * d
        jl = np.empty((bsz, npt, L))
        jl[..., 0] = kk * sig * qq
        if L == 2:
            tau = self.tau[None, :]
            jl[..., 1] = kk * pp * mu * tau * ss

        with np.errstate(divide="ignore", invalid="ignore"):
            f = (lam - n + np.where(n > 0, n * np.log(n / lam), 0.0)).sum(-1)
            fp = 1.0 - n / lam
            fpp = n / (lam * lam) if exact else 1.0 / lam
        grad_g = (fp[:, None, :] @ jac)[:, 0]
        grad_l = fp[..., None] * jl
        wj = fpp[..., None] * jac
        h_gg = wj.transpose(0, 2, 1) @ jac
        h_gl = wj[..., :, None] * jl[..., None, :]
        h_ll = (fpp[..., None] * jl)[..., :, None] * jl[..., None, :]

        if exact:
            w = fp
            # second derivatives of lambda, weighted by f' (module docstring for the algebra)
            pe = pp * e_fac
            sym = []
            sym.append((0, 1, (w * pe * ss).sum(-1)))
            sym.append((0, 2, (w * x * pe * ss).sum(-1)))
            for m, d in enumerate(dth):
                g = 3 + m
                sym.append((0, g, (w * kk * pe * d).sum(-1)))
                sym.append((1, g, (w * pe * mu * d).sum(-1)))
                sym.append((2, g, (w * x * pe * mu * d).sum(-1)))
            if nn and self.n_shape:
                for j in range(self.n_shape):
                    sym.append((3, 4 + j, (w * kk * pe * mu * self.r_norm
                                           * p["tj"][:, j]).sum(-1)))
            for j in range(self.n_shape):
                g = 3 + nn + j
                h_gg[:, g, g] += (w * kk * pe * mu * 2.0 * p["nf"] * p["c"][:, j]).sum(-1)
            for a_, b_, v in sym:
                h_gg[:, a_, b_] += v
                h_gg[:, b_, a_] += v
            h_gl[..., 0, 0] += w * kk * sig * es
            h_gl[..., 1, 0] += w * sig * qq
            h_gl[..., 2, 0] += w * x * sig * qq
            for m, d in enumerate(dth):
                h_gl[..., 3 + m, 0] += w * kk * sig * mu * e_fac * d
            if L == 2:
                h_gl[..., 0, 1] += w * kk * pp * tau * ss
                h_gl[..., 1, 1] += w * pp * mu * tau * ss
                h_gl[..., 2, 1] += w * x * pp * mu * tau * ss
                for m, d in enumerate(dth):
                    h_gl[..., 3 + m, 1] += w * kk * pp * mu * tau * d
                uv = w * kk * sig * mu * tau * ss
                h_ll[..., 0, 1] += uv
                h_ll[..., 1, 0] += uv
        return DataTerms(f, grad_g, grad_l, h_gg, h_gl, h_ll)

    def mu_scale(self) -> Array:
        """Rough 1-sigma scale of mu per mass, 1/sqrt(sum s^2/V), V = b (1 + b sigma^2), without
        profiling: where root searches start."""
        v = self.b * (1.0 + self.b * self.sigma ** 2)
        info = (self.s0 ** 2 / v[None, :]).sum(-1)
        return 1.0 / np.sqrt(np.maximum(info, 1e-300))

    def whitened(self, glob: Array) -> tuple[Array, Array | None]:
        """Whitened signal templates s/sqrt(V) (n_masses, n) and the free background directions
        (2, n) (None if K is constrained) at the background-only fit ``glob`` (Rice formula)."""
        lam = (glob[1] + glob[2] * self.x) * self.b
        w = 1.0 / np.sqrt(lam * (1.0 + lam * self.sigma ** 2))
        dirs = None
        if self.background == "free":
            dirs = np.stack([self.b * w, self.x * self.b * w])
        return self.s0 * w[None, :], dirs

    # -- fused kernels (numba): what the fitter calls ----------------------------------------------
    def _kargs(self) -> tuple[Any, ...]:
        k = self._cache.get("kargs")
        if k is None:
            k = (np.ascontiguousarray(self.x), np.ascontiguousarray(self.b),
                 np.ascontiguousarray(self.sigma), np.ascontiguousarray(self.tau),
                 self.s0, self.a, self.c, float(self.r_norm), int(self.has_norm),
                 np.ascontiguousarray(self.prec_g))
            self._cache["kargs"] = k
        return k

    def newton_step(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike,
                    fixed: NDArray[np.bool_], exact: bool = True) -> tuple[Array, ...]:
        """Newton steps (glob, loc), decrements, PD flags and Fisher-used flags for a batch
        (numba kernel; Fisher scoring where the exact Hessian is not positive definite)."""
        from x17scan.stats._kernels import scan_newton_step

        return scan_newton_step(
            np.ascontiguousarray(glob), np.ascontiguousarray(loc), np.ascontiguousarray(data.n),
            np.ascontiguousarray(data.aux_g), np.ascontiguousarray(data.aux_l),
            np.ascontiguousarray(midx, dtype=np.intp), np.ascontiguousarray(fixed), exact,
            *self._kargs())

    def objective(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike) -> Array:
        """Deviance part of -ln L plus all constraint terms (numba kernel)."""
        from x17scan.stats._kernels import scan_objective

        return scan_objective(np.ascontiguousarray(glob), np.ascontiguousarray(loc),
                              np.ascontiguousarray(data.n), np.ascontiguousarray(data.aux_g),
                              np.ascontiguousarray(data.aux_l),
                              np.ascontiguousarray(midx, dtype=np.intp), *self._kargs())

    # -- starting values, toys, Asimov ----------------------------------------------------------
    def start(self, data: ScanData, mu: ArrayLike | None = None) -> tuple[Array, Array]:
        """Starting point: K from a weighted line through n/b, mu (0 if None/NaN), other
        nuisances at their global observables."""
        bsz = len(data)
        glob = np.zeros((bsz, self.n_glob))
        k0, k1 = _quad_solve_start(data.n, self.b[None, :], self.x[None, :])
        glob[:, 1], glob[:, 2] = k0, k1
        if mu is not None:
            m = np.broadcast_to(np.asarray(mu, float), (bsz,))
            glob[:, 0] = np.where(np.isfinite(m), m, 0.0)
        glob[:, 3:] = data.aux_g[:, 3:]
        return glob, data.aux_l.copy()

    def sample(self, glob: Array, loc: Array, midx: ArrayLike,
               rng: np.random.Generator) -> ScanData:
        """Toy data sets at the parameter points (one per row): Poisson counts, and every global
        observable drawn around its parameter's value (LHC-style frequentist toys)."""
        lam = self.expected(glob, loc, midx)
        n = rng.poisson(lam).astype(float)
        aux_l = loc + rng.standard_normal(loc.shape)
        aux_g = np.zeros_like(glob)
        aux_g[:, 3:] = glob[:, 3:] + rng.standard_normal((len(glob), self.n_theta))
        if self.background == "constrained":
            chol = np.linalg.cholesky(self.k_cov)
            aux_g[:, 1:3] = glob[:, 1:3] + rng.standard_normal((len(glob), 2)) @ chol.T
        return ScanData(n, aux_g, aux_l)

    def asimov(self, glob: Array, loc: Array, midx: ArrayLike) -> ScanData:
        """Asimov data sets: counts = expectation, global observables = parameter values."""
        aux_g = np.where(self.constrained_g[None, :], glob, 0.0)
        return ScanData(self.expected(glob, loc, midx), aux_g, loc.copy())
