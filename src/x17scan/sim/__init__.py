"""x17scan.sim: event generation for a resonance scan (beam at the target, Bhabha, gamma gamma,
X17 -> e+e- with electron motion, beam halo), the truth-event schema shared with the detector
response, and the ``simulate`` pipeline (plan -> events -> reco -> scan tables).

Entry points: :class:`~x17scan.sim.events.TruthEvents`,
:class:`~x17scan.sim.generators.BackgroundGenerator`,
:class:`~x17scan.sim.generators.SignalGenerator`, :class:`~x17scan.sim.halo.HaloGenerator`,
:func:`~x17scan.sim.pipeline.simulate` with :class:`~x17scan.sim.pipeline.SimOptions`.
Heavy modules are imported lazily by their users; this package imports only the schema.
"""

from x17scan.sim.events import PROCESS_CODES, TruthEvents

__all__ = ["PROCESS_CODES", "TruthEvents"]
