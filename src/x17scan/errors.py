"""User-facing errors: one line that names the input, the field and the fix.

Every stage raises :class:`InputError` (a ``ValueError``) for bad user input; the CLI prints
``str(err)`` on one line and exits with code 2, without a traceback (unless ``--debug``).
"""

from __future__ import annotations

from dataclasses import dataclass


class X17ScanError(Exception):
    """Base class of the errors x17scan raises on purpose."""


@dataclass(eq=False)
class InputError(X17ScanError, ValueError):
    """Bad input handed to x17scan by a user.

    Parameters
    ----------
    message
        What is wrong, e.g. ``"PoT must be positive, got -1"``.
    field
        The column, option or key at fault (``"pot"``, ``"--mass-grid"``, ``"points[3].e_beam"``).
    fix
        What the user should do about it.
    source
        The file or object the value came from, if any.
    row
        Row (0-based data row) of a table, if the error is tied to one.
    """

    message: str
    field: str | None = None
    fix: str | None = None
    source: str | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.field:
            where.append(f"field '{self.field}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        text = (": ".join([", ".join(where), self.message]) if where else self.message).strip()
        if self.fix:
            text += f" (fix: {self.fix})"
        # one line, always: messages built from user data may contain newlines
        return " ".join(text.split())

    def with_source(self, source: str) -> InputError:
        """Return a copy of this error that names ``source`` (a file) as its origin."""
        return InputError(self.message, self.field, self.fix, source, self.row)


class FitFailure(X17ScanError, RuntimeError):
    """A fit that did not converge after its retries (counted, never silently dropped)."""
