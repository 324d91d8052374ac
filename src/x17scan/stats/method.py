"""Named statistical treatments of a scan table share one interface.

A method (``profile``, ``padme-run3``) is built from a :class:`~x17scan.data.ScanTable` and
its options and answers the same questions: upper limits, expected bands, local and global
p-values, and a full :class:`~x17scan.stats.result.Result` for ``x17scan analyze``.
Methods register themselves in :data:`METHODS` under their CLI name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from x17scan.stats.result import Result


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of ``x17scan analyze`` that every method understands.

    ``toys``/``pseudo_experiments`` of ``None`` mean the method's own defaults. ``masses`` in MeV.
    """

    masses: np.ndarray | None = None
    cl: float = 0.90
    toys: int | None = None
    pseudo_experiments: int | None = None
    asymptotic: bool = False
    seed: int | None = None
    workers: int = 1
    scheduler: str | None = None
    checkpoint_dir: str | None = None
    fresh: bool = False
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Method(Protocol):
    """What ``x17scan analyze`` needs from a statistical method."""

    name: str

    def run(self, options: AnalysisOptions) -> Result:
        """Run the full analysis (limits, expected band, local and global p-values)."""
        ...


METHODS: dict[str, Callable[..., Method]] = {}
"""CLI name -> factory ``f(table, **method_options) -> Method``."""


def register_method(name: str) -> Callable[[Callable[..., Method]], Callable[..., Method]]:
    """Class decorator adding a method factory to :data:`METHODS`."""

    def deco(factory: Callable[..., Method]) -> Callable[..., Method]:
        METHODS[name] = factory
        return factory

    return deco
