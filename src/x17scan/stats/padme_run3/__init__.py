"""``padme-run3``: a faithful, fast re-implementation of the PADME Run III X17 statistical
treatment (arXiv:2505.24797; specification ``docs/padme-run3-method.md``).

Importing this package registers the method under ``"padme-run3"`` in
:data:`x17scan.stats.method.METHODS`. Public API: :class:`PadmeRun3Method`,
:class:`PadmeRun3Config`, :class:`PadmeProblem` and the building blocks of the submodules
(``model``, ``fit``, ``toys``, ``cls``, ``limits``, ``bands``, ``pvalues``, ``scan``).
"""

from x17scan.stats.padme_run3.config import PadmeRun3Config
from x17scan.stats.padme_run3.method import METHOD_NAME, PadmeRun3Method
from x17scan.stats.padme_run3.model import PARAM_NAMES, Dataset, PadmeProblem

__all__ = ["METHOD_NAME", "PARAM_NAMES", "Dataset", "PadmeProblem", "PadmeRun3Config",
           "PadmeRun3Method"]
