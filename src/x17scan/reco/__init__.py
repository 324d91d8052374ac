"""x17scan.reco: ECal clustering, the two-cluster selection (cuts from TOML) and ee / gamma gamma
tagging.

Entry points: :func:`process` (detector response + clustering + selection of a chunk of
:class:`~x17scan.sim.events.TruthEvents`), :func:`cluster`, :func:`select`,
:class:`Selection` (``Selection.from_toml(path)``, ``Selection.preset("padme-run3-inferred")``).
"""

from x17scan.reco.clustering import ClusterParams, Clusters, cluster, cluster_reference
from x17scan.reco.pipeline import process, reconstruct
from x17scan.reco.selection import CUT_NAMES, Selection, SelectionResult, select

__all__ = ["CUT_NAMES", "ClusterParams", "Clusters", "Selection", "SelectionResult", "cluster",
           "cluster_reference", "process", "reconstruct", "select"]
