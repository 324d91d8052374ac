"""The PoT-free observable N(ee)/N(gamma gamma): a conditional binomial likelihood per point.

Given the two tagged tables of a scan (``meta["observable"]`` "ee" and "gg", same points), each
point contributes the probability of its N_ee given N_ee + N_gg (the number of positrons on
target cancels):

    p_i   = A_i / (A_i + C_i)
    A_i   = kappa(sqrt s_i) (1 + sigma_i u_i) B_ee,i + mu eps_ee,i Y_i(theta)     (per PoT)
    C_i   = B_gg,i + mu eps_gg,i Y_i(theta)
    kappa = k0 + k1 (sqrt s_i - 16.92)      free normalisation of the ee/gg background ratio
    sigma_i^2 = (dB_ee/B_ee)^2 + (dB_gg/B_gg)^2

    -ln L = -sum_i [N_ee,i ln p_i + N_gg,i ln(1 - p_i)] + Gaussian constraints (as in the scan
            likelihood: u_i, signal-shape nuisances theta).

``eps_ee``/``eps_gg`` are the ``sig_eff`` columns of the two tables: the fractions of X -> e+e-
events selected in each category. The model has the interface of
:class:`~x17scan.stats.likelihood.ScanModel` (globals ``[mu, k0, k1, theta..]``, one local
``u`` per point) and is fitted by the generic numpy path of :mod:`x17scan.stats.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from x17scan.errors import InputError
from x17scan.physics.constants import SQRTS_PIVOT_PADME
from x17scan.stats.likelihood import DataTerms, ScanData
from x17scan.stats.signal import SignalModel, TemplateSet

Array = NDArray[np.float64]


def _xlogx(n: Array) -> Array:
    return np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)


@dataclass
class RatioModel:
    """Binomial N_ee | N_ee + N_gg likelihood of a scan (module docstring)."""

    sqrt_s: Array
    n_ee: Array
    n_gg: Array
    b_ee: Array
    b_gg: Array
    sigma: Array
    t_ee: TemplateSet
    t_gg: TemplateSet
    pivot: float = SQRTS_PIVOT_PADME
    background: str = "free"
    efficiency: str = "none"

    @classmethod
    def from_tables(cls, table_ee: Any, table_gg: Any, signal: SignalModel, masses: ArrayLike,
                    pivot: float = SQRTS_PIVOT_PADME) -> RatioModel:
        """Model of the used points of the ee- and gg-tagged tables (same points, same
        ``used`` flags) for ``masses`` (MeV)."""
        if len(table_ee) != len(table_gg) or not np.allclose(table_ee.sqrt_s, table_gg.sqrt_s,
                                                              rtol=0, atol=1e-9):
            raise InputError("the ee and gg tables do not have the same points", field="sqrt_s",
                             fix="give the two tagged tables of the same scan")
        if not np.array_equal(table_ee.used, table_gg.used):
            raise InputError("the ee and gg tables use different points", field="used",
                             fix="use the same 'used' flags in both tables")
        for t, name in ((table_ee, "ee"), (table_gg, "gg")):
            if t.observable != name:
                raise InputError(f"table has observable {t.observable!r}, expected {name!r}",
                                 field="observable", fix="pass the ee table first, then the gg one")
        te, tg = table_ee.fit_points(), table_gg.fit_points()
        # per-PoT templates: eps Y (divide the PoT back out of the event templates)
        ve = signal.variations(te, masses)
        vg = signal.variations(tg, masses)

        def per_pot(v: TemplateSet, pot: Array) -> TemplateSet:
            return TemplateSet(v.masses, v.nominal / pot, v.norm_rel, v.shape_names,
                               v.up / pot, v.down / pot, v.norm_name)

        sig = np.hypot(te.bkg_per_pot_err / te.bkg_per_pot, tg.bkg_per_pot_err / tg.bkg_per_pot)
        return cls(np.asarray(te.sqrt_s, float), np.asarray(te.n_obs, float),
                   np.asarray(tg.n_obs, float), np.asarray(te.bkg_per_pot, float),
                   np.asarray(tg.bkg_per_pot, float), sig, per_pot(ve, te.pot),
                   per_pot(vg, tg.pot), pivot)

    def __post_init__(self) -> None:
        if self.t_ee.names != self.t_gg.names:
            raise InputError("ee and gg templates have different nuisances", field="signal",
                             fix="build both from the same SignalModel")
        self.x = self.sqrt_s - self.pivot
        self.n_points = self.sqrt_s.size
        self.masses = np.asarray(self.t_ee.masses, float)
        self.has_norm = self.t_ee.norm_rel > 0
        self.r_norm = float(self.t_ee.norm_rel)
        self.n_shape = len(self.t_ee.shape_names)
        self.n_theta = int(self.has_norm) + self.n_shape
        self.n_glob = 3 + self.n_theta
        self.n_loc = 1
        self.glob_names = ("mu", "k0", "k1", *self.t_ee.names)
        self.loc_names = ("u",)
        self.s0_ee, self.s0_gg = self.t_ee.nominal, self.t_gg.nominal
        self.a_ee, self.c_ee = self.t_ee.quadratic_coefficients()
        self.a_gg, self.c_gg = self.t_gg.quadratic_coefficients()
        prec = np.zeros((self.n_glob, self.n_glob))
        prec[3:, 3:] = np.eye(self.n_theta)
        self.prec_g = prec
        self.constrained_g = np.diag(prec) > 0
        self.aux_g0 = np.zeros(self.n_glob)
        self.n_obs = self.n_ee  # for fingerprints
        # what the calculators' generic helpers read
        self.b = self.b_ee
        self.s0 = self.s0_ee
        self.tau = np.zeros(self.n_points)

    # -- data ---------------------------------------------------------------------------------
    def observed(self) -> ScanData:
        """Observed data: counts are (N_ee, N_gg) stacked on the last axis -> (1, n, 2)."""
        return ScanData(np.stack([self.n_ee, self.n_gg], -1)[None], self.aux_g0[None].copy(),
                        np.zeros((1, self.n_points, 1)))

    def nll_constant(self, data: ScanData) -> Array:
        """Constant making the deviance the full -ln L of the binomial (with lgamma terms)."""
        ne, ng = data.n[..., 0], data.n[..., 1]
        nt = ne + ng
        dev_const = _xlogx(ne) + _xlogx(ng) - _xlogx(nt)
        return (-dev_const - gammaln(nt + 1) + gammaln(ne + 1) + gammaln(ng + 1)).sum(-1)

    # -- model --------------------------------------------------------------------------------
    def _sig(self, glob: Array, midx: Array, which: str) -> tuple[Array, list[Array], Any]:
        s0 = getattr(self, "s0_" + which)[midx]
        a, c = getattr(self, "a_" + which)[midx], getattr(self, "c_" + which)[midx]
        nn = int(self.has_norm)
        ths = glob[:, 3 + nn:]
        if self.n_shape:
            tt = s0 + (ths[:, None, :] @ a)[:, 0] + ((ths * ths)[:, None, :] @ c)[:, 0]
            tj = a + 2.0 * c * ths[:, :, None]
        else:
            tt, tj = s0, None
        nf = 1.0 + self.r_norm * glob[:, 3:4] if nn else 1.0
        ds = ([self.r_norm * tt] if nn else []) + [nf * tj[:, j] for j in range(self.n_shape)]
        return nf * tt, ds, (tt, tj, nf, c)

    def rates(self, glob: Array, loc: Array, midx: ArrayLike) -> tuple[Array, Array]:
        """(A, C): expected ee and gg rates per PoT (B, n)."""
        midx = np.asarray(midx)
        mu = glob[:, 0:1]
        kk = glob[:, 1:2] + glob[:, 2:3] * self.x[None]
        pp = 1.0 + self.sigma[None] * loc[..., 0]
        se, _, _ = self._sig(glob, midx, "ee")
        sg, _, _ = self._sig(glob, midx, "gg")
        return kk * pp * self.b_ee[None] + mu * se, self.b_gg[None] + mu * sg

    def nll_data(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike) -> Array:
        """Deviance part of -ln L (inf where a rate is not positive)."""
        a, c = self.rates(glob, loc, midx)
        ne, ng = data.n[..., 0], data.n[..., 1]
        nt = ne + ng
        with np.errstate(divide="ignore", invalid="ignore"):
            t = a + c
            f = (np.where(ne > 0, ne * np.log(ne * t / (nt * a)), 0.0)
                 + np.where(ng > 0, ng * np.log(ng * t / (nt * c)), 0.0)).sum(-1)
        return np.where((a > 0).all(-1) & (c > 0).all(-1) & np.isfinite(f), f, np.inf)

    def data_terms(self, glob: Array, loc: Array, data: ScanData, midx: ArrayLike,
                   exact: bool = True) -> DataTerms:
        """Deviance, gradient and Hessian blocks (Fisher information if ``exact`` is False)."""
        midx = np.asarray(midx)
        bsz, npt = data.n.shape[:2]
        G = self.n_glob
        mu = glob[:, 0:1]
        x = self.x[None]
        kk = glob[:, 1:2] + glob[:, 2:3] * x
        pp = 1.0 + self.sigma[None] * loc[..., 0]
        se, dse, pe = self._sig(glob, midx, "ee")
        sg, dsg, pg = self._sig(glob, midx, "gg")
        a = kk * pp * self.b_ee[None] + mu * se
        c = self.b_gg[None] + mu * sg
        t = a + c
        ne, ng = data.n[..., 0], data.n[..., 1]
        nt = ne + ng
        f = self.nll_data(glob, loc, data, midx)
        fa = -ne / a + nt / t
        fc = -ng / c + nt / t
        if exact:
            faa = ne / a ** 2 - nt / t ** 2
            fcc = ng / c ** 2 - nt / t ** 2
        else:
            faa = nt * c / (a * t * t)
            fcc = nt * a / (c * t * t)
        fac = -nt / t ** 2
        ja = np.zeros((bsz, npt, G))
        jc = np.zeros((bsz, npt, G))
        ja[..., 0], jc[..., 0] = se, sg
        ja[..., 1] = pp * self.b_ee[None]
        ja[..., 2] = x * pp * self.b_ee[None]
        for m in range(self.n_theta):
            ja[..., 3 + m] = mu * dse[m]
            jc[..., 3 + m] = mu * dsg[m]
        jl = (kk * self.sigma[None] * self.b_ee[None])[..., None]        # dA/du
        grad_g = (fa[:, None, :] @ ja)[:, 0] + (fc[:, None, :] @ jc)[:, 0]
        grad_l = fa[..., None] * jl

        def outer(w: Array, u: Array, v: Array) -> Array:
            return (w[..., None] * u).transpose(0, 2, 1) @ v

        h_gg = outer(faa, ja, ja) + outer(fcc, jc, jc) + outer(fac, ja, jc) + outer(fac, jc, ja)
        h_gl = (faa[..., None] * ja + fac[..., None] * jc)[..., :, None] * jl[..., None, :]
        h_ll = (faa[..., None] * jl * jl)[..., None]
        if exact:
            nn = int(self.has_norm)
            for m in range(self.n_theta):
                v = (fa * dse[m] + fc * dsg[m]).sum(-1)
                h_gg[:, 0, 3 + m] += v
                h_gg[:, 3 + m, 0] += v
            for fw, (_, tj, nf, cc) in ((fa, pe), (fc, pg)):
                for j in range(self.n_shape):
                    g = 3 + nn + j
                    h_gg[:, g, g] += (fw * mu * 2.0 * nf * cc[:, j]).sum(-1)
                    if nn:
                        v = (fw * mu * self.r_norm * tj[:, j]).sum(-1)
                        h_gg[:, 3, g] += v
                        h_gg[:, g, 3] += v
            h_gl[..., 1, 0] += fa * self.sigma[None] * self.b_ee[None]
            h_gl[..., 2, 0] += fa * x * self.sigma[None] * self.b_ee[None]
        return DataTerms(f, grad_g, grad_l, h_gg, h_gl, h_ll)

    def expected(self, glob: Array, loc: Array, midx: ArrayLike) -> Array:
        """Expected fraction p = A/(A + C) per point (B, n)."""
        a, c = self.rates(glob, loc, midx)
        return a / (a + c)

    # -- starting values, toys, Asimov ----------------------------------------------------------
    def start(self, data: ScanData, mu: ArrayLike | None = None) -> tuple[Array, Array]:
        """kappa from a weighted line through (N_ee/N_gg)/(B_ee/B_gg); mu 0 if None/NaN."""
        bsz = len(data)
        ne, ng = data.n[..., 0], data.n[..., 1]
        r = (ne / np.maximum(ng, 1.0)) / (self.b_ee / self.b_gg)[None]
        w = 1.0 / (r * r * (1.0 / np.maximum(ne, 1.0) + 1.0 / np.maximum(ng, 1.0)))
        x = self.x[None]
        sw, swx, swxx = w.sum(-1), (w * x).sum(-1), (w * x * x).sum(-1)
        swy, swxy = (w * r).sum(-1), (w * x * r).sum(-1)
        det = sw * swxx - swx * swx
        glob = np.zeros((bsz, self.n_glob))
        glob[:, 1] = (swxx * swy - swx * swxy) / det
        glob[:, 2] = (sw * swxy - swx * swy) / det
        if mu is not None:
            m = np.broadcast_to(np.asarray(mu, float), (bsz,))
            glob[:, 0] = np.where(np.isfinite(m), m, 0.0)
        glob[:, 3:] = data.aux_g[:, 3:]
        return glob, data.aux_l.copy()

    def sample(self, glob: Array, loc: Array, midx: ArrayLike,
               rng: np.random.Generator) -> ScanData:
        """Toys: N_ee ~ Binomial(round(N_ee + N_gg), p) with the observed totals, global
        observables around the parameter values."""
        p = self.expected(glob, loc, midx)
        tot = np.round(self.n_ee + self.n_gg).astype(np.int64)
        ne = rng.binomial(np.broadcast_to(tot, p.shape), p).astype(float)
        n = np.stack([ne, tot[None] - ne], -1)
        aux_l = loc + rng.standard_normal(loc.shape)
        aux_g = np.zeros_like(glob)
        aux_g[:, 3:] = glob[:, 3:] + rng.standard_normal((len(glob), self.n_theta))
        return ScanData(n, aux_g, aux_l)

    def asimov(self, glob: Array, loc: Array, midx: ArrayLike) -> ScanData:
        """Asimov: N_ee = N p, N_gg = N (1 - p) with the observed totals."""
        p = self.expected(glob, loc, midx)
        tot = (self.n_ee + self.n_gg)[None]
        aux_g = np.where(self.constrained_g[None, :], glob, 0.0)
        return ScanData(np.stack([tot * p, tot * (1 - p)], -1), aux_g, loc.copy())

    def mu_scale(self) -> Array:
        """Rough 1-sigma scale of mu per mass (no profiling), for root searches."""
        tot = self.n_ee + self.n_gg
        a, c = self.b_ee, self.b_gg
        t = a + c
        p = a / t
        dp = (self.s0_ee * c - a * self.s0_gg) / t ** 2
        info = (tot * dp ** 2 / (p * (1 - p))).sum(-1)
        return 1.0 / np.sqrt(np.maximum(info, 1e-300))

    def whitened(self, glob: Array) -> tuple[Array, Array | None]:
        """Whitened signal directions d p/d mu / sd(p) (n_masses, n) and the free background
        directions (2, n) at the background-only fit ``glob`` (for the Rice formula)."""
        tot = self.n_ee + self.n_gg
        kk = glob[1] + glob[2] * self.x
        a, c = kk * self.b_ee, self.b_gg
        t = a + c
        p = a / t
        sd = np.sqrt(p * (1 - p) / tot + (p * (1 - p) * self.sigma) ** 2)
        dp = (self.s0_ee * c - a * self.s0_gg) / t ** 2
        dk = self.b_ee * c / t ** 2
        return dp / sd, np.stack([dk / sd, self.x * dk / sd])
