"""The main job: a scan table through a statistical method to ``result.json``, figures and report.

``x17scan analyze`` is a thin wrapper around :func:`prepare` (validate everything, touch no file)
and :func:`execute` (run the method, write the outputs atomically). Notebooks can call them too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from x17scan import atomic, provenance
from x17scan.atomic import check_output_dir as check_outdir
from x17scan.errors import InputError
from x17scan.physics.constants import M_E
from x17scan.stats.method import METHODS, AnalysisOptions
from x17scan.stats.result import Result

DEFAULT_MASS_GRID = "16.22:17.72:0.02"
"""PADME's observed-limit grid: 76 masses (padme-run3-method.md §11)."""

METHOD_MODULES = {"profile": "x17scan.stats.profile", "padme-run3": "x17scan.stats.padme_run3"}
"""Where each built-in statistical method lives (imported on demand)."""

RUN_OPTIONS = {
    "padme-run3": ("g_grid", "band_g_grid", "band_masses", "quantiles", "inject"),
    "profile": ("lee_window",),
}
"""Method options read at run time (``AnalysisOptions.extra``) rather than by the constructor."""


def parse_method_options(items: list[str] | None) -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are JSON when they parse (numbers, lists, true,
    null), else strings: ``g_grid=adaptive``, ``lee_window=[16.6,17.2]``."""
    import json

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise InputError(f"cannot read method option {item!r}", field="--method-option",
                             fix="give KEY=VALUE, e.g. --method-option g_grid=adaptive")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw.strip()
    return out


def _split_method_options(method: str, factory: Any, opts: dict[str, Any]
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(constructor keyword arguments, run-time extras); unknown keys -> InputError."""
    import dataclasses
    import inspect

    params = inspect.signature(factory).parameters
    ctor = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY
            or (p.kind is p.POSITIONAL_OR_KEYWORD and n not in ("self", "table"))}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        # **overrides of a config dataclass (padme-run3): its field names
        cfg = params.get("config")
        cls = getattr(factory, "CONFIG_CLASS", None)
        if cls is None and cfg is not None:
            from x17scan.stats.padme_run3.config import PadmeRun3Config

            cls = PadmeRun3Config if method == "padme-run3" else None
        if cls is not None and dataclasses.is_dataclass(cls):
            ctor |= {f.name for f in dataclasses.fields(cls)}
    run_keys = set(RUN_OPTIONS.get(method, ()))
    kw = {k: v for k, v in opts.items() if k in ctor}
    extra = {k: v for k, v in opts.items() if k in run_keys and k not in ctor}
    unknown = sorted(set(opts) - set(kw) - set(extra))
    if unknown:
        known = ", ".join(sorted((ctor | run_keys) - {"signal_model", "config", "table_gg"}))
        raise InputError(f"method {method!r} has no option {unknown[0]!r}",
                         field="--method-option", fix=f"use one of: {known}")
    return kw, extra

DEFAULT_SEED = 1
"""Default root seed: the same command gives the same result; change it with ``--seed``."""

# Keys that describe an execution rather than a result; they go to run.json, never result.json,
# so that result.json is bit-identical across runs, worker counts and executors.
_EXECUTION_KEYS = ("elapsed_s", "timing", "timings", "time_s", "executor", "workers", "scheduler",
                   "progress", "checkpoint_dir", "fresh")


def parse_mass_grid(spec: str) -> np.ndarray:
    """Masses (MeV) from ``"MIN:MAX:STEP"`` (MAX included when it falls on the grid)."""
    parts = spec.split(":")
    try:
        lo, hi, step = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"cannot read mass grid {spec!r}", field="--mass-grid",
                         fix="give MIN:MAX:STEP in MeV, e.g. 16.22:17.72:0.02") from None
    if not (np.isfinite([lo, hi, step]).all() and step > 0 and hi >= lo):
        raise InputError(f"mass grid {spec!r} is empty or has a non-positive step",
                         field="--mass-grid", fix="give MIN:MAX:STEP with MIN <= MAX and STEP > 0")
    if hi > lo and step > hi - lo + 1e-9:
        # "16.8:17.0:0.5" would give the one mass 16.8: almost always a slip (STEP and MAX
        # swapped, or a unit), so it is refused rather than run on a grid the user did not mean.
        raise InputError(f"mass grid {spec!r}: STEP {step:g} MeV is larger than MAX - MIN = "
                         f"{hi - lo:g} MeV, so the grid would hold MIN only", field="--mass-grid",
                         fix="give a STEP smaller than MAX - MIN, or MIN:MIN:STEP for one mass")
    if lo <= 2 * M_E:
        raise InputError(f"mass {lo} MeV is below the e+e- threshold", field="--mass-grid",
                         fix=f"masses must exceed 2 m_e = {2 * M_E:.4f} MeV")
    n = int(np.floor((hi - lo) / step + 1e-6)) + 1
    if n > 5000:
        raise InputError(f"mass grid {spec!r} has {n} masses", field="--mass-grid",
                         fix="use at most 5000 masses (a coarser STEP)")
    return np.round(lo + step * np.arange(n), 10)


def load_input(dataset: str | None, scan_table: str | Path | None):
    """The ScanTable to analyse: a file (``--scan-table``) or a shipped data set (``--dataset``)."""
    from x17scan import data

    if scan_table is not None:
        path = Path(scan_table)
        try:
            exists = path.exists()
        except (OSError, ValueError):  # not a usable file name (too long, NUL byte)
            exists = False
        if not exists:
            raise InputError(f"no such file {str(path)!r}", field="--scan-table",
                             fix="give the path of a CSV, Parquet or ROOT scan table")
        table = data.read_table(path)
        return table, {"scan_table": str(path), "sha256": provenance.sha256_file(path)}
    table = data.load(dataset or "padme-run3")
    return table, {"dataset": table.name,
                   "sha256_columns": provenance.sha256_arrays(table.columns())}


def failed_fit_counts(diagnostics: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """Non-zero counts of fits that failed after their retries, by diagnostics key path
    (``failed_fits``, ``n_failed_fits``, ``n_data_fits_failed`` at any depth)."""
    out: dict[str, int] = {}
    for key, val in diagnostics.items():
        path = f"{prefix}{key}"
        if isinstance(val, dict) and key != "by_kind":
            out.update(failed_fit_counts(val, path + "."))
        elif key in ("failed_fits", "n_failed_fits", "n_data_fits_failed") and \
                isinstance(val, int | float) and val:
            out[path] = int(val)
    return out


def warn_failed_fits(diagnostics: dict[str, Any]) -> None:
    """One warning line on stderr (rich) if any fit failed after its retry (never silent)."""
    counts = failed_fit_counts(diagnostics)
    if not counts:
        return
    from rich.console import Console

    detail = ", ".join(f"{k} = {v}" for k, v in counts.items())
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold yellow]warning:[/] fits failed after their retry ({detail}); they are counted "
        "in result.json 'diagnostics' and left out of the toy distributions")


@dataclass
class Job:
    """Everything validated, nothing run or written yet."""

    table: Any
    method_name: str
    method: Any
    options: AnalysisOptions
    outdir: Path
    inputs: dict[str, Any]
    method_options: dict[str, Any] = field(default_factory=dict)


def prepare(*, dataset: str | None = None, scan_table: str | Path | None = None,
            method: str = "profile", mass_grid: str | None = None, cl: float = 0.90,
            toys: int | None = None, pseudo_experiments: int | None = None,
            asymptotic: bool = False, seed: int | None = DEFAULT_SEED, workers: int = 1,
            scheduler: str | None = None, outdir: str | Path = "x17scan-out", fresh: bool = False,
            progress: bool = True, method_options: dict[str, Any] | None = None) -> Job:
    """Validate every input and build the method; raises InputError and writes nothing."""
    import importlib

    if method in METHOD_MODULES:  # importing the module registers the method
        importlib.import_module(METHOD_MODULES[method])
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", field="--method",
                         fix=f"use one of {', '.join(sorted(set(METHODS) | set(METHOD_MODULES)))}")
    if not 0.5 <= cl < 1.0:
        raise InputError(f"confidence level {cl} outside [0.5, 1)", field="--cl",
                         fix="give a fraction, e.g. 0.90 or 0.95")
    for name, value in (("--toys", toys), ("--pseudo-experiments", pseudo_experiments)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1, got {value}", field=name,
                             fix=f"give a positive number of {name[2:]}")
        if value is not None and asymptotic:
            raise InputError(f"{name} has no effect with --asymptotic (no toys are thrown)",
                             field=name, fix=f"drop {name} or --asymptotic")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}", field="--workers",
                         fix="give 1 or more")
    if seed is not None and seed < 0:
        raise InputError(f"seed must be non-negative, got {seed}", field="--seed",
                         fix="give a non-negative integer")
    if scheduler:
        from x17scan.parallel import check_scheduler_address

        check_scheduler_address(scheduler)
    masses = parse_mass_grid(mass_grid) if mass_grid else None
    table, inputs = load_input(dataset, scan_table)
    if masses is not None:
        s = table.sqrt_s[table.used]
        far = (masses < s.min() - 1.0) | (masses > s.max() + 1.0)
        if far.any():
            raise InputError(
                f"mass {masses[far][0]} MeV is far outside the scanned sqrt(s) range "
                f"{s.min():.3f}-{s.max():.3f} MeV", field="--mass-grid",
                fix="choose masses within about 1 MeV of the scanned range")
    out = check_outdir(outdir)
    mopts = dict(method_options or {})
    kw, extra = _split_method_options(method, METHODS[method], mopts)
    try:
        built = METHODS[method](table, **kw)
    except TypeError as err:  # a value of the wrong kind for the method
        raise InputError(f"bad method option for {method!r}: {err}", field="--method-option",
                         fix="check the value's type (numbers, lists in JSON)") from None
    options = AnalysisOptions(masses=masses, cl=cl, toys=toys,
                              pseudo_experiments=pseudo_experiments, asymptotic=asymptotic,
                              seed=seed, workers=workers, scheduler=scheduler,
                              checkpoint_dir=str(out / ".checkpoints" / method), fresh=fresh,
                              progress=progress, extra=extra)
    return Job(table, method, built, options, out, inputs, mopts)


def _split_execution(block: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keep = {k: v for k, v in block.items() if k not in _EXECUTION_KEYS}
    moved = {k: v for k, v in block.items() if k in _EXECUTION_KEYS}
    return keep, moved


def execute(job: Job, *, html: bool = True, figures: bool = True) -> tuple[Result, list[Path]]:
    """Run the method; write ``result.json``, ``scan_table.csv``, ``run.json``, figures and
    ``report.html`` into the job's output folder."""
    from x17scan.parallel import make_executor  # noqa: F401 - fail early if dask is broken

    t0 = time.perf_counter()
    result = job.method.run(job.options)
    elapsed = time.perf_counter() - t0

    diagnostics, diag_exec = _split_execution(dict(result.diagnostics))
    options, opt_exec = _split_execution(dict(result.options))
    options.update({
        "method": job.method_name,
        "mass_grid": None if job.options.masses is None else list(job.options.masses),
        "cl": job.options.cl, "toys": job.options.toys,
        "pseudo_experiments": job.options.pseudo_experiments,
        "asymptotic": job.options.asymptotic, "seed": job.options.seed,
        "method_options": job.method_options,
    })
    warn_failed_fits(diagnostics)
    prov = provenance.record(inputs=job.inputs, **dict(result.provenance))
    result = replace(result, diagnostics=diagnostics, options=options, provenance=prov,
                     dataset=result.dataset or job.table.name)
    # plain JSON types from here on: what is written is exactly what the figures show
    result = Result.from_dict(result.to_dict())
    from x17scan.data import write_table

    # the analysed table travels with its result: exports and re-analyses need nothing else
    written = [write_table(job.table, job.outdir / "scan_table.csv"), job.outdir / "result.json"]
    result.to_json(written[1])
    run = provenance.run_info(**{**diag_exec, **opt_exec, "elapsed_s": round(elapsed, 3),
                                 "workers": job.options.workers,
                                 "scheduler": job.options.scheduler})
    import json

    atomic.write_text(job.outdir / "run.json", json.dumps(run, indent=1, sort_keys=True,
                                                          default=str) + "\n")
    written.append(job.outdir / "run.json")
    if figures:
        from x17scan.report.figures import write_figures

        written += write_figures(result, job.outdir / "figures")
    if html:
        try:
            from x17scan.report.html import write_html
        except ImportError:  # the HTML report is optional until it exists
            pass
        else:
            written.append(write_html(result, job.table, job.outdir, run_info=run))
    return result, written


def load_result_dir(path: str | Path) -> tuple[Result, Any]:
    """The Result and ScanTable of an ``x17scan analyze`` output folder."""
    from x17scan.data import read_table

    folder = Path(path)
    res_file, tab_file = folder / "result.json", folder / "scan_table.csv"
    for f in (res_file, tab_file):
        if not f.exists():
            raise InputError(f"{str(f)!r} not found", field="RESULT_DIR",
                             fix="give the output folder of `x17scan analyze` (--out)")
    try:
        result = Result.from_json(res_file)
    except (ValueError, TypeError) as err:
        raise InputError(f"cannot read {str(res_file)!r}: {err}", field="RESULT_DIR",
                         fix="re-run `x17scan analyze` to regenerate it") from None
    return result, read_table(tab_file)
