"""Regenerate the malformed command-line cases of every ``x17scan`` command in this folder
and their manifest.toml.

    python tests/data/bad/cli/make_bad.py

Each case is a small text file (the harness needs one file per entry) that records the command
line and why it is wrong; ``{path}`` in a command is that file itself (used as "a file where a
folder, a scan table, a plan or a result.json is expected"), ``{out}`` an empty scratch folder
that must stay empty. Every case must exit with code 2 and print one line naming the option
(``field``) and a fix, without a traceback. Cases that still fail this rule are listed in
PENDING.md (their owners have them), not here.
"""

from pathlib import Path

HERE = Path(__file__).parent
OUT = ["--out", "{out}"]

# name: (command, field, names_file, why)
CASES: dict[str, tuple[list[str], str, bool, str]] = {}


def case(name, command, field, why, names_file=False):
    CASES[f"{name}.txt"] = (command, field, names_file, why)


# -- analyze ----------------------------------------------------------------------------------
A = ["analyze", *OUT]
case("analyze-toys-negative", [*A, "--toys", "-5"], "--toys", "negative number of toys")
case("analyze-toys-zero", [*A, "--toys", "0"], "--toys", "zero toys")
case("analyze-pseudo-experiments-negative", [*A, "--pseudo-experiments", "-1"],
     "--pseudo-experiments", "negative number of pseudo-experiments")
case("analyze-mass-grid-reversed", [*A, "--mass-grid", "17:16:0.1"], "--mass-grid",
     "MIN > MAX")
case("analyze-mass-grid-text", [*A, "--mass-grid", "abc"], "--mass-grid", "not MIN:MAX:STEP")
case("analyze-mass-grid-two-fields", [*A, "--mass-grid", "16.8:17.0"], "--mass-grid",
     "STEP missing")
case("analyze-mass-grid-zero-step", [*A, "--mass-grid", "16:17:0"], "--mass-grid",
     "zero step")
case("analyze-mass-grid-step-too-large", [*A, "--mass-grid", "16.8:17.0:0.5"], "--mass-grid",
     "STEP larger than MAX - MIN: a one-mass grid the user did not mean")
case("analyze-mass-grid-nan", [*A, "--mass-grid", "nan:17:0.1"], "--mass-grid", "NaN mass")
case("analyze-mass-grid-below-threshold", [*A, "--mass-grid", "0.5:1:0.1"], "--mass-grid",
     "masses below 2 m_e")
case("analyze-mass-grid-in-kev", [*A, "--mass-grid", "16220:17720:20"], "--mass-grid",
     "keV instead of MeV: far outside the scan")
case("analyze-mass-grid-too-many", [*A, "--mass-grid", "1.1:2000:0.0001"], "--mass-grid",
     "twenty million masses")
case("analyze-method-unknown", [*A, "--method", "frequentist"], "--method", "unknown method")
case("analyze-lineshape-unknown", [*A, "--lineshape", "gauss"], "--lineshape",
     "unknown line shape")
case("analyze-lineshape-with-padme", [*A, "--method", "padme-run3", "--lineshape", "voigt"],
     "--lineshape", "--lineshape only applies to the profile method")
case("analyze-dataset-unknown", [*A, "--dataset", "padme-run4"], "dataset",
     "no such shipped data set")
case("analyze-seed-negative", [*A, "--seed", "-1"], "--seed", "negative seed")
case("analyze-cl-percent", [*A, "--cl", "90"], "--cl", "CL in percent")
case("analyze-cl-one", [*A, "--cl", "1.0"], "--cl", "CL = 1: infinite limits")
case("analyze-cl-below-half", [*A, "--cl", "0.3"], "--cl", "CL below 0.5")
case("analyze-cl-nan", [*A, "--cl", "nan"], "--cl", "NaN CL")
case("analyze-scan-table-missing", [*A, "--scan-table", "{path}.missing.csv"], "--scan-table",
     "the scan table does not exist", names_file=True)
case("analyze-scan-table-not-a-table", [*A, "--scan-table", "{path}"], "path",
     "a .txt file is not a scan table", names_file=True)
case("analyze-out-is-a-file", ["analyze", "--out", "{path}"], "--out",
     "the output folder is an existing file", names_file=True)
case("analyze-out-under-a-file", ["analyze", "--out", "{path}/result"], "--out",
     "the output folder would be inside a file", names_file=True)
case("analyze-scan-table-name-too-long", [*A, "--scan-table", "{path}" + "x" * 300 + ".csv"],
     "--scan-table", "a file name longer than the file system allows", names_file=True)
case("analyze-out-name-too-long", ["analyze", "--out", "{path}" + "o" * 300], "--out",
     "a folder name longer than the file system allows", names_file=True)
case("analyze-workers-zero", [*A, "--workers", "0"], "--workers", "zero workers")
case("analyze-workers-negative", [*A, "-j", "-2"], "--workers", "negative workers")
case("analyze-scheduler-not-an-address", [*A, "--scheduler", "localhost"], "--scheduler",
     "no port")
case("analyze-scheduler-bad-port", [*A, "--scheduler", "tcp://127.0.0.1:port"], "--scheduler",
     "port is not a number")
case("analyze-padme-asymptotic", [*A, "--method", "padme-run3", "--asymptotic"],
     "--asymptotic", "padme-run3 has no asymptotic mode")
case("analyze-padme-one-toy", [*A, "--method", "padme-run3", "--toys", "1"], "--toys",
     "one toy per hypothesis")

# -- simulate ---------------------------------------------------------------------------------
S = ["simulate", *OUT]
case("simulate-events-negative", [*S, "--events-per-point", "-5"], "--events-per-point",
     "negative events")
case("simulate-chunk-size-zero", [*S, "--chunk-size", "0"], "--chunk-size", "zero chunk")
case("simulate-pot-fraction-zero", [*S, "--pot-fraction", "0"], "--pot-fraction",
     "no positrons")
case("simulate-pot-fraction-negative", [*S, "--pot-fraction", "-1"], "--pot-fraction",
     "negative PoT")
case("simulate-signal-mass-below-threshold", [*S, "--signal-mass", "1.0"], "--signal-mass",
     "mass below the scan and 2 m_e")
case("simulate-signal-mass-in-kev", [*S, "--signal-mass", "17000"], "--signal-mass",
     "keV instead of MeV")
case("simulate-spin-unknown", [*S, "--spin", "tensor"], "--spin", "unknown spin")
case("simulate-motion-unknown", [*S, "--motion", "fermi"], "--motion", "unknown motion model")
case("simulate-selection-unknown", [*S, "--selection", "tight"], "selection",
     "no such selection preset")
case("simulate-detector-unknown", [*S, "--detector", "run4"], "--detector",
     "no such detector configuration")
case("simulate-write-events-unknown", [*S, "--write-events", "some"], "--write-events",
     "unknown choice")
case("simulate-format-unknown", [*S, "--format", "hdf5"], "--format", "unknown format")
case("simulate-seed-negative", [*S, "--seed", "-1"], "--seed", "negative seed")
case("simulate-workers-zero", [*S, "--workers", "0"], "--workers", "zero workers")
case("simulate-study-unknown", [*S, "--study", "onres"], "--study", "unknown study")
case("simulate-plan-missing", [*S, "--plan", "{path}.missing.toml"], "--plan",
     "the plan file does not exist", names_file=True)
case("simulate-plan-not-toml", [*S, "--plan", "{path}"], "--plan",
     "a .txt file is not a plan", names_file=True)

# -- sensitivity ------------------------------------------------------------------------------
E = ["sensitivity", *OUT, "--quiet"]
case("sensitivity-mass-grid-reversed", [*E, "--mass-grid", "17:16:0.1"], "--mass-grid",
     "MIN > MAX")
case("sensitivity-cl-above-one", [*E, "--cl", "2"], "--cl", "CL above 1")
case("sensitivity-toys-negative", [*E, "--toys", "-1"], "--toys", "negative toys")
case("sensitivity-pseudo-experiments-zero", [*E, "--pseudo-experiments", "0"],
     "--pseudo-experiments", "zero pseudo-experiments")
case("sensitivity-workers-zero", [*E, "--workers", "0"], "--workers", "zero workers")
case("sensitivity-bes-negative", [*E, "--bes", "-1"], "--bes", "negative beam spread")
case("sensitivity-lee-window-text", [*E, "--lee-window", "abc"], "--lee-window",
     "not LO:HI")
case("sensitivity-lee-window-reversed", [*E, "--lee-window", "17:16"], "--lee-window",
     "LO > HI")
case("sensitivity-plan-unknown", [*E, "--plan", "run4"], "--plan", "no such plan")
case("sensitivity-model-unknown", [*E, "--model", "cls"], "--model", "unknown model")
case("sensitivity-lineshape-unknown", [*E, "--lineshape", "gauss"], "--lineshape",
     "unknown line shape")
case("sensitivity-spin-unknown", [*E, "--spin", "tensor"], "--spin", "unknown spin")
case("sensitivity-bkg-table-unknown", [*E, "--bkg-table", "padme-run4"], "--bkg-table",
     "no such reference table")
case("sensitivity-bes-values-text", [*E, "--bes-values", "a,b"], "--bes-values",
     "not numbers")
case("sensitivity-pot-syst-negative", [*E, "--pot-syst", "-0.1"], "--pot-syst",
     "negative systematic")
case("sensitivity-lineshapes-unknown", [*E, "--lineshapes", "voigt,gauss"], "--lineshapes",
     "unknown line shape in the list")

# -- plan -------------------------------------------------------------------------------------
P = ["plan", *OUT, "--quiet", "--target", "exclusion"]
case("plan-target-unknown", ["plan", *OUT, "--quiet", "--target", "both"], "--target",
     "unknown target")
case("plan-mass-negative", ["plan", *OUT, "--quiet", "--target", "discovery", "--mass", "-1"],
     "--mass", "negative mass")
case("plan-discovery-without-mass", ["plan", *OUT, "--quiet", "--target", "discovery"], "--mass",
     "a discovery target needs --mass")
case("plan-mass-sigma-negative", ["plan", *OUT, "--quiet", "--target", "discovery", "--mass",
                                  "16.9", "--mass-sigma", "-1"], "--mass-sigma",
     "negative mass uncertainty")
case("plan-window-text", [*P, "--window", "abc"], "--window", "not LO:HI")
case("plan-budget-negative", [*P, "--budget", "-1"], "--budget", "negative budget")
case("plan-days-negative", [*P, "--days", "-1"], "--days", "negative days")
case("plan-min-spacing-negative", [*P, "--min-spacing", "-1"], "--min-spacing",
     "negative spacing")
case("plan-max-points-zero", [*P, "--max-points", "0"], "--max-points", "no points")
case("plan-e-range-reversed", [*P, "--e-range", "300:200"], "--e-range", "LO > HI")
case("plan-margin-negative", [*P, "--margin", "-1"], "--margin", "negative margin")
case("plan-bes-negative", [*P, "--bes", "-1"], "--bes", "negative beam spread")
case("plan-cl-zero", [*P, "--cl", "0"], "--cl", "CL = 0")
case("plan-bkg-table-unknown", [*P, "--bkg-table", "padme-run4"], "--bkg-table",
     "no such reference table")
case("plan-pot-syst-negative", [*P, "--pot-syst", "-1"], "--pot-syst", "negative systematic")

# -- atomki, constraints ----------------------------------------------------------------------
K = ["atomki", *OUT]
case("atomki-result-missing", [*K, "--result", "{path}.missing.json"], "--result",
     "the result.json does not exist", names_file=True)
case("atomki-result-not-json", [*K, "--result", "{path}"], "--result",
     "a text file is not a result.json", names_file=True)
case("atomki-correlation-unknown", [*K, "--correlation", "full"], "--correlation",
     "unknown correlation model")
case("atomki-rho-above-one", [*K, "--correlation", "nucleus", "--rho", "2"], "--rho",
     "correlation coefficient above 1")
case("atomki-dataset-unknown", [*K, "--dataset", "all"], "--dataset", "unknown data set")
case("atomki-he4-2019-unknown", [*K, "--he4-2019", "prl"], "--he4-2019", "unknown value")
case("atomki-measurements-unknown", [*K, "--measurements", "Be8_2016,Li7_2030"],
     "--measurements", "unknown measurement id")
case("atomki-format-unknown", [*K, "--format", "gif"], "--format", "unknown figure format")
C = ["constraints", *OUT]
case("constraints-overlay-missing", [*C, "--overlay", "{path}.missing.json"], "--overlay",
     "the result.json does not exist", names_file=True)
case("constraints-overlay-not-json", [*C, "--overlay", "{path}"], "--overlay",
     "a text file is not a result.json", names_file=True)
case("constraints-alpha-unknown", [*C, "--alpha", "codata"], "--alpha", "unknown alpha input")
case("constraints-g2-convention-unknown", [*C, "--g2-convention", "1sig"], "--g2-convention",
     "unknown convention")
case("constraints-limits-unknown", [*C, "--limits", "NA64,NA99"], "--limits",
     "unknown external limit")
case("constraints-atomki-band-unknown", [*C, "--atomki-band", "all"], "--atomki-band",
     "unknown band")
case("constraints-atomki-mass-unknown", [*C, "--atomki-mass", "point"], "--atomki-mass",
     "unknown mass choice")
case("constraints-format-unknown", [*C, "--format", "gif"], "--format",
     "unknown figure format")

# -- data -------------------------------------------------------------------------------------
case("data-show-missing", ["data", "show", "{path}.missing.csv"], "path",
     "the file does not exist", names_file=True)
case("data-show-unknown-dataset", ["data", "show", "padme-run4"], "dataset",
     "no such shipped data set")
case("data-convert-missing-input", ["data", "convert", "{path}.missing.csv", "{out}/t.csv"],
     "path", "the input does not exist", names_file=True)
case("data-convert-unknown-suffix", ["data", "convert", "padme-run3", "{out}/t.xlsx"], "path",
     "unsupported output format")
case("data-convert-to-text", ["data", "convert", "padme-run3", "{path}"], "path",
     "output .txt is not a table format", names_file=True)
case("data-import-padme-file", ["data", "import-padme", "{path}"], "directory",
     "a file where PADME's folder is expected", names_file=True)
case("data-import-padme-missing", ["data", "import-padme", "{path}.missing"], "directory",
     "the folder does not exist", names_file=True)
case("data-import-padme-empty", ["data", "import-padme", "{out}"], "file",
     "the folder has no PADME ROOT files")
case("data-import-padme-syst-negative", ["data", "import-padme", "{out}", "--syst-pot", "-1"],
     "syst_pot", "negative systematic")

# -- physics ----------------------------------------------------------------------------------
case("physics-width-mass-negative", ["physics", "width", "--mass", "-1"], "--mass",
     "negative mass")
case("physics-width-mass-below-threshold", ["physics", "width", "--mass", "0.5"], "--mass",
     "below 2 m_e")
case("physics-width-gve-negative", ["physics", "width", "--mass", "17", "--gve", "-1"], "--gve",
     "negative coupling")
case("physics-width-spin-unknown", ["physics", "width", "--mass", "17", "--spin", "tensor"],
     "--spin", "unknown spin")
case("physics-yield-lineshape-unknown", ["physics", "yield", "--mass", "17", "--lineshape",
                                         "gauss"], "--lineshape", "unknown line shape")
case("physics-yield-bes-negative", ["physics", "yield", "--mass", "17", "--bes", "-1"], "--bes",
     "negative beam spread")
case("physics-yield-gamma-l-negative", ["physics", "yield", "--mass", "17", "--gamma-l", "-1"],
     "--gamma-l", "negative width")
case("physics-yield-a-peak-negative", ["physics", "yield", "--mass", "17", "--a-peak", "-1"],
     "--a-peak", "negative normalisation")
case("physics-xsec-sqrt-s-negative", ["physics", "xsec", "--sqrt-s", "-1"], "--sqrt-s",
     "negative sqrt(s)")
case("physics-xsec-r-max-negative", ["physics", "xsec", "--sqrt-s", "17", "--r-max", "-1"],
     "--r-max", "negative radius")
case("physics-xsec-distance-negative", ["physics", "xsec", "--sqrt-s", "17", "--distance",
                                        "-1"], "--distance", "negative distance")
case("physics-g2-lepton-unknown", ["physics", "g2", "--lepton", "tau"], "--lepton",
     "unknown lepton")
case("physics-g2-mass-negative", ["physics", "g2", "--mass", "-1"], "--mass", "negative mass")
case("physics-g2-gve-negative", ["physics", "g2", "--mass", "17", "--gve", "-1"], "--gve",
     "negative coupling")
case("physics-kinematics-neither", ["physics", "kinematics"], "--sqrt-s",
     "neither --sqrt-s nor --e-beam")
case("physics-kinematics-both", ["physics", "kinematics", "--sqrt-s", "17", "--e-beam", "282"],
     "--sqrt-s", "both --sqrt-s and --e-beam")
case("physics-kinematics-e-beam-negative", ["physics", "kinematics", "--e-beam", "-1"],
     "--e-beam", "negative beam energy")
case("physics-lineshape-plot-suffix", ["physics", "lineshape", "--mass", "17", "--plot",
                                       "{out}/x.gif"], "--plot", "unsupported figure format")
case("physics-lineshape-bes-negative", ["physics", "lineshape", "--mass", "17", "--bes", "-1"],
     "--bes", "negative beam spread")

# -- reco -------------------------------------------------------------------------------------
case("reco-show-selection-unknown", ["reco", "show-selection", "tight"], "selection",
     "no such selection preset")
case("reco-toy-n-negative", ["reco", "toy", "--n", "-1"], "--n", "negative events")
case("reco-toy-n-zero", ["reco", "toy", "--n", "0"], "--n", "no events")
case("reco-toy-n-huge", ["reco", "toy", "--n", "100000000000"], "--n",
     "1e11 events in one batch (was a MemoryError)")
case("reco-toy-e-beam-tev", ["reco", "toy", "--e-beam", "1e5"], "--e-beam",
     "100 GeV: outside the beam line")
case("reco-toy-final-unknown", ["reco", "toy", "--final", "mumu"], "--final",
     "unknown final state")
case("reco-toy-cos-max-above-one", ["reco", "toy", "--cos-max", "2"], "--cos-max",
     "cos theta above 1")
case("reco-toy-e-beam-negative", ["reco", "toy", "--e-beam", "-1"], "--e-beam",
     "negative beam energy")
case("reco-toy-selection-unknown", ["reco", "toy", "--selection", "tight"], "selection",
     "no such selection preset")

# -- validate ---------------------------------------------------------------------------------
V = ["validate", *OUT, "--quiet"]
case("validate-size-unknown", [*V, "--size", "huge"], "--size", "unknown size")
case("validate-seed-negative", [*V, "--seed", "-3"], "--seed", "negative seed")
case("validate-workers-zero", [*V, "--workers", "0"], "--workers", "zero workers")
case("validate-studies-unknown", [*V, "--studies", "coverage,power"], "--studies",
     "unknown study")
case("validate-studies-empty", [*V, "--studies", ","], "--studies", "no study")
case("validate-scheduler-not-an-address", [*V, "--scheduler", "localhost"], "--scheduler",
     "no port")
case("validate-out-is-a-file", ["validate", "--out", "{path}", "--quiet"], "--out",
     "the output folder is an existing file", names_file=True)
case("validate-out-under-a-file", ["validate", "--out", "{path}/v", "--quiet"], "--out",
     "the output folder would be inside a file", names_file=True)


def _toml_list(items):
    return "[" + ", ".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"'
                           for i in items) + "]"


# -- output paths and options fixed after PENDING.md -------------------------------------------
FILE_OUT = ["--out", "{path}"]
SUB_OUT = ["--out", "{path}/sub"]
case("simulate-events-zero", [*S, "--events-per-point", "0"], "--events-per-point",
     "zero events (used to run the default silently)")
case("simulate-gve-negative-no-mass", [*S, "--gve", "-1"], "--gve",
     "negative coupling without --signal-mass")
case("simulate-out-file", ["simulate", *FILE_OUT], "--out", "a file where a folder is expected")
case("simulate-out-under-file", ["simulate", *SUB_OUT], "--out", "a folder under a file")
case("simulate-scheduler-bad", [*S, "--scheduler", "localhost"], "--scheduler",
     "address without a port: nothing may be written")
case("simulate-pot-fraction-tiny", [*S, "--pot-fraction", "1e-12"], "--pot-fraction",
     "too few positrons for a scan table (used to simulate everything, write the events, then "
     "fail naming 'pot')")
case("plan-mass-with-exclusion", [*P, "--mass", "100"], "--mass",
     "--mass is ignored by an exclusion target (used to be written into the plan's description)")
case("plan-budget-tiny", [*P, "--budget", "1e3"], "--budget",
     "a budget below 3 points of 1e3 PoT (points used to be rounded to 0 PoT)")
case("plan-budget-no-reach", [*P, "--budget", "1e5"], "--budget",
     "no expected limit inside the coupling grid (used to print a NaN gain, write the plan "
     "and crash in the figure)")
case("plan-min-pot-tiny", [*P, "--min-pot", "10"], "--min-pot",
     "a minimum PoT below a plan's 1e3")
case("sensitivity-seed-negative", ["sensitivity", *OUT, "--seed", "-1"], "--seed",
     "negative seed")
case("sensitivity-out-file", ["sensitivity", *FILE_OUT], "--out", "a file as output folder")
case("sensitivity-out-under-file", ["sensitivity", *SUB_OUT], "--out", "a folder under a file")
case("plan-out-file", ["plan", "--target", "exclusion", *FILE_OUT], "--out",
     "a file as output folder")
case("plan-base-plan-unknown", ["plan", "--target", "exclusion", *OUT, "--base-plan", "nosuch"],
     "--base-plan", "no such plan")
case("plan-pot-per-day-negative", ["plan", "--target", "exclusion", *OUT, "--days", "3",
                                   "--pot-per-day", "-1"], "--pot-per-day", "negative rate")
case("plan-min-pot-negative", ["plan", "--target", "exclusion", *OUT, "--min-pot", "-1"],
     "--min-pot", "negative PoT per point")
case("atomki-out-file", ["atomki", *FILE_OUT], "--out", "a file as output folder")
case("atomki-interp-unknown", ["atomki", *OUT, "--interp", "nosuch"], "--interp",
     "unknown interpolation without --result")
case("constraints-mass-tev", ["constraints", *OUT, "--mass", "1e6"], "--mass",
     "1 TeV: outside the limits (printed a (g-2) bound of g_ve > 25)")
case("constraints-mass-negative-fix", ["constraints", *OUT, "--mass", "-1"], "--mass",
     "negative mass (the line must name a fix)")
case("constraints-out-under-file", ["constraints", *SUB_OUT], "--out", "a folder under a file")
case("data-convert-out-under-file", ["data", "convert", "padme-run3", "{path}/sub/x.csv"],
     "OUT", "writing under a file")
case("data-convert-out-folder", ["data", "convert", "padme-run3", "{out}"], "path",
     "a folder as the output file (the message said: unsupported file type, no suffix)")
case("physics-report-out-file", ["physics", "report", *FILE_OUT], "--out",
     "a file as output folder")
case("physics-lineshape-plot-under-file", ["physics", "lineshape", "--plot",
                                           "{path}/sub/x.png"], "--plot", "a figure under a file")
case("reco-toy-seed-negative", ["reco", "toy", "--seed", "-1"], "--seed", "negative seed")
case("reco-show-selection-e-beam-negative", ["reco", "show-selection", "padme-run3-inferred",
                                             "--e-beam", "-1"], "--e-beam",
     "negative beam energy (nothing printed before the error)")
case("analyze-toys-with-asymptotic", [*A, "--toys", "500", "--asymptotic"], "--toys",
     "toys requested in a mode that throws none (were ignored silently)")
case("analyze-toys-not-a-number", [*A, "--toys", "abc"], "--toys", "wrong type")
case("analyze-unknown-option", [*A, "--no-such-option"], "--no-such-option", "unknown option")
case("data-show-missing-argument", ["data", "show"], "name", "missing argument")
case("analyze-method-option-unknown", [*A, "--method-option", "nosuch=1"], "--method-option",
     "no such method option")
case("analyze-method-option-no-value", [*A, "--method-option", "g_grid"], "--method-option",
     "KEY without =VALUE")
case("analyze-method-option-bad-value", [*A, "--method", "padme-run3", "--method-option",
                                         "pseudo_bkg=nonsense"], "pseudo_bkg",
     "a value the method refuses")


def main() -> None:
    for old in HERE.glob("*.txt"):
        old.unlink()
    lines = ["# Malformed command lines of every x17scan command: each must exit with code 2",
             "# and print one line naming `field` and a fix, without a traceback, leaving",
             "# {out} empty. {path} is the listed file itself. Generated by make_bad.py.", ""]
    for name, (command, field, names_file, why) in CASES.items():
        shown = " ".join(command)
        (HERE / name).write_text(f"x17scan {shown}\n# {why}\n", encoding="utf-8")
        lines.append(f'[files."{name}"]')
        lines.append(f"command = {_toml_list(command)}")
        lines.append(f'field = "{field}"')
        if not names_file:
            lines.append("names_file = false")
        lines.append(f'why = "{why}"')
        lines.append("")
    (HERE / "manifest.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(CASES)} cases")


if __name__ == "__main__":
    main()
