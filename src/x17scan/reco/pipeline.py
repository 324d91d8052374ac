"""Detector response + clustering + selection in one pass over the readout events.

:func:`reconstruct` runs the digitisation of :func:`x17scan.sim.detector.respond` and the
clustering of :func:`x17scan.reco.clustering.cluster` bunch by bunch inside one numba kernel,
so the crystal hits never leave the CPU cache; its clusters are bit-identical to
``cluster(respond(events, config, rng), params)`` for the same generator state (tested).
:func:`process` adds the selection.
"""

from __future__ import annotations

import numba
import numpy as np

from x17scan.reco.clustering import ClusterParams, Clusters, _cluster_event
from x17scan.reco.selection import Selection, SelectionResult, select
from x17scan.sim.detector import (
    _NORM_TABLE,
    N_CELLS,
    DetectorConfig,
    _digitize_group,
    draw_seed,
    kernel_inputs,
    readout_groups,
)


@numba.njit(cache=True)
def _fused_kernel(g_start, order, grp, vertex, t0, pdg, p, e, prm, mask, table, short, normtab,
                  state, max_group, kk, cp, xpos, ypos, o_off, o_e, o_eraw, o_x, o_y, o_t, o_seed,
                  o_nh, o_own, x_off, x_bar, x_t, x_own, nc0, ne0):
    """Process groups from g_start until the cluster buffers could overflow; returns
    (next group, clusters written, ETag hits written)."""
    cap = max_group * 2 * kk + 1
    head = np.full(N_CELLS, -1, np.int32)
    acc_e = np.zeros(N_CELLS)
    acc_et = np.zeros(N_CELLS)
    d_crys = np.empty(cap, np.int32)
    d_e = np.empty(cap)
    d_et = np.empty(cap)
    d_t = np.empty(cap)
    d_own = np.empty(cap, np.int64)
    d_owne = np.empty(cap)
    d_next = np.empty(cap, np.int32)
    s_bar = np.empty(2 * max_group + 1, np.int32)
    s_t = np.empty(2 * max_group + 1)
    s_own = np.empty(2 * max_group + 1, np.int64)
    used = np.empty(cap, np.bool_)
    members = np.empty(cap, np.int64)
    nc = nc0
    ne = ne0
    ccap = o_e.shape[0]
    ng = grp.shape[0] - 1
    g = g_start
    while g < ng:
        if nc + 2 * kk * (grp[g + 1] - grp[g]) > ccap:
            break
        nd, nx = _digitize_group(grp[g], grp[g + 1], order, vertex, t0, pdg, p, e, prm, mask,
                                 table, short, normtab, state, head, acc_e, acc_et, d_crys, d_e,
                                 d_et, d_t, d_own, d_owne, d_next, s_bar, s_t, s_own)
        nc = _cluster_event(d_crys, d_e, d_t, d_own, 0, nd, cp, xpos, ypos, used, members,
                            o_e, o_eraw, o_x, o_y, o_t, o_seed, o_nh, o_own, nc)
        o_off[g + 1] = nc
        for j in range(nx):
            x_bar[ne] = s_bar[j]
            x_t[ne] = s_t[j]
            x_own[ne] = s_own[j]
            ne += 1
        x_off[g + 1] = ne
        g += 1
    return g, nc, ne


def reconstruct(events, config: DetectorConfig | None = None,
                params: ClusterParams | None = None,
                rng: np.random.Generator | int | None = None) -> Clusters:
    """Clusters of a chunk of truth events: detector response and clustering fused (memory
    bounded by the chunk: a few clusters per event)."""
    cfg = config or DetectorConfig.default_run3()
    cp = params or ClusterParams()
    order, grp, bunch_vals, ro = readout_groups(events.bunch)
    n = order.shape[0]
    ng = grp.shape[0] - 1
    max_group = int(np.diff(grp).max()) if n else 0
    kk = cfg.shower.block ** 2
    cap = 4 * n + 2 * kk * max_group + 16
    o_off = np.zeros(ng + 1, np.int64)
    x_off = np.zeros(ng + 1, np.int64)
    x_bar = np.empty(2 * n, np.int32)
    x_t = np.empty(2 * n)
    x_own = np.empty(2 * n, np.int64)
    bufs = _cluster_buffers(cap)
    state = np.array([draw_seed(rng)], dtype=np.uint64)
    xpos, ypos = cp.crystal_positions(cfg)
    ckp = cp.kernel_params(cfg)
    arrays = kernel_inputs(events)
    g, nc, ne = 0, 0, 0
    while True:
        g, nc, ne = _fused_kernel(g, order, grp, *arrays, cfg.kernel_params, cfg.ecal.mask_flat,
                                  cfg.sharing_flat, cfg.etag_short_mask, _NORM_TABLE, state,
                                  max_group, kk, ckp, xpos, ypos, o_off, *bufs, x_off, x_bar,
                                  x_t, x_own, nc, ne)
        if g >= ng:
            break
        new = _cluster_buffers(2 * bufs[0].shape[0] + 2 * kk * max_group)
        for old, nw in zip(bufs, new, strict=True):
            nw[:nc] = old[:nc]
        bufs = new
    o_e, o_eraw, o_x, o_y, o_t, o_seed, o_nh, o_own = (b[:nc].copy() for b in bufs)
    return Clusters(offsets=o_off, energy=o_e, energy_raw=o_eraw, x=o_x, y=o_y, time=o_t,
                    seed=o_seed, n_hits=o_nh, owner=o_own, etag_offsets=x_off,
                    etag_bar=x_bar[:ne].copy(), etag_time=x_t[:ne].copy(),
                    etag_owner=x_own[:ne].copy(), readout_of_event=ro, bunch=bunch_vals,
                    config=cfg, params=cp)


def _cluster_buffers(cap: int) -> tuple:
    return (np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap),
            np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.int64))


def process(events, config: DetectorConfig, selection: Selection, e_beam_nominal: float,
            rng: np.random.Generator | int | None) -> SelectionResult:
    """Detector response, clustering and selection of a chunk of truth events at a scan point
    of nominal beam energy ``e_beam_nominal`` (MeV): a :class:`SelectionResult` per event.

    ``rng`` (a Generator or an integer seed) is drawn from once; the same state gives
    bit-identical results."""
    clusters = reconstruct(events, config, selection.clustering, rng)
    return select(clusters, selection, e_beam_nominal)
