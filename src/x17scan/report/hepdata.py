"""HEPData submission of an analysis (hepdata_lib): per-point inputs, limits and bands, p-values.

Tables, with qualifiers and units:

1. the per-point scan table (sqrt(s), E_beam, N, PoT, B, efficiency, with uncertainties);
2. the observed upper limit on g_ve vs M_X with the expected median and ±1σ/±2σ bands;
3. the local p-value (and Z) vs M_X, with the global significance of the largest excess as a
   qualifier.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from x17scan.errors import InputError


def _values(seq) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in seq], dtype=float)


def _variable(name: str, values, units: str = "", independent: bool = False):
    from hepdata_lib import Variable

    v = Variable(name, is_independent=independent, is_binned=False, units=units)
    v.values = [float(x) for x in values]
    return v


def _add_sym_unc(var, label: str, errors) -> None:
    from hepdata_lib import Uncertainty

    u = Uncertainty(label, is_symmetric=True)
    u.values = [float(e) for e in errors]
    var.add_uncertainty(u)


def build_submission(result, table, *, figures_dir: str | Path | None = None):
    """A ``hepdata_lib.Submission`` for ``result`` (a Result) and its ``table`` (a ScanTable)."""
    from hepdata_lib import Submission, Table

    cl = f"{100 * result.cl:.0f}%"
    sub = Submission()
    sub.comment = (f"x17scan analysis of the {result.dataset or 'scan'} data set with the "
                   f"'{result.method}' statistical method: upper limits at {cl} CL on the "
                   "coupling g_ve of a vector boson X17 to electrons, produced resonantly in "
                   "e+e- annihilation on the electrons of a thin fixed target.")
    reaction = "E+ E- --> X17 --> E+ E-"

    # 1. per-point inputs
    t = Table("Scan points")
    t.description = ("Per-point inputs of the beam-energy scan: centre-of-mass energy, beam "
                     "energy, observed two-cluster yield N, positrons on target, expected "
                     "Standard-Model yield per PoT B, X17 signal efficiency; and whether the "
                     "point enters the fit.")
    t.keywords["reactions"] = [reaction]
    t.keywords["observables"] = ["N"]
    t.keywords["cmenergies"] = [float(table.sqrt_s.min()) * 1e-3, float(table.sqrt_s.max()) * 1e-3]
    t.add_variable(_variable("SQRT(S)", table.sqrt_s, "MEV", independent=True))
    for name, vals, err, units in (
        ("E_beam", table.e_beam, None, "MEV"),
        ("N", table.n_obs, np.sqrt(table.n_obs), ""),
        ("PoT", table.pot, table.pot_err, ""),
        ("B per PoT", table.bkg_per_pot, table.bkg_per_pot_err, ""),
        ("Signal efficiency", table.sig_eff, table.sig_eff_err, ""),
        ("Used in fit", table.used.astype(float), None, ""),
    ):
        v = _variable(name, vals, units)
        if err is not None:
            _add_sym_unc(v, "stat" if name == "N" else "total", err)
        v.add_qualifier("SQRT(S)", "16.4-17.4 MeV scan")
        t.add_variable(v)
    sub.add_table(t)

    # 2. limits and bands
    lim, ex = result.limits, result.expected
    if lim.get("mass_MeV"):
        t = Table(f"Upper limit on g_ve at {cl} CL")
        t.description = (f"Observed and expected upper limits at {cl} confidence level on g_ve "
                         "versus the X17 mass. The expected limits are the median and the "
                         "quantiles at ±1σ and ±2σ of the background-only expectation.")
        t.keywords["reactions"] = [reaction]
        t.keywords["observables"] = ["G_VE"]
        m = _values(lim["mass_MeV"])
        t.add_variable(_variable("M_X", m, "MEV", independent=True))
        obs = _variable(f"Observed {cl} CL upper limit on g_ve", _values(lim["observed"]))
        obs.add_qualifier("CL", cl)
        obs.add_qualifier("Method", result.method)
        t.add_variable(obs)
        if ex.get("mass_MeV") and list(ex["mass_MeV"]) == list(lim["mass_MeV"]):
            from hepdata_lib import Uncertainty

            med = _values(ex["median"])
            e = _variable(f"Expected {cl} CL upper limit on g_ve", med)
            for label, lo, hi in (("1 sigma", "minus1", "plus1"), ("2 sigma", "minus2", "plus2")):
                u = Uncertainty(label, is_symmetric=False)
                u.values = [(float(a - b), float(c - b)) for a, b, c in
                            zip(_values(ex[lo]), med, _values(ex[hi]), strict=True)]
                e.add_uncertainty(u)
            e.add_qualifier("CL", cl)
            t.add_variable(e)
        sub.add_table(t)
        if ex.get("mass_MeV") and list(ex["mass_MeV"]) != list(lim["mass_MeV"]):
            t = Table(f"Expected upper limit on g_ve at {cl} CL")
            t.description = "Expected limits (median, ±1σ, ±2σ) on the band's own mass grid."
            t.keywords["reactions"] = [reaction]
            t.add_variable(_variable("M_X", _values(ex["mass_MeV"]), "MEV", independent=True))
            for key in ("minus2", "minus1", "median", "plus1", "plus2"):
                t.add_variable(_variable(f"Expected limit ({key})", _values(ex[key])))
            sub.add_table(t)

    # 3. local p-values
    loc = result.local
    if loc.get("mass_MeV"):
        t = Table("Local p-value")
        t.description = ("Local p-value of the background-only hypothesis versus the X17 mass, "
                         "and its one-sided Gaussian equivalent Z.")
        t.keywords["reactions"] = [reaction]
        t.add_variable(_variable("M_X", _values(loc["mass_MeV"]), "MEV", independent=True))
        p = _values(loc["p"])
        pv = _variable("Local p-value", p)
        if loc.get("p_err"):
            _add_sym_unc(pv, "toy statistics", _values(loc["p_err"]))
        exc = result.excess or {}
        if exc.get("z_global") is not None:
            pv.add_qualifier("Global significance of the largest excess",
                             f"{exc['z_global']:.2f} sigma at M_X = {exc['mass_MeV']:.2f} MeV")
        t.add_variable(pv)
        from scipy import stats

        t.add_variable(_variable("Local Z", stats.norm.isf(np.clip(p, 1e-300, 1.0))))
        sub.add_table(t)
    return sub


def validation_messages(folder: str | Path) -> list[str]:
    """Messages (errors and warnings) of ``hepdata-validator`` on a submission folder."""
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    v = FullSubmissionValidator()
    v.validate(directory=str(folder))
    return [f"{Path(f).name}: {m.level}: {m.message}" for f, msgs in v.get_messages().items()
            for m in msgs]


def write_hepdata(result, table, outdir: str | Path, validate: bool = True) -> Path:
    """Write the HEPData record into ``outdir`` (YAML files and ``submission.tar.gz``).

    The record is built in a staging folder and moved into place only when complete. With
    ``validate``, ``hepdata-validator`` must report no error and no warning, else InputError.
    Returns ``outdir``.
    """
    out = Path(outdir).resolve()
    sub = build_submission(result, table)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        record = Path(tmp) / "record"
        # hepdata_lib prints progress and writes its archive into the working directory
        with contextlib.chdir(tmp), contextlib.redirect_stdout(io.StringIO()):
            sub.create_files(str(record), validate=False, remove_old=True)
        if validate:
            problems = validation_messages(record)
            if problems:
                raise InputError(f"hepdata-validator: {problems[0]} ({len(problems)} message(s))",
                                 field="hepdata", fix="report this as an x17scan bug")
        shutil.move(Path(tmp) / "submission.tar.gz", record / "submission.tar.gz")
        if out.exists():
            shutil.rmtree(out)
        os.replace(record, out)
    return out
