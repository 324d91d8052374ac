r"""Two-cluster selection and ee / gamma gamma tagging, with every cut read from a TOML file.

A selection file (schema below; the shipped presets are ``reco/selections/
padme-run3-inferred.toml`` and ``padme-run3-window.toml``) holds the clustering parameters and
the cuts; with ``base = "<preset>"`` it holds only the keys that differ from that preset. The
cuts that depend on the CM energy are computed from the *nominal* beam energy of the scan point
with exact two-body kinematics (:mod:`x17scan.physics.kinematics`): for a body at
``radius.r_max`` at ``radius.distance`` from the target, its partner's radius R_min(sqrt s) and
the two lab energies E_min(sqrt s) (the body at R_max) and E_max(sqrt s) (its partner), as
PADME's Kinematics.C (docs/detector.md §9.2).

Per readout event every pair of clusters is tried against the cuts, in this order:

============= ==========================================================================
topology      ``pair.mode = "best"``: at least two clusters (above ``pair.min_cluster_energy``);
              ``"exactly-two"``: exactly two
time          \|t1 - t2\| < ``pair.max_dt``
radius        ``mode = "one-sided"``: R_1 < R_max and R_2 > R_min(sqrt s); ``"window"``:
              R_min < R < R_max on the clusters named by ``apply_to``
energy        ``"one-sided"``: E_1 > E_min(sqrt s) and E_2 < E_max(sqrt s); ``"window"``:
              E_min < E < E_max on ``apply_to`` (margins in MeV and in sigma_E widen it)
energy_sum    min_fraction < (E1 + E2) / (E_beam + m_e) < max_fraction
cog           \|sum E_i r_i / sum E_i\| < ``cog.max`` (energy-weighted centre of gravity)
back_to_back  \|delta phi - pi\| < ``back_to_back.max_dphi`` (azimuth is invariant under
              the boost along z, so this is back-to-back in the CM frame too)
phi           \|phi\| < half_width or \|phi - 180 deg\| < half_width (``apply_to``)
energy_angle  \|E - E_2body(theta)\| < n_sigma sigma_E (optional)
============= ==========================================================================

"Cluster 1" and "cluster 2" of a pair are set by ``pair.cluster1``: the higher-energy
(``"leading"``, default), the lower-energy (``"trailing"``), the one at larger x
(``"x-positive"``, a choice blind to the radial order), the one the clustering found first
(``"seed"``: higher seed-crystal energy, PadmeReco's list order) or the one nearer the beam axis
(``"inner"``). For an exact two-body final state "leading" and "inner" are the same body.
The one-sided cuts are the reading of "R_max enforced on cluster 1 ONLY" (docs/detector.md
§9.2): for an exact two-body final state R_1 < R_max, R_2 > R_min, E_1 > E_min and E_2 < E_max
are the same condition seen on either body. ``apply_to`` of the window cuts: ``"cluster1"``,
``"cluster2"``, ``"both"`` or ``"either"``.

The selected pair is the one passing all cuts with the smallest quality estimator
\|E1 + E2 - E_tot\|/q_E + \|dt\|/q_t + (\|cog_x\| + \|cog_y\|)/q_cog (PADME's 2022 gamma gamma
analyser, IsGGAnalysis.cc:364); if none passes, the pair that goes furthest down the list is kept
as the candidate (for cut-flow plots). The pair is attributed to the truth event that owns the
seed of its cluster 1. ETag: a cluster is tagged as charged when an ETag hit lies in the bar
row crossed by the line from the target to the cluster (within ``tagging.y_tolerance``), on the
cluster's side for the split rows, and within ``tagging.time_window`` of the cluster time;
``ee`` = both clusters tagged, ``gg`` = neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from x17scan.errors import InputError
from x17scan.physics import kinematics as kin
from x17scan.physics.constants import M_E
from x17scan.reco.clustering import CLUSTER_SPEC, ClusterParams, Clusters
from x17scan.sim.detector import Opt, load_toml, parse_table, resolve_base

CUT_NAMES = ("topology", "time", "radius", "energy", "energy_sum", "cog", "back_to_back",
             "phi", "energy_angle")
"""Cuts in the order they are applied (a pair's "stage" counts the cuts passed in a row)."""

_APPLY = ("cluster1", "cluster2", "both", "either")
"""Which cluster(s) of the pair a window cut acts on."""

_CLUSTER1 = ("leading", "trailing", "x-positive", "seed", "inner")
"""How cluster 1 of a pair is chosen: higher energy, lower energy, larger x, found first by the
clustering (higher seed-crystal energy, PadmeReco's list order), smaller radius."""

_MODES = ("one-sided", "window")

SELECTION_SPEC = {
    "schema": Opt("int", default=1, lo=1, hi=1),
    "name": Opt("str", default="custom"),
    "description": Opt("str", default=""),
    "clustering": CLUSTER_SPEC,
    "pair": {
        "mode": Opt("str", default="best", choices=("best", "exactly-two")),
        "cluster1": Opt("str", default="leading", choices=_CLUSTER1),
        "min_cluster_energy": Opt("float", default=0.0, lo=0),
        "max_dt": Opt("float", default=5.0, lo=0, lo_open=True),
        "quality_energy": Opt("float", default=15.0, lo=0, lo_open=True),
        "quality_time": Opt("float", default=1.2, lo=0, lo_open=True),
        "quality_cog": Opt("float", default=8.0, lo=0, lo_open=True),
    },
    "radius": {
        "enabled": Opt("bool", default=True),
        "r_max": Opt("float", default=270.0, lo=0, lo_open=True),
        "distance": Opt("float", default=3640.4, lo=0, lo_open=True),
        "mode": Opt("str", default="one-sided", choices=_MODES),
        "apply_to": Opt("str", default="both", choices=_APPLY),
        "inner": Opt("str", default="partner", choices=("partner", "fixed")),
        "r_min": Opt("float", default=0.0, lo=0),
        "kinematics": Opt("str", default="electron", choices=("electron", "massless")),
    },
    "energy": {
        "enabled": Opt("bool", default=True),
        "mode": Opt("str", default="one-sided", choices=_MODES),
        "apply_to": Opt("str", default="both", choices=_APPLY),
        "margin_low": Opt("float", default=0.0, lo=0),
        "margin_high": Opt("float", default=0.0, lo=0),
        "margin_sigma": Opt("float", default=0.0, lo=0),
    },
    "energy_sum": {
        "enabled": Opt("bool", default=True),
        "min_fraction": Opt("float", default=0.7, lo=0),
        "max_fraction": Opt("float", default=1.4, lo=0, lo_open=True),
    },
    "cog": {
        "enabled": Opt("bool", default=True),
        "max": Opt("float", default=30.0, lo=0, lo_open=True),
    },
    "back_to_back": {
        "enabled": Opt("bool", default=True),
        "max_dphi": Opt("float", default=0.35, lo=0, lo_open=True, hi=math.pi),
    },
    "phi": {
        "enabled": Opt("bool", default=True),
        "half_width": Opt("float", default=40.11, lo=0, lo_open=True, hi=90.0),
        "apply_to": Opt("str", default="both", choices=_APPLY),
    },
    "energy_angle": {
        "enabled": Opt("bool", default=False),
        "n_sigma": Opt("float", default=3.0, lo=0, lo_open=True),
        "apply_to": Opt("str", default="both", choices=_APPLY),
    },
    "tagging": {
        "enabled": Opt("bool", default=True),
        "time_window": Opt("float", default=5.0, lo=0, lo_open=True),
        "y_tolerance": Opt("float", default=5.0, lo=0),
    },
}


def preset_names() -> list[str]:
    """Names of the shipped selection presets (``reco/selections/*.toml``)."""
    return sorted(p.name.removesuffix(".toml")
                  for p in resources.files("x17scan.reco").joinpath("selections").iterdir()
                  if p.name.endswith(".toml"))


def _preset_document(name: str) -> dict:
    """The TOML document of a shipped preset (a fresh dict)."""
    ref = resources.files("x17scan.reco").joinpath(f"selections/{name}.toml")
    if not ref.is_file():
        raise InputError(f"no selection preset '{name}'", field="selection",
                         fix=f"use one of: {', '.join(preset_names())} or a path to a TOML file")
    with resources.as_file(ref) as path:
        return load_toml(path)


@dataclass(frozen=True, eq=False)
class Selection:
    """A two-cluster selection: clustering parameters plus the cut tables of the TOML file
    (``cuts[table][key]``, units mm, MeV, ns, rad; ``phi.half_width`` in degrees)."""

    name: str
    clustering: ClusterParams
    cuts: dict[str, dict[str, Any]]
    description: str = ""
    source: str = ""

    @classmethod
    def from_dict(cls, doc: dict, source: str = "<dict>") -> Selection:
        """Build from a parsed TOML document; :class:`InputError` (naming the key and the fix)
        on unknown keys, wrong types, negative or inverted windows. With ``base = NAME`` (a
        shipped preset) the document holds only what differs from that preset, table by table;
        without it, keys left out take the defaults of the schema (those of
        ``padme-run3-inferred``)."""
        merged, base = resolve_base(doc, preset_names(), _preset_document, source, "selection")
        if base is not None:  # the preset's name and description would describe the preset
            doc = merged | {"name": doc.get("name", f"custom (base {base})"),
                            "description": doc.get("description",
                                                   f"{base} with the changes of {source}")}
        d = parse_table(doc, SELECTION_SPEC, source)
        es = d["energy_sum"]
        if es["min_fraction"] >= es["max_fraction"]:
            raise InputError(f"energy_sum window is empty or inverted: min_fraction "
                             f"{es['min_fraction']} >= max_fraction {es['max_fraction']}",
                             field="energy_sum.min_fraction", source=source,
                             fix="set min_fraction < max_fraction")
        rc = d["radius"]
        if rc["inner"] == "fixed" and rc["r_min"] >= rc["r_max"]:
            raise InputError(f"radius window is empty or inverted: r_min {rc['r_min']} mm >= "
                             f"r_max {rc['r_max']} mm", field="radius.r_min", source=source,
                             fix="set r_min < r_max")
        cl = ClusterParams.from_dict(doc.get("clustering", {}), source, prefix="clustering.")
        if cl.hit_threshold > cl.seed_threshold:
            raise InputError(f"clustering.hit_threshold {cl.hit_threshold} MeV exceeds "
                             f"seed_threshold {cl.seed_threshold} MeV",
                             field="clustering.hit_threshold", source=source,
                             fix="set hit_threshold <= seed_threshold")
        cuts = {k: v for k, v in d.items()
                if k not in ("schema", "name", "description", "clustering")}
        return cls(name=d["name"], clustering=cl, cuts=cuts, description=d["description"],
                   source=source)

    @classmethod
    def from_toml(cls, path: str | Path) -> Selection:
        """Load and check a selection TOML file."""
        return cls.from_dict(load_toml(path), source=str(path))

    @classmethod
    def preset(cls, name: str = "padme-run3-inferred") -> Selection:
        """A shipped preset (``reco/selections/<name>.toml``)."""
        return cls.from_dict(_preset_document(name),
                             source=f"x17scan:reco/selections/{name}.toml")

    @classmethod
    def load(cls, name_or_path: str | Path) -> Selection:
        """A preset name or a TOML path."""
        p = Path(name_or_path)
        if p.suffix == ".toml" or p.exists():
            return cls.from_toml(p)
        return cls.preset(str(name_or_path))

    def to_dict(self) -> dict[str, Any]:
        """TOML-ready dict (round-trips through :meth:`from_dict`)."""
        out: dict[str, Any] = {"schema": 1, "name": self.name, "description": self.description,
                               "clustering": self.clustering.to_dict()}
        out.update({k: dict(v) for k, v in self.cuts.items()})
        return out

    def cut_values(self, e_beam_nominal: float) -> dict[str, float]:
        """The sqrt(s)-dependent cut values at nominal beam energy ``e_beam_nominal`` (MeV):
        sqrt_s, e_tot (MeV), r_min, r_max, distance (mm), e_min, e_max (MeV, without margins).
        ``r_min`` is the partner radius of a body at r_max, or ``radius.r_min`` when
        ``radius.inner = "fixed"``."""
        if not (np.isfinite(e_beam_nominal) and e_beam_nominal > M_E):
            raise InputError(f"nominal beam energy must be > m_e, got {e_beam_nominal} MeV",
                             field="e_beam", fix="pass the scan point's beam energy in MeV")
        rc = self.cuts["radius"]
        mass = M_E if rc["kinematics"] == "electron" else 0.0
        w = float(kin.sqrt_s(e_beam_nominal))
        r_max, dist = rc["r_max"], rc["distance"]
        r_min = (float(kin.r_min_partner(w, r_max, dist, mass)) if rc["inner"] == "partner"
                 else rc["r_min"])
        e_at, e_partner = two_body_energies(np.arctan(r_max / dist), w, mass)
        return {"sqrt_s": w, "e_tot": e_beam_nominal + M_E, "r_min": r_min, "r_max": r_max,
                "e_min": float(e_at), "e_max": float(e_partner), "distance": dist}


def two_body_energies(theta: NDArray | float, sqrt_s: NDArray | float,
                      mass: float = M_E) -> tuple[NDArray, NDArray]:
    """Lab energies (MeV) of a two-body final state (bodies of ``mass``) at CM energy
    ``sqrt_s`` when body 1 is at lab angle ``theta`` (rad): (E1, E2), E1 + E2 = E_beam + m_e.
    E = gamma_cm (E* + beta_cm p* cos theta*) with E* = sqrt(s)/2."""
    w = np.asarray(sqrt_s, dtype=float)
    c = kin.cos_star_from_lab(theta, w, mass)
    g = w / (2.0 * M_E)
    b = np.sqrt(1.0 - 1.0 / (g * g))
    es = 0.5 * w
    ps = np.sqrt(np.maximum(es * es - mass * mass, 0.0))
    return g * (es + b * ps * c), g * (es - b * ps * c)


@dataclass(frozen=True, eq=False)
class SelectionResult:
    """Outcome of the selection per truth event (arrays of length n, the chunk's events).

    ``two_cluster``, ``ee``, ``gg``: the event owns a selected pair (and both / neither cluster
    is ETag-tagged). ``n_tagged``: tagged clusters of the candidate pair (-1 without one).
    ``stage``: cuts passed in a row by the candidate pair (``len(cut_names)`` = selected; -1
    when the event owns no candidate pair). ``n_clusters``: clusters in the event's readout.
    Pair quantities of clusters 1 and 2 (``pair.cluster1``; NaN without a candidate pair):
    ``e1, e2`` (MeV), ``x1, y1, x2, y2`` (mm, ECal face), ``t1, t2`` (ns); derived ``r1, r2``,
    ``phi1, phi2`` (rad), ``theta1, theta2`` (rad, lab angle for the selection's distance)."""

    two_cluster: NDArray[np.bool_]
    ee: NDArray[np.bool_]
    gg: NDArray[np.bool_]
    n_tagged: NDArray[np.int8]
    stage: NDArray[np.int8]
    n_clusters: NDArray[np.int16]
    e1: NDArray[np.float64]
    e2: NDArray[np.float64]
    x1: NDArray[np.float64]
    y1: NDArray[np.float64]
    x2: NDArray[np.float64]
    y2: NDArray[np.float64]
    t1: NDArray[np.float64]
    t2: NDArray[np.float64]
    cut_values: dict[str, float] = field(default_factory=dict)
    selection: str = ""
    cut_names: tuple[str, ...] = CUT_NAMES

    def __len__(self) -> int:
        return int(self.two_cluster.shape[0])

    @property
    def r1(self) -> NDArray[np.float64]:
        return np.hypot(self.x1, self.y1)

    @property
    def r2(self) -> NDArray[np.float64]:
        return np.hypot(self.x2, self.y2)

    @property
    def phi1(self) -> NDArray[np.float64]:
        return np.arctan2(self.y1, self.x1)

    @property
    def phi2(self) -> NDArray[np.float64]:
        return np.arctan2(self.y2, self.x2)

    @property
    def theta1(self) -> NDArray[np.float64]:
        return np.arctan(self.r1 / self.cut_values.get("distance", 3640.4))

    @property
    def theta2(self) -> NDArray[np.float64]:
        return np.arctan(self.r2 / self.cut_values.get("distance", 3640.4))

    def cutflow(self, mask: NDArray[np.bool_] | None = None) -> dict[str, int]:
        """Events (within ``mask``) whose candidate pair passes each cut and all before it."""
        st = self.stage if mask is None else self.stage[mask]
        return {name: int(np.count_nonzero(st > k)) for k, name in enumerate(self.cut_names)}

    def counts(self, mask: NDArray[np.bool_] | None = None) -> dict[str, int]:
        """Numbers of selected, ee and gamma gamma events (within ``mask``)."""
        m = slice(None) if mask is None else mask
        return {"n2": int(np.count_nonzero(self.two_cluster[m])),
                "ee": int(np.count_nonzero(self.ee[m])),
                "gg": int(np.count_nonzero(self.gg[m]))}

    def take(self, index) -> SelectionResult:
        """The results of the events at ``index``."""
        kw = {name: getattr(self, name)[index] for name in _ARRAYS}
        return SelectionResult(**kw, cut_values=self.cut_values, selection=self.selection,
                               cut_names=self.cut_names)

    @classmethod
    def concatenate(cls, parts: list[SelectionResult]) -> SelectionResult:
        """Results of several chunks (same selection and nominal energy) in order."""
        kw = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _ARRAYS}
        return cls(**kw, cut_values=parts[0].cut_values, selection=parts[0].selection,
                   cut_names=parts[0].cut_names)


_ARRAYS = ("two_cluster", "ee", "gg", "n_tagged", "stage", "n_clusters", "e1", "e2", "x1", "y1",
           "x2", "y2", "t1", "t2")


# pair-kernel parameter indices
(_S_MODE, _S_EMIN_CL, _S_DT, _S_QE, _S_QT, _S_QC, _S_ETOT, _S_SUM_LO, _S_SUM_HI, _S_COG,
 _S_B2B, _S_ON_SUM, _S_ON_COG, _S_ON_B2B, _S_C1, _S_RMODE, _S_EMODE, _S_APPLY_R, _S_APPLY_E,
 _S_APPLY_PHI, _S_APPLY_EA, _S_TAG_ON, _S_TAG_TW, _S_TAG_YTOL, _S_ZET, _S_ZF, _S_ROWP, _S_BARH,
 _S_NROWS) = range(29)
_NS = 29
_NCUT = len(CUT_NAMES)
assert _NCUT == 9  # the pair kernel spells out the nine cuts


@numba.njit(cache=True, error_model="numpy")
def _apply(f1, f2, mode):
    """A per-cluster flag over the pair (f1: cluster 1, f2: cluster 2): mode 0 cluster 1,
    1 cluster 2, 2 both, 3 either."""
    if mode == 0:
        return f1
    if mode == 1:
        return f2
    if mode == 2:
        return f1 and f2
    return f1 or f2


@numba.njit(cache=True, error_model="numpy")
def _two_sided(lo1, hi1, lo2, hi2, one_sided, apply_to):
    """One-sided: the upper bound on cluster 1 and the lower bound on cluster 2; else the
    window (both bounds) on the clusters of ``apply_to``."""
    if one_sided:
        return hi1 and lo2
    return _apply(lo1 and hi1, lo2 and hi2, apply_to)


# The loops below are written out on purpose (see x17scan.sim.detector._respond_kernel).
@numba.njit(cache=True, error_model="numpy")
def _pair_kernel(c_off, c_e, c_x, c_y, c_t, f_rlo, f_rhi, f_elo, f_ehi, f_phi, f_ea, sp, x_off,
                 x_bar, x_t, short, best_1, best_2, stage, ntag):
    nro = c_off.shape[0] - 1
    r_one = sp[_S_RMODE] == 0.0
    e_one = sp[_S_EMODE] == 0.0
    a_r = int(sp[_S_APPLY_R])
    a_e = int(sp[_S_APPLY_E])
    a_phi = int(sp[_S_APPLY_PHI])
    a_ea = int(sp[_S_APPLY_EA])
    c1mode = int(sp[_S_C1])
    emin_cl = sp[_S_EMIN_CL]
    cos_b2b = -math.cos(sp[_S_B2B])
    tag_scale = sp[_S_ZET] / sp[_S_ZF]
    tag_tol = sp[_S_TAG_YTOL]
    tag_cen = int(sp[_S_NROWS]) // 2
    for ro in range(nro):
        a = c_off[ro]
        b = c_off[ro + 1]
        nv = 0
        for k in range(a, b):
            if c_e[k] >= emin_cl:
                nv += 1
        top_ok = nv >= 2 if sp[_S_MODE] == 0.0 else nv == 2
        bs = -1
        bq = np.inf
        b1 = -1
        b2 = -1
        for i in range(a, b):
            if c_e[i] < emin_cl:
                continue
            for j in range(i + 1, b):
                if c_e[j] < emin_cl:
                    continue
                if c1mode == 0:
                    first = c_e[i] >= c_e[j]
                elif c1mode == 1:
                    first = c_e[i] < c_e[j]
                elif c1mode == 2:
                    first = c_x[i] >= c_x[j]
                elif c1mode == 3:
                    first = True
                else:
                    first = (c_x[i] * c_x[i] + c_y[i] * c_y[i]
                             <= c_x[j] * c_x[j] + c_y[j] * c_y[j])
                c1 = i if first else j
                c2 = j if first else i
                dt = c_t[c1] - c_t[c2]
                esum = c_e[c1] + c_e[c2]
                cogx = (c_e[c1] * c_x[c1] + c_e[c2] * c_x[c2]) / esum
                cogy = (c_e[c1] * c_y[c1] + c_e[c2] * c_y[c2]) / esum
                # |delta phi - pi| < d  <=>  cos(delta phi) < -cos(d)
                rr = math.sqrt((c_x[c1] * c_x[c1] + c_y[c1] * c_y[c1])
                               * (c_x[c2] * c_x[c2] + c_y[c2] * c_y[c2]))
                cdphi = (c_x[c1] * c_x[c2] + c_y[c1] * c_y[c2]) / rr if rr > 0.0 else 1.0
                # stage = cuts passed in a row (CUT_NAMES order)
                st = 0
                if top_ok:
                    st = 1
                    if abs(dt) < sp[_S_DT]:
                        st = 2
                        if _two_sided(f_rlo[c1], f_rhi[c1], f_rlo[c2], f_rhi[c2], r_one, a_r):
                            st = 3
                            # energy falls with radius: the one-sided cut is E_1 > E_min and
                            # E_2 < E_max
                            if _two_sided(f_ehi[c1], f_elo[c1], f_ehi[c2], f_elo[c2], e_one,
                                          a_e):
                                st = 4
                                if sp[_S_ON_SUM] == 0.0 or (
                                        sp[_S_SUM_LO] < esum / sp[_S_ETOT] < sp[_S_SUM_HI]):
                                    st = 5
                                    if (sp[_S_ON_COG] == 0.0
                                            or math.hypot(cogx, cogy) < sp[_S_COG]):
                                        st = 6
                                        if sp[_S_ON_B2B] == 0.0 or cdphi < cos_b2b:
                                            st = 7
                                            if _apply(f_phi[c1], f_phi[c2], a_phi):
                                                st = 8
                                                if _apply(f_ea[c1], f_ea[c2], a_ea):
                                                    st = 9
                q = (abs(esum - sp[_S_ETOT]) / sp[_S_QE] + abs(dt) / sp[_S_QT]
                     + (abs(cogx) + abs(cogy)) / sp[_S_QC])
                if st > bs or (st == bs and q < bq):
                    bs = st
                    bq = q
                    b1 = c1
                    b2 = c2
        best_1[ro] = b1
        best_2[ro] = b2
        stage[ro] = bs
        nt = -1
        if b1 >= 0 and sp[_S_TAG_ON] > 0.0:
            # ETag: a hit in the bar row crossed by the line target -> cluster, on the
            # cluster's side for split rows, in time with the cluster
            nt = 0
            for which in range(2):
                k = b1 if which == 0 else b2
                x = c_x[k] * tag_scale
                y = c_y[k] * tag_scale
                for q in range(x_off[ro], x_off[ro + 1]):
                    if abs(x_t[q] - c_t[k]) >= sp[_S_TAG_TW]:
                        continue
                    row = x_bar[q] // 10
                    side = x_bar[q] - 10 * row
                    if abs(y - (row - tag_cen) * sp[_S_ROWP]) >= 0.5 * sp[_S_BARH] + tag_tol:
                        continue
                    if row < short.shape[0] and short[row]:
                        if (side == 1 and x < -tag_tol) or (side == 0 and x > tag_tol):
                            continue
                    nt += 1
                    break
        ntag[ro] = nt


@numba.njit(cache=True, error_model="numpy")
def _flags_kernel(c_e, c_x, c_y, r_on, r_min, r_max, e_on, e_lo, e_hi, phi_on, tan_hw,
                  f_rlo, f_rhi, f_elo, f_ehi, f_phi):
    for k in range(c_e.shape[0]):
        r2 = c_x[k] * c_x[k] + c_y[k] * c_y[k]
        f_rlo[k] = not r_on or r2 > r_min * r_min
        f_rhi[k] = not r_on or r2 < r_max * r_max
        f_elo[k] = not e_on or c_e[k] > e_lo
        f_ehi[k] = not e_on or c_e[k] < e_hi
        # |phi| < hw or |phi - 180 deg| < hw  <=>  |y| < tan(hw) |x|  (hw < 90 deg)
        f_phi[k] = not phi_on or abs(c_y[k]) < tan_hw * abs(c_x[k])


def _cluster_flags(cl: Clusters, sel: Selection, cv: dict[str, float]) -> tuple:
    """Per-cluster pass flags of the bounds that act on single clusters."""
    c = sel.cuts
    n = cl.energy.shape[0]
    f_rlo, f_rhi, f_elo, f_ehi, f_phi = (np.empty(n, np.bool_) for _ in range(5))
    ec = c["energy"]
    sig = cl.config.response.sigma
    lo = cv["e_min"] - ec["margin_low"] - ec["margin_sigma"] * float(sig(cv["e_min"]))
    hi = cv["e_max"] + ec["margin_high"] + ec["margin_sigma"] * float(sig(cv["e_max"]))
    hw = np.radians(c["phi"]["half_width"])
    _flags_kernel(cl.energy, cl.x, cl.y, c["radius"]["enabled"], cv["r_min"], cv["r_max"],
                  ec["enabled"], lo, hi, c["phi"]["enabled"], float(np.tan(hw)), f_rlo, f_rhi,
                  f_elo, f_ehi, f_phi)
    ea = c["energy_angle"]
    if ea["enabled"]:
        mass = M_E if c["radius"]["kinematics"] == "electron" else 0.0
        r = np.hypot(cl.x, cl.y)
        e_exp, _ = two_body_energies(np.arctan(r / cv["distance"]), cv["sqrt_s"], mass)
        f_ea = np.abs(cl.energy - e_exp) < ea["n_sigma"] * cl.config.response.sigma(e_exp)
    else:
        f_ea = np.ones(n, dtype=np.bool_)
    return f_rlo, f_rhi, f_elo, f_ehi, f_phi, np.ascontiguousarray(f_ea)


def _pair_params(cl: Clusters, sel: Selection, cv: dict[str, float]) -> NDArray[np.float64]:
    c = sel.cuts
    pr = c["pair"]
    sp = np.zeros(_NS)
    sp[_S_MODE] = 0.0 if pr["mode"] == "best" else 1.0
    sp[_S_C1] = _CLUSTER1.index(pr["cluster1"])
    sp[_S_EMIN_CL], sp[_S_DT] = pr["min_cluster_energy"], pr["max_dt"]
    sp[_S_QE], sp[_S_QT], sp[_S_QC] = pr["quality_energy"], pr["quality_time"], pr["quality_cog"]
    sp[_S_ETOT] = cv["e_tot"]
    sp[_S_ON_SUM] = float(c["energy_sum"]["enabled"])
    sp[_S_SUM_LO], sp[_S_SUM_HI] = c["energy_sum"]["min_fraction"], c["energy_sum"]["max_fraction"]
    sp[_S_ON_COG], sp[_S_COG] = float(c["cog"]["enabled"]), c["cog"]["max"]
    sp[_S_ON_B2B], sp[_S_B2B] = float(c["back_to_back"]["enabled"]), c["back_to_back"]["max_dphi"]
    sp[_S_RMODE] = _MODES.index(c["radius"]["mode"])
    sp[_S_EMODE] = _MODES.index(c["energy"]["mode"])
    sp[_S_APPLY_R] = _APPLY.index(c["radius"]["apply_to"])
    sp[_S_APPLY_E] = _APPLY.index(c["energy"]["apply_to"])
    sp[_S_APPLY_PHI] = _APPLY.index(c["phi"]["apply_to"])
    sp[_S_APPLY_EA] = _APPLY.index(c["energy_angle"]["apply_to"])
    et = cl.config.etag
    sp[_S_TAG_ON] = float(c["tagging"]["enabled"] and et is not None)
    sp[_S_TAG_TW], sp[_S_TAG_YTOL] = c["tagging"]["time_window"], c["tagging"]["y_tolerance"]
    sp[_S_ZF] = cl.config.ecal.z_front
    if et is not None:
        sp[_S_ZET], sp[_S_ROWP], sp[_S_BARH], sp[_S_NROWS] = (et.z, et.row_pitch, et.bar_height,
                                                              et.n_rows)
    else:
        sp[_S_ZET], sp[_S_ROWP], sp[_S_BARH], sp[_S_NROWS] = sp[_S_ZF], 1.0, 1.0, 1
    return sp


def select(clusters: Clusters, selection: Selection, e_beam_nominal: float) -> SelectionResult:
    """Apply ``selection`` to ``clusters`` at the scan point's nominal beam energy (MeV)."""
    cl = clusters
    cv = selection.cut_values(e_beam_nominal)
    flags = _cluster_flags(cl, selection, cv)
    nro = len(cl)
    best_1 = np.empty(nro, np.int64)
    best_2 = np.empty(nro, np.int64)
    stage = np.empty(nro, np.int64)
    ntag = np.empty(nro, np.int64)
    _pair_kernel(cl.offsets, cl.energy, cl.x, cl.y, cl.time, *flags,
                 _pair_params(cl, selection, cv), cl.etag_offsets, cl.etag_bar, cl.etag_time,
                 cl.config.etag_short_mask, best_1, best_2, stage, ntag)
    return _per_event(cl, best_1, best_2, stage, ntag, cv, selection)


@numba.njit(cache=True, error_model="numpy")
def _scatter_kernel(best_1, best_2, stage, ntag, c_owner, c_e, c_x, c_y, c_t, ev_stage, ev_ntag,
                    e1, e2, x1, y1, x2, y2, t1, t2):
    """Per-event outputs: the readout's candidate pair goes to the owner of its cluster 1."""
    ev_stage[:] = -1
    ev_ntag[:] = -1
    for arr in (e1, e2, x1, y1, x2, y2, t1, t2):
        arr[:] = np.nan
    for ro in range(best_1.shape[0]):
        i = best_1[ro]
        if i < 0:
            continue
        j = best_2[ro]
        ev = c_owner[i]
        ev_stage[ev] = stage[ro]
        ev_ntag[ev] = ntag[ro]
        e1[ev] = c_e[i]
        e2[ev] = c_e[j]
        x1[ev] = c_x[i]
        y1[ev] = c_y[i]
        x2[ev] = c_x[j]
        y2[ev] = c_y[j]
        t1[ev] = c_t[i]
        t2[ev] = c_t[j]


def _per_event(cl: Clusters, best_1, best_2, stage, ntag, cv, selection) -> SelectionResult:
    n = cl.readout_of_event.shape[0]
    ev_stage = np.empty(n, np.int8)
    ev_ntag = np.empty(n, np.int8)
    pair = [np.empty(n) for _ in range(8)]
    _scatter_kernel(best_1, best_2, stage, ntag, cl.owner, cl.energy, cl.x, cl.y, cl.time,
                    ev_stage, ev_ntag, *pair)
    sel = ev_stage == _NCUT
    n_cl = np.diff(cl.offsets)[cl.readout_of_event].astype(np.int16)
    e1, e2, x1, y1, x2, y2, t1, t2 = pair
    return SelectionResult(
        two_cluster=sel, ee=sel & (ev_ntag == 2), gg=sel & (ev_ntag == 0), n_tagged=ev_ntag,
        stage=ev_stage, n_clusters=n_cl, e1=e1, e2=e2, x1=x1, y1=y1, x2=x2, y2=y2, t1=t1, t2=t2,
        cut_values=cv, selection=selection.name)
