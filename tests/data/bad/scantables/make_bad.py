"""Generate the malformed scan tables of this folder and their manifest.toml.

Run from anywhere: ``python tests/data/bad/scantables/make_bad.py``. Every file is a small
synthetic table (8 points, PADME-like numbers) with one defect; the manifest records which
field (and row) the one-line error must name. The files are committed; re-running rewrites
them identically except the Parquet/ROOT files, whose bytes may vary with library versions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHOW = ["data", "show", "{path}"]
CONVERT = ["data", "convert", "{path}", "{out}/converted.parquet"]

COLS = ["sqrt_s", "e_beam", "n_obs", "pot", "pot_err", "bkg_per_pot", "bkg_per_pot_err",
        "sig_eff", "sig_eff_err", "scan_part", "period", "used"]
UNITS_LINE = ("# units: sqrt_s=MeV e_beam=MeV n_obs=counts pot=positrons pot_err=positrons "
              "bkg_per_pot=1/positron bkg_per_pot_err=1/positron sig_eff=fraction "
              "sig_eff_err=fraction")


def base_columns() -> dict[str, np.ndarray]:
    """A valid 8-point table (sqrt(s) in MeV, CODATA m_e for e_beam)."""
    m_e = 0.51099895
    s = np.round(np.linspace(16.40, 17.40, 8), 4)
    n = s.size
    return {
        "sqrt_s": s,
        "e_beam": np.round((s * s - 2 * m_e * m_e) / (2 * m_e), 4),
        "n_obs": np.round(np.linspace(26000.0, 29000.0, n), 1),
        "pot": np.full(n, 8.0e9),
        "pot_err": np.full(n, 3.2e7),
        "bkg_per_pot": np.round(np.linspace(3.35e-6, 3.70e-6, n), 9),
        "bkg_per_pot_err": np.full(n, 1.9e-8),
        "sig_eff": np.round(np.linspace(0.079, 0.097, n), 5),
        "sig_eff_err": np.full(n, 4.2e-4),
        "scan_part": np.zeros(n, dtype=int),
        "period": np.arange(n),
        "used": np.ones(n, dtype=bool),
    }


def fmt(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, str):
        return v
    return repr(float(v))


def csv_text(cols: dict[str, list], comments: list[str] | None = None, sep: str = ",") -> str:
    head = ["# format: x17scan-scantable/1", "# name: bad-example", "# observable: 2cl",
            UNITS_LINE] if comments is None else comments
    names = list(cols)
    n = len(next(iter(cols.values())))
    lines = [*head, sep.join(names)]
    lines += [sep.join(fmt(cols[c][i]) for c in names) for i in range(n)]
    return "\n".join(lines) + "\n"


def as_lists() -> dict[str, list]:
    return {c: list(v) for c, v in base_columns().items()}


def with_cell(col: str, row: int, value) -> dict[str, list]:
    c = as_lists()
    c[col][row] = value
    return c


# -- the cases --------------------------------------------------------------------------------
CASES: list[tuple[str, str, int | None, list[str], Callable[[Path], None], str]] = []


def case(name: str, field: str, row: int | None = None, command: list[str] | None = None,
         why: str = ""):
    def deco(fn: Callable[[Path], None]):
        CASES.append((name, field, row, command or SHOW, fn, why or (fn.__doc__ or "").strip()))
        return fn
    return deco


def text_case(name, field, row, text_fn, command=None, why=""):
    case(name, field, row, command, why)(lambda p: p.write_text(text_fn(), encoding="utf-8"))


# CSV: content errors
def _drop(col):
    c = as_lists()
    del c[col]
    return c


def _swap(r1, r2):
    c = as_lists()
    for k in c:
        c[k][r1], c[k][r2] = c[k][r2], c[k][r1]
    return c


def _dup(r_from, r_to):
    c = as_lists()
    for k in ("sqrt_s", "e_beam"):
        c[k][r_to] = c[k][r_from]
    return c


def _scale(factor, *cols):
    c = as_lists()
    for k in cols:
        c[k] = [v * factor for v in c[k]]
    return c


def _extra():
    c = as_lists()
    c["lumi"] = [1.0] * 8
    return c


def _all_unused():
    c = as_lists()
    c["used"] = [False] * 8
    return c


def _units(line):
    return ["# format: x17scan-scantable/1", "# name: bad-example", line]


text_case("missing_pot_column.csv", "pot", None, lambda: csv_text(_drop("pot")),
          why="required column pot absent")
text_case("extra_unknown_column.csv", "lumi", None, lambda: csv_text(_extra()),
          why="column lumi is not a scan-table column")
text_case("nan_pot.csv", "pot", 3, lambda: csv_text(with_cell("pot", 3, "nan")))
text_case("inf_n_obs.csv", "n_obs", 0, lambda: csv_text(with_cell("n_obs", 0, "inf")))
text_case("negative_pot.csv", "pot", 5, lambda: csv_text(with_cell("pot", 5, -8.0e9)))
text_case("negative_n_obs.csv", "n_obs", 6, lambda: csv_text(with_cell("n_obs", 6, -12.0)))
text_case("zero_background.csv", "bkg_per_pot", 2,
          lambda: csv_text(with_cell("bkg_per_pot", 2, 0.0)))
text_case("background_count_not_per_pot.csv", "bkg_per_pot", 4,
          lambda: csv_text(with_cell("bkg_per_pot", 4, 28000.0)),
          why="expected background count given instead of the yield per PoT (> 1)")
text_case("duplicated_sqrt_s.csv", "sqrt_s", 4, lambda: csv_text(_dup(3, 4)))
text_case("unsorted_points.csv", "sqrt_s", 6, lambda: csv_text(_swap(5, 6)))
text_case("sqrt_s_in_gev.csv", "sqrt_s", 0, lambda: csv_text(_scale(1e-3, "sqrt_s", "e_beam")))
text_case("sqrt_s_in_kev.csv", "sqrt_s", 0, lambda: csv_text(_scale(1e3, "sqrt_s", "e_beam")))
text_case("e_beam_in_gev.csv", "e_beam", 0, lambda: csv_text(_scale(1e-3, "e_beam")))
text_case("e_beam_inconsistent.csv", "e_beam", 6,
          lambda: csv_text(with_cell("e_beam", 6, 300.0)),
          why="e_beam does not follow from sqrt_s")
text_case("efficiency_in_percent.csv", "sig_eff", 0, lambda: csv_text(_scale(100, "sig_eff")))
text_case("efficiency_error_in_percent.csv", "sig_eff_err", 0,
          lambda: csv_text(_scale(1e4, "sig_eff_err")))
text_case("negative_pot_err.csv", "pot_err", 2, lambda: csv_text(with_cell("pot_err", 2, -3e7)))
text_case("negative_sig_eff_err.csv", "sig_eff_err", 7,
          lambda: csv_text(with_cell("sig_eff_err", 7, -4e-4)))
text_case("relative_pot_err.csv", "pot_err", 0, lambda: csv_text(_scale(1e-10, "pot_err")),
          why="pot_err given as a relative error")
text_case("relative_bkg_err.csv", "bkg_per_pot_err", 0,
          lambda: csv_text(with_cell("bkg_per_pot_err", 0, 0.005)),
          why="bkg_per_pot_err given as a relative error")
text_case("pot_in_units_of_1e10.csv", "pot", 0, lambda: csv_text(_scale(1e-10, "pot", "pot_err")))
text_case("non_numeric_cell.csv", "n_obs", 4, lambda: csv_text(with_cell("n_obs", 4, "27k")))
text_case("empty_cell.csv", "pot_err", 1, lambda: csv_text(with_cell("pot_err", 1, "")))
text_case("period_not_integer.csv", "period", 3, lambda: csv_text(with_cell("period", 3, 2.5)))
text_case("scan_part_text.csv", "scan_part", 1,
          lambda: csv_text(with_cell("scan_part", 1, "first")))
text_case("used_maybe.csv", "used", 2, lambda: csv_text(with_cell("used", 2, "maybe")))
text_case("all_points_unused.csv", "used", None, lambda: csv_text(_all_unused()))
text_case("units_declared_gev.csv", "sqrt_s", None,
          lambda: csv_text(as_lists(), _units("# units: sqrt_s=GeV e_beam=GeV")),
          why="the units line declares GeV")
text_case("units_declared_percent.csv", "sig_eff", None,
          lambda: csv_text(as_lists(), _units("# units: sqrt_s=MeV sig_eff=%")))
text_case("unknown_observable.csv", "observable", None,
          lambda: csv_text(as_lists(), ["# name: bad-example", "# observable: muons"]))
text_case("duplicate_header_column.csv", "pot", None,
          lambda: csv_text(as_lists()).replace("pot_err,", "pot,", 1))
text_case("semicolon_delimited.csv", "delimiter", None,
          lambda: csv_text(as_lists(), sep=";"))
text_case("tab_delimited.csv", "delimiter", None, lambda: csv_text(as_lists(), sep="\t"))
text_case("header_only.csv", "rows", None,
          lambda: "\n".join(csv_text(as_lists()).splitlines()[:5]) + "\n")
text_case("comments_only.csv", "header", None,
          lambda: "# name: bad-example\n# observable: 2cl\n")
text_case("ragged_rows.csv", "columns", 3,
          lambda: csv_text(as_lists()).replace(",0,3,true\n", ",0,3\n"))
text_case("trailing_comma_row.csv", "columns", 5,
          lambda: csv_text(as_lists()).replace(",0,5,true\n", ",0,5,true,\n"))
text_case("wrong_suffix_table.txt", "path", None, lambda: csv_text(as_lists()),
          why="unsupported file suffix")
text_case("convert_negative_pot.csv", "pot", 5,
          lambda: csv_text(with_cell("pot", 5, -8.0e9)), command=CONVERT,
          why="conversion of a bad table writes nothing")


@case("empty.csv", "file")
def _empty_csv(p: Path) -> None:
    """zero-byte file"""
    p.write_bytes(b"")


@case("random_bytes.csv", "file")
def _garbage_csv(p: Path) -> None:
    """binary data with a .csv suffix"""
    p.write_bytes(np.random.default_rng(7).integers(0, 256, 600, dtype=np.uint8).tobytes())


# Parquet
def _write_parquet(p: Path, cols: dict, metadata: dict | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table(cols)
    if metadata is not None:
        t = t.replace_schema_metadata({k: json.dumps(v) if not isinstance(v, str) else v
                                       for k, v in metadata.items()})
    pq.write_table(t, p)


def _good_parquet_bytes(tmp: Path) -> bytes:
    _write_parquet(tmp, base_columns())
    return tmp.read_bytes()


@case("truncated.parquet", "file")
def _truncated_parquet(p: Path) -> None:
    """Parquet file cut in the middle"""
    data = _good_parquet_bytes(p)
    p.write_bytes(data[: len(data) // 2])


@case("convert_truncated.parquet", "file", command=CONVERT)
def _truncated_parquet2(p: Path) -> None:
    """truncated Parquet, converted: nothing written"""
    data = _good_parquet_bytes(p)
    p.write_bytes(data[:-20])


@case("csv_text_named.parquet", "file")
def _csv_as_parquet(p: Path) -> None:
    """CSV text with a .parquet suffix"""
    p.write_text(csv_text(as_lists()))


@case("nan_pot.parquet", "pot", 3)
def _nan_parquet(p: Path) -> None:
    c = base_columns()
    c["pot"] = c["pot"].copy()
    c["pot"][3] = np.nan
    _write_parquet(p, c)


@case("null_pot.parquet", "pot", 3)
def _null_parquet(p: Path) -> None:
    """a null (missing) PoT"""
    import pyarrow as pa

    c = {k: pa.array(v) for k, v in base_columns().items()}
    pot = base_columns()["pot"].tolist()
    pot[3] = None
    c["pot"] = pa.array(pot, type=pa.float64())
    _write_parquet(p, c)


@case("string_n_obs.parquet", "n_obs", 4)
def _string_parquet(p: Path) -> None:
    c = base_columns()
    c["n_obs"] = np.array([f"{v:.1f}" for v in c["n_obs"]], dtype=object)
    c["n_obs"][4] = "27k"
    _write_parquet(p, c)


@case("missing_sig_eff.parquet", "sig_eff")
def _missing_parquet(p: Path) -> None:
    c = base_columns()
    del c["sig_eff"]
    _write_parquet(p, c)


@case("no_rows.parquet", "rows")
def _empty_parquet(p: Path) -> None:
    _write_parquet(p, {k: v[:0] for k, v in base_columns().items()})


@case("list_column.parquet", "pot")
def _list_parquet(p: Path) -> None:
    """PoT stored as a list per row"""
    import pyarrow as pa

    c = {k: pa.array(v) for k, v in base_columns().items()}
    c["pot"] = pa.array([[v, v] for v in base_columns()["pot"]])
    _write_parquet(p, c)


@case("units_gev.parquet", "sqrt_s")
def _units_parquet(p: Path) -> None:
    """schema metadata declares sqrt_s in GeV"""
    _write_parquet(p, base_columns(),
                   {"x17scan": {"format": "x17scan-scantable/1", "meta": {},
                                "units": {"sqrt_s": "GeV"}}})


@case("bad_metadata_json.parquet", "meta")
def _meta_parquet(p: Path) -> None:
    """x17scan schema metadata that is not JSON"""
    _write_parquet(p, base_columns(), {"x17scan": "{not json"})


@case("empty.parquet", "file")
def _empty_parquet_file(p: Path) -> None:
    p.write_bytes(b"")


# ROOT
def _write_root_tree(p: Path, cols: dict) -> None:
    import uproot

    with uproot.recreate(p) as f:
        f.mktree("scan", {k: np.asarray(v).dtype for k, v in cols.items()})
        f["scan"].extend({k: np.asarray(v) for k, v in cols.items()})


def _good_root_bytes(p: Path) -> bytes:
    _write_root_tree(p, base_columns())
    return p.read_bytes()


@case("random_bytes.root", "file")
def _garbage_root(p: Path) -> None:
    """random bytes with a .root suffix"""
    p.write_bytes(np.random.default_rng(11).integers(0, 256, 2000, dtype=np.uint8).tobytes())


@case("truncated.root", "file")
def _truncated_root(p: Path) -> None:
    """ROOT file cut in the middle"""
    data = _good_root_bytes(p)
    p.write_bytes(data[: len(data) // 2])


@case("empty.root", "file")
def _empty_root(p: Path) -> None:
    p.write_bytes(b"")


@case("no_scan_tree.root", "scan")
def _no_tree(p: Path) -> None:
    """a ROOT file with a histogram but no TTree 'scan'"""
    import uproot

    with uproot.recreate(p) as f:
        f["h"] = (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]))


@case("convert_no_scan_tree.root", "scan", command=CONVERT)
def _no_tree2(p: Path) -> None:
    """no TTree 'scan', converted: nothing written"""
    import uproot

    with uproot.recreate(p) as f:
        f.mktree("points", {"sqrt_s": np.float64})
        f["points"].extend({"sqrt_s": base_columns()["sqrt_s"]})


@case("scan_is_histogram.root", "scan")
def _scan_hist(p: Path) -> None:
    """the object 'scan' is a TH1, not a TTree"""
    import uproot

    with uproot.recreate(p) as f:
        f["scan"] = (np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0]))


@case("negative_pot.root", "pot", 5)
def _neg_root(p: Path) -> None:
    c = base_columns()
    c["pot"] = c["pot"].copy()
    c["pot"][5] = -8.0e9
    _write_root_tree(p, c)


@case("missing_bkg_branch.root", "bkg_per_pot")
def _missing_root(p: Path) -> None:
    c = base_columns()
    del c["bkg_per_pot"]
    _write_root_tree(p, c)


@case("unsorted.root", "sqrt_s", 6)
def _unsorted_root(p: Path) -> None:
    c = base_columns()
    order = np.arange(8)
    order[[5, 6]] = [6, 5]
    _write_root_tree(p, {k: v[order] for k, v in c.items()})


@case("jagged_pot_branch.root", "pot")
def _jagged_root(p: Path) -> None:
    """PoT stored as a variable-length array per entry"""
    import awkward as ak
    import uproot

    c = base_columns()
    with uproot.recreate(p) as f:
        data = {k: v for k, v in c.items() if k != "pot"}
        data["pot"] = ak.Array([[v] * (1 + i % 2) for i, v in enumerate(c["pot"])])
        types = {k: np.asarray(v).dtype for k, v in data.items() if k != "pot"}
        f.mktree("scan", {**types, "pot": "var * float64"})
        f["scan"].extend(data)


@case("units_kev.root", "sqrt_s")
def _units_root(p: Path) -> None:
    """the ROOT 'units' string declares keV"""
    import uproot

    c = base_columns()
    _write_root_tree(p, c)
    with uproot.update(p) as f:
        f["units"] = json.dumps({"sqrt_s": "keV"})


# -- driver -----------------------------------------------------------------------------------
def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("make_bad.py", "manifest.toml", "README.md") and old.is_file():
            old.unlink()
    lines = [
        "# Malformed scan tables: each file must be refused with exit code 2 and one line",
        "# naming `field` (and `row`, 0-based data row, if given) and a fix.",
        "# Generated by make_bad.py (run it to regenerate the files and this manifest).",
        "",
    ]
    for name, field, row, command, fn, why in CASES:
        fn(HERE / name)
        lines.append(f"[files.{_toml_str(name)}]")
        lines.append("command = [" + ", ".join(_toml_str(a) for a in command) + "]")
        lines.append(f"field = {_toml_str(field)}")
        if row is not None:
            lines.append(f"row = {row}")
        if why:
            lines.append(f"why = {_toml_str(why)}")
        lines.append("")
    (HERE / "manifest.toml").write_text("\n".join(lines), encoding="utf-8")
    for junk in HERE.glob("*.tmp*"):
        junk.unlink()
    shutil.rmtree(HERE / "__pycache__", ignore_errors=True)
    print(f"wrote {len(CASES)} bad scan tables and manifest.toml in {HERE}")


if __name__ == "__main__":
    main()
