"""Scan plans: points (beam energy, PoT, kind), beam spread and scale, spot, divergence, bunch
structure and target. ``load_plan("run3")`` gives PADME Run III."""

from x17scan.beam.plan import (
    E_BEAM_RANGE,
    KINDS,
    MIN_POT,
    BunchStructure,
    ScanPlan,
    ScanPoint,
    load_plan,
    plan_from_dict,
    shipped_plans,
)

__all__ = ["E_BEAM_RANGE", "KINDS", "MIN_POT", "BunchStructure", "ScanPlan", "ScanPoint",
           "load_plan", "plan_from_dict", "shipped_plans"]
