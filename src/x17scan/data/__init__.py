"""Scan tables (the meeting point of real and simulated data), their readers/writers, and
the shipped data sets with provenance.

* :class:`ScanTable` -- the validated per-point table (``x17scan.data.scantable``);
* :func:`read_table` / :func:`write_table` -- CSV, Parquet, ROOT by suffix (``x17scan.data.io``);
* :func:`load` / :func:`list_datasets` -- shipped tables, e.g. ``load("padme-run3")``;
* :func:`import_padme` -- build the PADME Run III table from PADME's ROOT files.
"""

from x17scan.data.datasets import DatasetInfo, list_datasets, load
from x17scan.data.io import read_table, write_table
from x17scan.data.padme import import_padme
from x17scan.data.scantable import (
    COLUMNS,
    OBSERVABLES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    UNITS,
    ScanTable,
)

__all__ = [
    "COLUMNS",
    "OBSERVABLES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "UNITS",
    "DatasetInfo",
    "ScanTable",
    "import_padme",
    "list_datasets",
    "load",
    "read_table",
    "write_table",
]
