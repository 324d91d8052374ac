"""Detector response + clustering + selection in one pass over the readout events.

:func:`reconstruct` runs the digitisation of :func:`x17scan.sim.detector.respond` and the
clustering of :func:`x17scan.reco.clustering.cluster` block by block of readout events, so the
crystal hits stay in the CPU cache and are never stored whole; its clusters are bit-identical to
``cluster(respond(events, config, rng), params)`` for the same generator state (tested).
:func:`process` adds the selection.
"""

from __future__ import annotations

import numpy as np

from x17scan.reco.clustering import ClusterParams, Clusters, _ClusterSink
from x17scan.reco.selection import Selection, SelectionResult, select
from x17scan.sim.detector import DetectorConfig, DigitizerRun


def reconstruct(events, config: DetectorConfig | None = None,
                params: ClusterParams | None = None,
                rng: np.random.Generator | int | None = None) -> Clusters:
    """Clusters of a chunk of truth events: the detector response and the clustering run block
    by block (``x17scan.sim.detector.BLOCK_GROUPS`` readout events), so the hits stay in cache
    and memory is bounded by the block."""
    cfg = config or DetectorConfig.default_run3()
    cp = params or ClusterParams()
    run = DigitizerRun(events, cfg, rng)
    xpos, ypos = cp.crystal_positions(cfg)
    ckp = cp.kernel_params(cfg)
    sink = _ClusterSink(run.n_groups, 3 * run.n_groups)
    for g0, g1 in run.blocks():
        run.block(g0, g1)
        sink.run(run.h_off, run.h_crys, run.h_e, run.h_t, run.h_own, g1 - g0, ckp, xpos, ypos,
                 g0)
    return sink.clusters(run.etag(), cfg, cp, run.readout_of_event, run.bunch)


def process(events, config: DetectorConfig, selection: Selection, e_beam_nominal: float,
            rng: np.random.Generator | int | None) -> SelectionResult:
    """Detector response, clustering and selection of a chunk of truth events at a scan point
    of nominal beam energy ``e_beam_nominal`` (MeV): a :class:`SelectionResult` per event.

    ``rng`` (a Generator or an integer seed) is drawn from once; the same state gives
    bit-identical results."""
    clusters = reconstruct(events, config, selection.clustering, rng)
    return select(clusters, selection, e_beam_nominal)
