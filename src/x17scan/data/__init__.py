"""Scan tables (the meeting point of real and simulated data), their readers/writers, and
the shipped data sets with provenance."""

from x17scan.data.scantable import (
    COLUMNS,
    OBSERVABLES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ScanTable,
)

__all__ = ["COLUMNS", "OBSERVABLES", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS", "ScanTable"]
