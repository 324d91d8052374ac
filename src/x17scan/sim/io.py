"""Output of simulations: scan tables (through the data layer) and event files.

Events are written per finished chunk as Parquet files under ``DIR/events/`` (truth columns of
:meth:`x17scan.sim.events.TruthEvents.to_columns` plus the reconstructed pair, prefixed
``reco_``, and the plan ``point`` index): a Parquet data set that ``pyarrow.dataset`` or
``pandas.read_parquet(DIR/"events")`` read as one table. With ``--format root`` the chunks are
streamed into one TTree ``events`` of ``DIR/events.root`` (uproot) and the Parquet chunks are
removed; memory stays bounded by one chunk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from x17scan import atomic


def write_scan_table(table, path: str | Path) -> Path:
    """Write a ScanTable atomically (format from the suffix) with the data layer's writer."""
    from x17scan.data import write_table

    return write_table(table, path)


def finalize_events(out: Path, files: list[str | None], fmt: str) -> dict[str, Any]:
    """Turn the per-chunk event files into the requested format; returns a description."""
    names = [f for f in files if f]
    folder = out / "events"
    if fmt == "parquet" or not names:
        return {"format": "parquet", "path": str(folder), "files": len(names)}
    import pyarrow.parquet as pq
    import uproot

    n = 0
    with atomic.atomic_path(out / "events.root") as tmp:
        with uproot.recreate(tmp) as f:
            tree = None
            for name in sorted(names):
                cols = pq.read_table(folder / name).to_pydict()
                import numpy as np

                arrays = {k: np.asarray(v) for k, v in cols.items()}
                arrays = {k: (v.astype(np.int8) if v.dtype == bool else v)
                          for k, v in arrays.items()}
                if tree is None:
                    f.mktree("events", {k: v.dtype for k, v in arrays.items()},
                             title="x17scan simulated events (truth + reco pair)")
                    tree = f["events"]
                tree.extend(arrays)
                n += len(next(iter(arrays.values())))
    shutil.rmtree(folder, ignore_errors=True)
    return {"format": "root", "path": str(out / "events.root"), "entries": n}


def read_events(out: str | Path):
    """The events of a simulation folder as a pandas DataFrame (Parquet or ROOT)."""
    out = Path(out)
    if (out / "events.root").exists():
        import uproot

        return uproot.open(out / "events.root")["events"].arrays(library="pd")
    import pandas as pd

    return pd.read_parquet(out / "events")
