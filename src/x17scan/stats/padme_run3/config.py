"""Every constant of PADME's published Run III statistical treatment, with its source.

Sources (abbreviations of ``docs/padme-run3-method.md``): the public repository
``tommasoSpadaro/PADMERunIIISensitivity`` at f9d62b0, its ``input/config_generic.txt`` with the
overrides of ``scanSens.pl`` (cb703e3) for the observed run ``..._seed970084``;
``sT.C`` = ``statisticalTreatmentTH.C`` (``ReadOutput``, ``MaximizeL``,
``GenerateGeneralPseudoData``); ``rL.C`` = ``rereadLimit_final_probmod.C`` (bands, p-values).
Units: MeV; couplings g_ve dimensionless.

:class:`PadmeRun3Config` holds them as overridable defaults; the eps/B straight line is not a
constant (it is fitted from the table at initialisation, method doc §3b (d)) unless
``effb_line`` is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from x17scan.errors import InputError
from x17scan.physics.constants import M_E_PADME, SQRTS_PIVOT_PADME, W_B_PADME


def padme_grid(lo: float, hi: float, step: float) -> np.ndarray:
    """PADME's grid ``lo + i*step`` for ``i < int((hi - lo)/step + 1)`` (sT.C constructor).

    The integer truncation and the floating-point sums are kept on purpose: 16.22..17.74 in
    0.02 gives 76 masses ending at 17.72, and 16.22 + 4*0.02 = 16.299999999999997 < 16.3.
    """
    n = int((hi - lo) / step + 1)
    return lo + np.arange(n) * step


@dataclass(frozen=True)
class PadmeRun3Config:
    """Configuration of the ``padme-run3`` method (defaults = PADME's published run).

    Overridable by keyword (``PadmeRun3Config(y0=14.0)``) or via :meth:`replace`.
    """

    # --- normalisation curve K(sqrt s) = P0 + P1 (sqrt s - pivot) (config BkgBias*, §3b (b))
    k_p0: float = 1.01163
    k_p1: float = -1.03e-2          # 1/MeV
    k_p0_err: float = 0.0013
    k_p1_err: float = 0.004         # 1/MeV
    k_rho: float = -0.06
    # --- signal shape (config SignalPeakYield, SignalLorentzianWidth, BES; §3c)
    y0: float = 13.56               # MeV (yield per PoT per g^2 times the Voigt normalisation)
    y0_err: float = 0.18
    gamma_l: float = 1.72           # MeV, Lorentzian half width in E_beam
    gamma_l_err: float = 0.039
    bes: float = 0.0025             # relative beam-energy spread
    bes_err: float = 0.0005
    # --- eps/B line (e0, e1 [1/MeV], e0_err, e1_err, rho); None: weighted fit of the table
    #     (sT.C Init, ROOT options "ESQ"; §3b (d))
    effb_line: tuple[float, float, float, float, float] | None = None
    # --- conventions (x17scan.physics.constants; §3a)
    m_e: float = M_E_PADME
    w_b: float = W_B_PADME
    pivot: float = SQRTS_PIVOT_PADME
    # --- toys (NumberOfGenerations 200; rL.C reads ~300 pseudo-experiments)
    n_toys: int = 200
    n_pseudo: int = 300
    # --- grids (§11): observed 16.22..17.74 step 0.02 -> 76 masses; band 16.32..17.60 step 0.04
    mass_grid: tuple[float, float, float] = (16.22, 17.74, 0.02)
    band_grid: tuple[float, float, float] = (16.32, 17.60, 0.04)
    # g_k = g_min + k (g_max - g_min)/n_g, k = 0..n_g-1 (NgveBins 40, gveMin 1e-4, gveMax 1e-3)
    g_min: float = 1.0e-4
    g_max: float = 1.0e-3
    n_g: int = 40
    # "padme": the full 40-point grid; "adaptive": coarse sub-grid plus refinement around the
    # CLs = alpha crossing, on the same lattice (see limits.adaptive_indices)
    g_mode: str = "padme"
    adaptive_stride: int = 6
    adaptive_halfwidth: int = 3
    # --- CLs -> limit (sT.C ReadOutput, §7)
    wilson_cl: float = 0.68
    cls_threshold: float = 0.7
    tanh_start: tuple[float, float, float] = (0.5, 2.0e-4, 2.0e-4)
    tanh_lower: tuple[float, float, float] = (0.0, 0.0, 0.5e-4)
    tanh_upper: tuple[float, float, float] = (10.0, 1.0e-3, 1.0e-3)
    tanh_range: tuple[float, float] = (0.5e-4, 1.0e-3)
    # ROOT's chi2 for asymmetric y errors uses the error on the side facing the curve
    # (FitUtil EvaluateChi2Effective); "mean" uses (low + high)/2
    tanh_errors: str = "root"
    # ReadOutput rebuilds counts as int(P * N_valid) (truncation: 29/200*200 -> 28)
    count_truncation: bool = True
    # --- bands and p-values (rL.C)
    hist_bins: int = 200
    quantiles: str = "root"          # "root": TH1::GetQuantiles on the 200-bin histogram;
                                     # "exact": numpy sample quantiles (linear)
    local_p_cl: float = 0.68         # TEfficiency::SetConfidenceLevel(0.68) (Clopper-Pearson)
    global_p_cl: float = 0.682689492137  # TEfficiency default level
    pvalue_mass_range: tuple[float, float] = (16.3, 17.5)
    lee_window: tuple[float, float] = (16.6, 17.2)
    interp_max_limit: float = 1.02e-3
    # B of the band's pseudo-experiments: "points" (the code at f9d62b0: B^o_i = B_i +
    # Gauss(sigma_B,i)) or "scan_lines" (what-if inferred from the rL.C comment of the likely
    # band series, "B vs sqrt(s) with the parameters from the 2 scans": B on one straight line
    # per sub-scan, line parameters re-sampled, no per-point scatter)
    pseudo_bkg: str = "points"
    n_lee_thresholds: int = 48
    # --- batched fits
    fit_edm_tol: float = 1e-9        # chi2 units: expected decrease at the returned point
    fit_max_iter: int = 60
    fit_chunk: int = 4096
    fit_backend: str = "auto"        # "auto" (numba if available), "numba", "numpy"
    fit_newton: bool = True          # numba backend: Newton steps (exact Hessian) when PD
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pos = {"k_p0_err": self.k_p0_err, "k_p1_err": self.k_p1_err, "y0_err": self.y0_err,
               "gamma_l_err": self.gamma_l_err, "bes_err": self.bes_err}
        for name, v in pos.items():
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"{name} = {v} must be a positive uncertainty", field=name,
                                 fix="give a positive number")
        if not -1 < self.k_rho < 1:
            raise InputError(f"k_rho = {self.k_rho} is not a correlation", field="k_rho",
                             fix="give a value in (-1, 1)")
        if self.effb_line is not None:
            _e0, _e1, s0, s1, rho = self.effb_line
            if not (s0 > 0 and s1 > 0 and -1 < rho < 1):
                raise InputError(f"effb_line = {self.effb_line} is not (e0, e1, err0, err1, rho)",
                                 field="effb_line", fix="positive errors, |rho| < 1")
        if self.n_toys < 2 or self.n_pseudo < 1:
            raise InputError(f"need n_toys >= 2 and n_pseudo >= 1 (got {self.n_toys}, "
                             f"{self.n_pseudo})", field="toys", fix="increase --toys")
        if self.g_mode not in ("padme", "adaptive"):
            raise InputError(f"unknown g_mode {self.g_mode!r}", field="g_grid",
                             fix="use 'padme' or 'adaptive'")
        if self.tanh_errors not in ("root", "mean"):
            raise InputError(f"unknown tanh_errors {self.tanh_errors!r}", field="tanh_errors",
                             fix="use 'root' or 'mean'")
        if self.pseudo_bkg not in ("points", "scan_lines"):
            raise InputError(f"unknown pseudo_bkg {self.pseudo_bkg!r}", field="pseudo_bkg",
                             fix="use 'points' (PADME's code) or 'scan_lines'")
        if self.quantiles not in ("root", "exact"):
            raise InputError(f"unknown quantiles {self.quantiles!r}", field="quantiles",
                             fix="use 'root' or 'exact'")
        if not (0 < self.g_min < self.g_max) or self.n_g < 3:
            raise InputError("g grid needs 0 < g_min < g_max and n_g >= 3", field="g_grid",
                             fix="e.g. g_min=1e-4, g_max=1e-3, n_g=40")

    def replace(self, **changes: Any) -> PadmeRun3Config:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    # -- derived ------------------------------------------------------------------------------
    @property
    def g_grid(self) -> np.ndarray:
        """The fixed coupling lattice g_k = g_min + k (g_max - g_min)/n_g (sT.C)."""
        step = (self.g_max - self.g_min) / self.n_g
        return self.g_min + np.arange(self.n_g) * step

    @property
    def observed_masses(self) -> np.ndarray:
        """Observed-limit masses (MeV), PADME's float arithmetic."""
        return padme_grid(*self.mass_grid)

    @property
    def band_masses(self) -> np.ndarray:
        """Band masses (MeV), PADME's float arithmetic."""
        return padme_grid(*self.band_grid)

    def k_cov(self) -> np.ndarray:
        """Covariance of (P0, P1) of the K constraint."""
        s0, s1, r = self.k_p0_err, self.k_p1_err, self.k_rho
        return np.array([[s0 * s0, r * s0 * s1], [r * s0 * s1, s1 * s1]])

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for ``result.json`` provenance)."""
        return dataclasses.asdict(self)


SOURCES: dict[str, str] = {
    "k_*": "config BkgBiasObsP0/P1, BkgBiasErrP0/P1, BkgBiasErrP0P1Corr (method doc §0, §3b)",
    "y0, gamma_l, bes": "config SignalPeakYield, SignalLorentzianWidth, BES (+ errors), §0",
    "effb_line": "fitted from the table: sT.C Init, TGraphErrors::Fit('ESQ') of eps/B, §3b (d)",
    "m_e, w_b, pivot": "x17scan.physics.constants (PADME conventions, §3a, §1)",
    "n_toys": "NumberOfGenerations 200 (scanSens.pl, §0)",
    "n_pseudo": "rL.C reads ~300 background-only pseudo-experiments (§8)",
    "grids": "MassMin/Max/Step, NgveBins/gveMin/gveMax (§0, §11)",
    "limit": "sT.C ReadOutput: Wilson 0.68, threshold 0.7, tanh start/limits/range (§7)",
    "p-values": "rL.C: 200-bin histograms, 48 band-unit thresholds, 16.6-17.2 MeV window (§9)",
}
