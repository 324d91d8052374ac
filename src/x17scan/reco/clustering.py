"""ECal clustering: PadmeReco's algorithm 1 ("simple ECal clusters") with the 2022 settings,
plus a cluster position corrected for the cell granularity and the shower depth.

Algorithm 1 (padme-fw develop PadmeReco/ECal/src/ECalReconstruction.cc:650-855; defaults from
PadmeReco/config.template/2022/ECal_Calib6.cfg, docs/detector.md §1.5, §3):

1. hits below ``hit_threshold`` (1 MeV) are never used;
2. the seed is the most energetic unused hit above ``seed_threshold`` (20 MeV);
3. every unused hit within +-``window`` rows and columns of the seed (a square, 7 x 7) and
   within ``time_window`` (6 ns) of the seed time joins the cluster (at most ``max_hits``);
4. cluster time = seed time (``time = "seed"``) or the energy-weighted time;
5. energy = sum E_i / f(sum E_i), f the 4th-order polynomial of PadmeReco (0.944 at 100 MeV,
   0.959 at 300 MeV), f = 0.96 above 1000 MeV;
6. repeat from 2 until no seed is left.

Position. PadmeReco takes the linear energy-weighted mean of the crystal centres
(``position = "linear"``). That estimator is pulled towards the centre of the seed crystal (the
"S-curve"; crystals are about one Moliere radius wide). ``position = "log"`` uses the
logarithmic weights w_i = max(0, w0 + ln(E_i / E)) of Awes et al., NIM A 311 (1992) 130, which
remove most of that bias (w0 = 4 by default). With ``depth_correction`` the position, which is
the shower's position at the depth of its maximum, is projected back to the ECal front face
along the line from the target: x_face = x z_front / (z_front + t_max(E)), t_max = X0 (ln(E/E_c)
+ C) with C = 0 (between photons, +0.5, and electrons, -0.5). The selection's kinematic curves
are computed at the front face (D = 3640.4 mm, docs/detector.md §9.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from x17scan.errors import InputError
from x17scan.sim.detector import DetectorConfig, Hits, Opt, parse_table
from x17scan.sim.ecal import N_CELLS, N_SIDE

PADME_2022_CORRECTION = (0.925666, 2.31776e-4, -5.72621e-7, 6.22445e-10, -2.44014e-13)
"""Coefficients (E in MeV, ascending powers) of PadmeReco's cluster energy correction f(E) for
the +-3-cell window (ECalReconstruction.cc:623-647)."""

CLUSTER_SPEC = {
    "seed_threshold": Opt("float", default=20.0, lo=0),
    "hit_threshold": Opt("float", default=1.0, lo=0),
    "window": Opt("int", default=3, lo=0, hi=N_SIDE),
    "time_window": Opt("float", default=6.0, lo=0, lo_open=True),
    "max_hits": Opt("int", default=100, lo=1),
    "time": Opt("str", default="seed", choices=("seed", "energy-weighted")),
    "energy_correction": Opt("floats", default=list(PADME_2022_CORRECTION)),
    "correction_max_energy": Opt("float", default=1000.0, lo=0, lo_open=True),
    "correction_above": Opt("float", default=0.96, lo=0, lo_open=True),
    "position": Opt("str", default="log", choices=("linear", "log")),
    "log_w0": Opt("float", default=4.0, lo=0, lo_open=True),
    "depth_correction": Opt("bool", default=True),
    "depth_c": Opt("float", default=0.0),
    "pitch": Opt("float", default=0.0, lo=0),
}


@dataclass(frozen=True, eq=False)
class ClusterParams:
    """Clustering parameters (MeV, ns, cells); defaults = PadmeReco 2022 configuration, with
    the logarithmic position weighting and the depth correction of this module switched on.
    ``pitch = 0`` uses the detector's pitch; 21.45 reproduces PadmeReco's geometry."""

    seed_threshold: float = 20.0
    hit_threshold: float = 1.0
    window: int = 3
    time_window: float = 6.0
    max_hits: int = 100
    time: str = "seed"
    energy_correction: tuple[float, ...] = PADME_2022_CORRECTION
    correction_max_energy: float = 1000.0
    correction_above: float = 0.96
    position: str = "log"
    log_w0: float = 4.0
    depth_correction: bool = True
    depth_c: float = 0.0
    pitch: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "energy_correction",
                           tuple(float(c) for c in self.energy_correction))

    @classmethod
    def padme_algo1(cls) -> ClusterParams:
        """PadmeReco's algorithm 1 exactly (linear weights, no depth correction)."""
        return cls(position="linear", depth_correction=False)

    @classmethod
    def from_dict(cls, doc: dict, source: str = "<dict>", prefix: str = "") -> ClusterParams:
        """Build from a TOML table (checked; :class:`InputError` on bad keys or values)."""
        d = parse_table(doc, CLUSTER_SPEC, source, prefix=prefix)
        if not d["energy_correction"]:
            raise InputError("energy_correction must have at least one coefficient",
                             field=f"{prefix}energy_correction", source=source,
                             fix="give the polynomial coefficients, constant term first")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """TOML-ready dict."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["energy_correction"] = list(self.energy_correction)
        return out

    def correction(self, energy: NDArray | float) -> NDArray[np.float64]:
        """f(E) of the energy correction at raw cluster energy ``energy`` (MeV)."""
        e = np.asarray(energy, dtype=float)
        f = np.polynomial.polynomial.polyval(e, self.energy_correction)
        return np.where(e < self.correction_max_energy, f, self.correction_above)

    def kernel_params(self, config: DetectorConfig) -> NDArray[np.float64]:
        """Flat parameter vector of the clustering kernel."""
        c = np.zeros(_NC + len(self.energy_correction))
        c[_C_SEED], c[_C_HIT], c[_C_WIN] = self.seed_threshold, self.hit_threshold, self.window
        c[_C_TWIN], c[_C_MAXH] = self.time_window, self.max_hits
        c[_C_TALGO] = 1.0 if self.time == "energy-weighted" else 0.0
        c[_C_CMAX], c[_C_CABOVE] = self.correction_max_energy, self.correction_above
        c[_C_LOG], c[_C_W0] = (1.0 if self.position == "log" else 0.0), self.log_w0
        c[_C_DEPTH] = 1.0 if self.depth_correction else 0.0
        c[_C_ZF] = config.ecal.z_front
        c[_C_X0], c[_C_EC] = config.shower.radiation_length, config.shower.critical_energy
        c[_C_DC] = self.depth_c
        c[_C_NPOLY] = len(self.energy_correction)
        c[_NC:] = self.energy_correction
        return c

    def crystal_positions(self, config: DetectorConfig) -> tuple[NDArray, NDArray]:
        """(x, y) (mm) of every cell centre as the reconstruction sees them."""
        return config.ecal.centres(pitch=self.pitch or None)


(_C_SEED, _C_HIT, _C_WIN, _C_TWIN, _C_MAXH, _C_TALGO, _C_CMAX, _C_CABOVE, _C_LOG, _C_W0,
 _C_DEPTH, _C_ZF, _C_X0, _C_EC, _C_DC, _C_NPOLY) = range(16)
_NC = 16


@dataclass(frozen=True, eq=False)
class Clusters:
    """ECal clusters of one chunk, per readout event (CSR like :class:`Hits`).

    Per cluster: ``energy`` (corrected, MeV), ``energy_raw`` (sum of hits, MeV), ``x``, ``y``
    (mm, at the ECal front face if the depth correction is on), ``time`` (ns), ``seed``
    (crystal id), ``n_hits``, ``owner`` (truth event of the seed hit). Clusters of a readout
    event are in the order found (descending seed energy). The ETag hits, the event mapping and
    the configuration are carried along for the selection."""

    offsets: NDArray[np.int64]
    energy: NDArray[np.float64]
    energy_raw: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    time: NDArray[np.float64]
    seed: NDArray[np.int32]
    n_hits: NDArray[np.int32]
    owner: NDArray[np.int64]
    etag_offsets: NDArray[np.int64]
    etag_bar: NDArray[np.int32]
    etag_time: NDArray[np.float64]
    etag_owner: NDArray[np.int64]
    readout_of_event: NDArray[np.int64]
    bunch: NDArray[np.int64]
    config: DetectorConfig
    params: ClusterParams = field(default_factory=ClusterParams)

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    @property
    def n_clusters(self) -> NDArray[np.int64]:
        """Clusters per readout event."""
        return np.diff(self.offsets)

    @property
    def radius(self) -> NDArray[np.float64]:
        """Cluster distance from the beam axis (mm)."""
        return np.hypot(self.x, self.y)

    @classmethod
    def from_arrays(cls, offsets, energy, x, y, time, config: DetectorConfig,
                    etag_offsets=None, etag_bar=None, etag_time=None) -> Clusters:
        """Hand-made clusters (tests, studies): one truth event per readout event, which owns
        its clusters and ETag hits; raw energy = energy, seed = -1, one hit each."""
        off = np.asarray(offsets, dtype=np.int64)
        n_ro = off.shape[0] - 1
        e = np.asarray(energy, dtype=float)
        if etag_offsets is None:
            etag_offsets, etag_bar, etag_time = np.zeros(n_ro + 1, np.int64), [], []
        x_off = np.asarray(etag_offsets, dtype=np.int64)
        return cls(offsets=off, energy=e, energy_raw=e.copy(), x=np.asarray(x, dtype=float),
                   y=np.asarray(y, dtype=float), time=np.asarray(time, dtype=float),
                   seed=np.full(e.shape[0], -1, np.int32), n_hits=np.ones(e.shape[0], np.int32),
                   owner=np.repeat(np.arange(n_ro), np.diff(off)), etag_offsets=x_off,
                   etag_bar=np.asarray(etag_bar, dtype=np.int32),
                   etag_time=np.asarray(etag_time, dtype=float),
                   etag_owner=np.repeat(np.arange(n_ro), np.diff(x_off)),
                   readout_of_event=np.arange(n_ro), bunch=np.arange(n_ro), config=config)

    def readout(self, i: int) -> dict[str, NDArray]:
        """Clusters of readout event ``i`` as a dict of arrays."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return {f.name: getattr(self, f.name)[a:b] for f in fields(self)
                if f.name in ("energy", "energy_raw", "x", "y", "time", "seed", "n_hits",
                              "owner")}


U = np.uint64
"""Array indices in the kernel go through U (uint64): numba adds a negative-index wraparound to
every access with a signed index (see :mod:`x17scan.sim.detector`)."""
# row and column of each crystal id: a table read costs less than a division per hit
_ROW = np.arange(N_CELLS, dtype=np.int64) // N_SIDE
_COL = np.arange(N_CELLS, dtype=np.int64) % N_SIDE


@numba.njit(cache=True, error_model="numpy")
def _cluster_kernel(offsets, crys, e, t, own, n_ro, cp, xpos, ypos, gbase, o_off, o_e, o_eraw,
                    o_x, o_y, o_t, o_seed, o_nh, o_own, nc):
    """Algorithm 1 on readout events 0..n_ro-1 of the hits (CSR ``offsets``); clusters are
    appended from index ``nc`` and ``o_off[gbase + i + 1]`` set; returns the new count.
    The body is written out in the loop (no array-taking calls per event: see
    :func:`x17scan.sim.detector._respond_kernel`)."""
    seed_thr = cp[_C_SEED]
    hit_thr = cp[_C_HIT]
    win = int(cp[_C_WIN])
    twin = cp[_C_TWIN]
    maxh = int(cp[_C_MAXH])
    npoly = int(cp[_C_NPOLY])
    log_w = cp[_C_LOG] > 0.0
    w0 = cp[_C_W0]
    ew0 = math.exp(-w0)
    depth = cp[_C_DEPTH] > 0.0
    talgo = cp[_C_TALGO] > 0.0
    cmax = cp[_C_CMAX]
    cabove = cp[_C_CABOVE]
    x0 = cp[_C_X0]
    ecrit = cp[_C_EC]
    dc = cp[_C_DC]
    zf = cp[_C_ZF]
    maxn = 1
    for i in range(n_ro):
        maxn = max(maxn, offsets[U(i + 1)] - offsets[U(i)])
    used = np.empty(maxn, np.bool_)
    rows = np.empty(maxn, np.int64)
    cols = np.empty(maxn, np.int64)
    members = np.empty(maxn, np.int64)
    seeds = np.empty(maxn, np.int64)
    for i in range(n_ro):
        a = offsets[U(i)]
        n = offsets[U(i + 1)] - a
        # seed candidates by decreasing energy (ties in hit order): taking the first unused one
        # each time is "the most energetic unused hit above threshold" of algorithm 1
        ns = 0
        for j in range(n):
            uj = U(j)
            ej = e[U(a + j)]
            cj = U(crys[U(a + j)])
            rows[uj] = _ROW[cj]
            cols[uj] = _COL[cj]
            skip = ej < hit_thr
            used[uj] = skip
            if ej > seed_thr and not skip:
                k = ns
                while k > 0 and e[U(a + seeds[U(k - 1)])] < ej:
                    seeds[U(k)] = seeds[U(k - 1)]
                    k -= 1
                seeds[U(k)] = j
                ns += 1
        for q_s in range(ns):
            best = seeds[U(q_s)]
            ub = U(best)
            if used[ub]:
                continue
            rs = rows[ub]
            cs = cols[ub]
            ts = t[U(a + best)]
            used[ub] = True
            members[0] = best
            nm = 1
            # sums in the order seed, then the other members in hit order
            esum = 0.0 + e[U(a + best)]
            etsum = 0.0 + e[U(a + best)] * ts
            for j in range(n):
                uj = U(j)
                if used[uj] or nm >= maxh:
                    continue
                tj = t[U(a + j)]
                if abs(rows[uj] - rs) <= win and abs(cols[uj] - cs) <= win and abs(tj - ts) < twin:
                    used[uj] = True
                    members[U(nm)] = j
                    nm += 1
                    ej = e[U(a + j)]
                    esum += ej
                    etsum += ej * tj
            if esum < cmax:
                f = 0.0
                for k in range(npoly - 1, -1, -1):
                    f = f * esum + cp[U(_NC + k)]
            else:
                f = cabove
            ecorr = esum / f
            wsum = 0.0
            xs = 0.0
            ys = 0.0
            if log_w:
                # hits with E_i / E < exp(-w0) have zero weight: no logarithm needed
                emin_w = esum * ew0
                for q in range(nm):
                    uj = U(a + members[U(q)])
                    ej = e[uj]
                    if ej > emin_w:
                        w = w0 + math.log(ej / esum)
                        if w > 0.0:
                            uc = U(crys[uj])
                            wsum += w
                            xs += w * xpos[uc]
                            ys += w * ypos[uc]
            if wsum <= 0.0:
                for q in range(nm):
                    uj = U(a + members[U(q)])
                    uc = U(crys[uj])
                    wsum += e[uj]
                    xs += e[uj] * xpos[uc]
                    ys += e[uj] * ypos[uc]
            xc = xs / wsum
            yc = ys / wsum
            if depth and ecorr > 0.0:
                tmax = x0 * max(math.log(ecorr / ecrit) + dc, 0.0)
                scale = zf / (zf + tmax)
                xc *= scale
                yc *= scale
            un = U(nc)
            o_e[un] = ecorr
            o_eraw[un] = esum
            o_x[un] = xc
            o_y[un] = yc
            o_t[un] = etsum / esum if talgo else ts
            o_seed[un] = crys[U(a + best)]
            o_nh[un] = nm
            o_own[un] = own[U(a + best)]
            nc += 1
        o_off[U(gbase + i + 1)] = nc
    return nc


class _ClusterSink:
    """Growable cluster output arrays."""

    def __init__(self, n_ro: int, cap: int) -> None:
        self.off = np.zeros(n_ro + 1, np.int64)
        self.bufs = _buffers(max(cap, 16))
        self.n = 0

    def reserve(self, extra: int) -> None:
        if self.n + extra > self.bufs[0].shape[0]:
            new = _buffers(2 * (self.n + extra))
            for old, nw in zip(self.bufs, new, strict=True):
                nw[:self.n] = old[:self.n]
            self.bufs = new

    def run(self, offsets, crys, e, t, own, n_ro, cp, xpos, ypos, gbase) -> None:
        self.reserve(int(np.count_nonzero(e[:offsets[n_ro]] > cp[_C_SEED])))
        self.n = _cluster_kernel(offsets, crys, e, t, own, n_ro, cp, xpos, ypos, gbase,
                                 self.off, *self.bufs, self.n)

    def clusters(self, hits_like, config: DetectorConfig, params: ClusterParams,
                 readout_of_event, bunch) -> Clusters:
        # views, not copies (the unused tail of the buffers is never written)
        o_e, o_eraw, o_x, o_y, o_t, o_seed, o_nh, o_own = (b[:self.n] for b in self.bufs)
        etag_offsets, etag_bar, etag_time, etag_owner = hits_like
        return Clusters(offsets=self.off, energy=o_e, energy_raw=o_eraw, x=o_x, y=o_y,
                        time=o_t, seed=o_seed, n_hits=o_nh, owner=o_own,
                        etag_offsets=etag_offsets, etag_bar=etag_bar, etag_time=etag_time,
                        etag_owner=etag_owner, readout_of_event=readout_of_event, bunch=bunch,
                        config=config, params=params)


def _buffers(cap: int) -> tuple:
    return (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap),
            np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.int64))


def cluster(hits: Hits, params: ClusterParams | None = None) -> Clusters:
    """Run algorithm 1 on every readout event of ``hits`` (see the module docstring)."""
    cp = params or ClusterParams()
    cfg = hits.config
    xpos, ypos = cp.crystal_positions(cfg)
    sink = _ClusterSink(len(hits), 2 * len(hits))
    sink.run(hits.offsets, hits.crystal, hits.energy, hits.time, hits.owner, len(hits),
             cp.kernel_params(cfg), xpos, ypos, 0)
    return sink.clusters((hits.etag_offsets, hits.etag_bar, hits.etag_time, hits.etag_owner),
                         cfg, cp, hits.readout_of_event, hits.bunch)


def cluster_reference(crystal, energy, time, config: DetectorConfig,
                      params: ClusterParams | None = None) -> list[dict[str, float]]:
    """Pure-Python algorithm 1 on the hits of one readout event (a slow, readable second
    implementation for tests and benchmarks): list of clusters as dicts."""
    cp = params or ClusterParams()
    xpos, ypos = cp.crystal_positions(config)
    hits = [(int(c), float(en), float(tt)) for c, en, tt in zip(crystal, energy, time,
                                                                strict=True)]
    used = [en < cp.hit_threshold for _, en, _ in hits]
    out = []
    while True:
        cand = [j for j in range(len(hits)) if not used[j] and hits[j][1] > cp.seed_threshold]
        if not cand:
            return out
        best = max(cand, key=lambda j: (hits[j][1], -j))
        rs, cs = divmod(hits[best][0], N_SIDE)
        ts = hits[best][2]
        used[best] = True
        members = [best]
        for j, (c, _, tt) in enumerate(hits):
            if used[j] or len(members) >= cp.max_hits:
                continue
            r, col = divmod(c, N_SIDE)
            if abs(r - rs) <= cp.window and abs(col - cs) <= cp.window and abs(tt - ts) < \
                    cp.time_window:
                used[j] = True
                members.append(j)
        es = sum(hits[j][1] for j in members)
        ecorr = es / float(cp.correction(es))
        if cp.position == "log":
            w = [max(0.0, cp.log_w0 + math.log(hits[j][1] / es)) for j in members]
        else:
            w = [hits[j][1] for j in members]
        if sum(w) <= 0:
            w = [hits[j][1] for j in members]
        x = sum(wi * xpos[hits[j][0]] for wi, j in zip(w, members, strict=True)) / sum(w)
        y = sum(wi * ypos[hits[j][0]] for wi, j in zip(w, members, strict=True)) / sum(w)
        if cp.depth_correction:
            sh = config.shower
            tmax = sh.radiation_length * max(math.log(ecorr / sh.critical_energy)
                                             + cp.depth_c, 0.0)
            x *= config.ecal.z_front / (config.ecal.z_front + tmax)
            y *= config.ecal.z_front / (config.ecal.z_front + tmax)
        tc = ts if cp.time == "seed" else sum(hits[j][1] * hits[j][2] for j in members) / es
        out.append({"energy": ecorr, "energy_raw": es, "x": x, "y": y, "time": tc,
                    "seed": hits[best][0], "n_hits": len(members)})
