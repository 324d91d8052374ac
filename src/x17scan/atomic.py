"""Atomic file output: write to a temporary file in the same folder, then rename.

Nothing half-written is ever left under the final name, whatever interrupts the process.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from x17scan.errors import InputError


def check_output_dir(outdir: str | os.PathLike[str], field: str = "--out") -> Path:
    """An output folder, checked before any work: it is a folder or can be created as one
    (its nearest existing ancestor is a writable folder). Raises InputError; creates nothing."""
    out = Path(outdir)
    try:
        exists = out.exists()
        anc = out if exists else next((a for a in out.absolute().parents if a.exists()), None)
    except (OSError, ValueError) as err:  # e.g. a name too long for the file system
        raise InputError(f"cannot use {str(out)!r} as a folder "
                         f"({getattr(err, 'strerror', None) or err})", field=field,
                         fix="give a shorter, valid folder path") from None
    if exists and not out.is_dir():
        raise InputError(f"{str(out)!r} exists and is not a folder", field=field,
                         fix="give a folder path")
    if anc is not None and not anc.is_dir():
        raise InputError(f"cannot create folder {str(out)!r}: {str(anc)!r} is a file",
                         field=field, fix="give a folder path whose parents are folders")
    if anc is not None and not os.access(anc, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {str(anc)!r} (permission denied)", field=field,
                         fix="give a folder you can write to")
    return out


def check_output_file(path: str | os.PathLike[str], field: str) -> Path:
    """An output file path, checked before any work: not a folder, and its folder can be
    created. Raises InputError; creates nothing."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{str(p)!r} is a folder", field=field, fix="give a file name")
    check_output_dir(p.parent, field)
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    Use it for writers that want a file name (``fig.savefig``, ``pyarrow.parquet.write_table``).
    On an exception the temporary file is removed and ``path`` is untouched.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        # the safety net for commands that did not check their output path up front
        raise InputError(f"cannot create folder {str(final.parent)!r}: a file is in the way "
                         f"({err.strerror})", field="output path",
                         fix="give an output path whose folders are folders") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp" + final.suffix,
                               dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes private (0600) files; outputs get the usual umask-based mode
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs) -> Iterator[IO]:
    """``open()`` that only makes the file appear under ``path`` once it is complete."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
