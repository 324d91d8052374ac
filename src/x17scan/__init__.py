"""x17scan: resonant X17 searches in positron-on-target beam-energy scans.

Stages (one subpackage each, arrows go down the flow):
``physics -> beam -> sim -> reco -> data -> stats -> report``, plus ``constraints``.
Units throughout: MeV, ns, mm; cross sections in mb unless a name says otherwise.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("x17scan")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
