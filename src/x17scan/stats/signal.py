"""Signal model of a resonance scan: expected X17 events per point per unit g_ve^2.

``template(table, masses)[m, i] = PoT_i * eps_i * Y(E_beam,i; M_m)`` where ``Y`` is the yield
per positron on target per unit g_ve^2 of the chosen line shape
(:func:`x17scan.physics.lineshape.yield_per_pot`). The line-shape parameters that carry an
uncertainty (normalisation, Lorentzian width, beam-energy spread) are *signal-shape nuisances*;
the likelihood needs the template at shifted values, which :meth:`SignalModel.variations`
provides as the nominal template and its +-1 sigma variations (the likelihood interpolates
quadratically between them, exact evaluation is :meth:`SignalModel.template` with ``shifts``).

The statistics never care where the yield function comes from: pass ``yield_fn`` to use any
callable ``yield_fn(e_beam, mass, **params) -> N_X/N_PoT per g^2`` (broadcasting).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from x17scan.errors import InputError

LINESHAPES: tuple[str, ...] = ("voigt", "atomic", "sto", "free")
"""Line shapes: PADME's effective Voigt (default), atomic-electron (Hartree-Fock Compton
profile), Slater-orbital Compton profile, free electrons at rest."""

# PADME's effective model (docs/padme-run3-method.md §0, §3a; docs/physics.md §6.5).
VOIGT_A_PEAK = (13.56, 0.18)
"""Voigt normalisation A_peak (MeV per g^2) and its uncertainty."""
VOIGT_GAMMA_L = (1.72, 0.039)
"""Lorentzian half width (MeV, in E_beam) and its uncertainty."""
BES_DEFAULT = (0.0025, 0.0005)
"""Relative beam-energy spread and its uncertainty (PADME Run III configuration)."""


@dataclass(frozen=True)
class Nuisance:
    """A signal-shape nuisance parameter.

    ``kind="norm"``: multiplies the template by ``1 + theta * sigma`` (``sigma`` relative).
    ``kind="shape"``: shifts the line-shape parameter ``param`` by ``theta * sigma``.
    ``theta`` is the standard-normal nuisance of the likelihood.
    """

    name: str
    kind: str
    sigma: float
    param: str | None = None


@dataclass(frozen=True)
class TemplateSet:
    """Templates for a set of masses (events per unit g_ve^2 at the points of a table).

    ``nominal``: (n_masses, n_points); ``norm_rel``: relative normalisation uncertainty (0 if
    none); ``up``/``down``: (n_masses, n_shape, n_points) at +-1 sigma of each shape nuisance.
    """

    masses: NDArray[np.float64]
    nominal: NDArray[np.float64]
    norm_rel: float
    shape_names: tuple[str, ...]
    up: NDArray[np.float64]
    down: NDArray[np.float64]
    norm_name: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Nuisance names in likelihood order: the normalisation first (if any), then shapes."""
        return ((self.norm_name,) if self.norm_rel > 0 else ()) + self.shape_names

    def quadratic_coefficients(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(a, c) of ``T(theta) = nominal + sum_j a_j theta_j + c_j theta_j^2`` through the
        -1, 0, +1 sigma templates (exact at those points; pyhf's ``code2`` inside |theta| <= 1)."""
        a = 0.5 * (self.up - self.down)
        c = 0.5 * (self.up + self.down) - self.nominal[:, None, :]
        return a, c

    def interpolate(self, thetas: Mapping[str, float]) -> NDArray[np.float64]:
        """Template at nuisance values ``thetas`` (standard-normal units) with the quadratic
        interpolation the likelihood uses; (n_masses, n_points)."""
        a, c = self.quadratic_coefficients()
        t = np.array([thetas.get(n, 0.0) for n in self.shape_names])
        out = self.nominal + np.einsum("j,mjn->mn", t, a) + np.einsum("j,mjn->mn", t * t, c)
        if self.norm_rel > 0:
            out = out * (1.0 + self.norm_rel * thetas.get(self.norm_name, 0.0))
        return out


def _physics_yield(model: str, spin: str, target: Any) -> Callable[..., NDArray[np.float64]]:
    try:
        from x17scan.physics.lineshape import yield_per_pot
    except ImportError as err:  # pragma: no cover - only before the physics module exists
        raise InputError(f"line shape {model!r} needs x17scan.physics.lineshape ({err})",
                         field="lineshape", fix="install a complete x17scan") from None
    kw: dict[str, Any] = {"spin": spin, "model": model}
    if target is not None:
        kw["target"] = target

    def fn(e_beam, mass, **params):
        return yield_per_pot(e_beam, mass, 1.0, **kw, **params)

    return fn


@dataclass(frozen=True)
class SignalModel:
    """Line shape x efficiency x PoT per unit g_ve^2, with its nuisance parameters.

    Parameters
    ----------
    lineshape
        One of :data:`LINESHAPES` (default ``"voigt"``: PADME's effective model, A_peak =
        13.56 +- 0.18 MeV, Lorentzian half width 1.72 +- 0.039 MeV).
    spin
        ``"vector"``, ``"axial"``, ``"scalar"`` or ``"pseudoscalar"``.
    bes, bes_err
        Relative beam-energy spread and its uncertainty (0.0025 +- 0.0005).
    params
        Extra nominal line-shape parameters passed to the yield function (e.g. ``a_peak``,
        ``gamma_l`` for ``"voigt"``; defaults are PADME's).
    nuisances
        The signal-shape nuisances; default: voigt -> normalisation, Lorentzian width, BES;
        other shapes -> BES (plus a normalisation if ``norm_err`` is given).
    norm_err
        Relative normalisation uncertainty (default 0.18/13.56 for voigt, none otherwise).
    target
        Target (``x17scan.physics.constants.Target``); None = the yield function's default.
    yield_fn
        Override: ``yield_fn(e_beam, mass, **params)`` in N_X/N_PoT per g^2 (e_beam, mass in
        MeV, broadcasting). Tests and other experiments use it; ``lineshape`` is then a label.
    """

    lineshape: str = "voigt"
    spin: str = "vector"
    bes: float = BES_DEFAULT[0]
    bes_err: float = BES_DEFAULT[1]
    params: Mapping[str, float] = field(default_factory=dict)
    nuisances: tuple[Nuisance, ...] | None = None
    norm_err: float | None = None
    target: Any = None
    yield_fn: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if self.yield_fn is None and self.lineshape not in LINESHAPES:
            raise InputError(f"unknown line shape {self.lineshape!r}", field="lineshape",
                             fix=f"use one of {', '.join(LINESHAPES)}")
        if not self.bes > 0 or self.bes_err < 0:
            raise InputError(f"beam-energy spread {self.bes} +- {self.bes_err} is not valid",
                             field="bes", fix="give a relative spread > 0, e.g. 0.0025")
        if self.bes_err >= self.bes:
            raise InputError(f"BES uncertainty {self.bes_err} is not below the BES {self.bes}",
                             field="bes_err", fix="give a smaller BES uncertainty")

    # -- parameters ---------------------------------------------------------------------------
    @property
    def nominal_params(self) -> dict[str, float]:
        """Nominal keyword parameters of the yield function."""
        p: dict[str, float] = {"bes": float(self.bes)}
        if self.lineshape == "voigt" and self.yield_fn is None:
            p.update(a_peak=VOIGT_A_PEAK[0], gamma_l=VOIGT_GAMMA_L[0])
        p.update({k: float(v) for k, v in self.params.items()})
        return p

    @property
    def nuisance_list(self) -> tuple[Nuisance, ...]:
        """The signal-shape nuisances (normalisation first, then the shape parameters)."""
        if self.nuisances is not None:
            return tuple(self.nuisances)
        out: list[Nuisance] = []
        norm = self.norm_err
        if norm is None and self.lineshape == "voigt" and self.yield_fn is None:
            norm = VOIGT_A_PEAK[1] / VOIGT_A_PEAK[0]
        if norm:
            out.append(Nuisance("signal_norm", "norm", float(norm)))
        if self.lineshape == "voigt" and self.yield_fn is None:
            out.append(Nuisance("gamma_l", "shape", VOIGT_GAMMA_L[1], "gamma_l"))
        if self.bes_err > 0:
            out.append(Nuisance("bes", "shape", float(self.bes_err), "bes"))
        return tuple(out)

    def nuisance_names(self) -> tuple[str, ...]:
        """Names in likelihood order: the normalisation (if any) first, then the shapes."""
        nl = self.nuisance_list
        return tuple(n.name for n in nl if n.kind == "norm") + tuple(
            n.name for n in nl if n.kind == "shape")

    def describe(self) -> dict[str, Any]:
        """JSON-able description for ``result.json``."""
        return {"lineshape": self.lineshape, "spin": self.spin, "params": self.nominal_params,
                "custom_yield_fn": self.yield_fn is not None,
                "nuisances": [{"name": n.name, "kind": n.kind, "sigma": n.sigma,
                               "param": n.param} for n in self.nuisance_list]}

    # -- evaluation ---------------------------------------------------------------------------
    def _fn(self) -> Callable[..., Any]:
        if self.yield_fn is not None:
            return self.yield_fn
        return _physics_yield(self.lineshape, self.spin, self.target)

    def yield_per_pot(self, e_beam: ArrayLike, masses: ArrayLike,
                      shifts: Mapping[str, float] | None = None) -> NDArray[np.float64]:
        """N_X/N_PoT per g^2 at beam energies ``e_beam`` (MeV) for ``masses`` (MeV):
        (n_masses, n_points). ``shifts``: nuisance values in standard-normal units."""
        m = np.atleast_1d(np.asarray(masses, dtype=float))
        e = np.atleast_1d(np.asarray(e_beam, dtype=float))
        params = self.nominal_params
        scale = 1.0
        for nu in self.nuisance_list:
            t = float((shifts or {}).get(nu.name, 0.0))
            if nu.kind == "norm":
                scale *= 1.0 + t * nu.sigma
            elif t:
                params[nu.param] = params[nu.param] + t * nu.sigma
        y = np.asarray(self._fn()(e[None, :], m[:, None], **params), dtype=float)
        return np.broadcast_to(y, (m.size, e.size)) * scale

    def template(self, table: Any, masses: ArrayLike,
                 shifts: Mapping[str, float] | None = None) -> NDArray[np.float64]:
        """Expected signal events per unit g_ve^2 at every row of ``table`` (a ScanTable):
        PoT_i eps_i Y(E_beam,i; M), shape (n_masses, n_rows). ``shifts`` as in
        :meth:`yield_per_pot`."""
        y = self.yield_per_pot(table.e_beam, masses, shifts)
        return y * (np.asarray(table.pot) * np.asarray(table.sig_eff))[None, :]

    def variations(self, table: Any, masses: ArrayLike) -> TemplateSet:
        """Nominal template and +-1 sigma variations of every shape nuisance (see module doc)."""
        m = np.atleast_1d(np.asarray(masses, dtype=float))
        nom = self.template(table, m)
        shapes = [n for n in self.nuisance_list if n.kind == "shape"]
        norms = [n for n in self.nuisance_list if n.kind == "norm"]
        if len(norms) > 1:
            raise InputError("at most one normalisation nuisance is supported",
                             field="nuisances", fix="combine them in quadrature")
        up = np.empty((m.size, len(shapes), nom.shape[1]))
        down = np.empty_like(up)
        for j, nu in enumerate(shapes):
            up[:, j] = self.template(table, m, {nu.name: 1.0})
            down[:, j] = self.template(table, m, {nu.name: -1.0})
        return TemplateSet(masses=m, nominal=nom, norm_rel=norms[0].sigma if norms else 0.0,
                           shape_names=tuple(n.name for n in shapes), up=up, down=down,
                           norm_name=norms[0].name if norms else None)

