"""Bad-input corpus: every file under ``tests/data/bad/<kind>/`` must be refused cleanly.

Each ``tests/data/bad/<kind>/manifest.toml`` lists its files::

    [files."negative_pot.csv"]
    command = ["data", "show", "{path}"]   # x17scan CLI arguments; {path} = the file,
                                           # {out} = an empty scratch folder
    field = "pot"                          # the field the error must name
    row = 5                                # optional: the row it must name
    names_file = true                      # optional (default true): the line names the file

For every entry the command runs in-process through ``x17scan.cli.main`` (the real entry point:
its InputError -> one line + exit 2 path is what is tested) and must: exit with code 2; print
exactly one non-empty line (stdout + stderr) that names ``field '<field>'`` (and ``row <row>``),
contains ``fix:`` and no traceback; and, when the command mentions ``{out}``, leave that folder
empty. Every file of a folder (except ``manifest.toml``, ``*.py``, ``*.md``) must be listed.
"""

from __future__ import annotations

import contextlib
import io
import tomllib
from pathlib import Path

import pytest

BAD = Path(__file__).parent / "data" / "bad"
_SKIP_SUFFIXES = {".py", ".md", ".toml", ".pyc"}


def _entries():
    out = []
    for manifest in sorted(BAD.glob("*/manifest.toml")):
        spec = tomllib.loads(manifest.read_text(encoding="utf-8"))
        for name, entry in spec.get("files", {}).items():
            out.append(pytest.param(manifest.parent, name, entry,
                                    id=f"{manifest.parent.name}/{name}"))
    return out


ENTRIES = _entries()
_results: dict[str, bool] = {}


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    yield
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is None or not _results:  # e.g. inside an xdist worker
        return
    line = f"bad inputs rejected: {sum(_results.values())}/{len(_results)}"
    if capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)
    else:
        reporter.write_line(line)


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``x17scan.cli.main(args)`` in-process; (exit code, stdout + stderr)."""
    from x17scan.cli import main

    buf_out, buf_err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, buf_out.getvalue() + buf_err.getvalue()


def test_corpus_is_complete():
    assert ENTRIES, "no bad-input manifests found"
    for manifest in sorted(BAD.glob("*/manifest.toml")):
        listed = set(tomllib.loads(manifest.read_text(encoding="utf-8")).get("files", {}))
        present = {p.name for p in manifest.parent.iterdir()
                   if p.is_file() and p.suffix not in _SKIP_SUFFIXES}
        assert present - listed == set(), f"{manifest}: files not in the manifest"
        assert listed - {p.name for p in manifest.parent.iterdir()} == set(), \
            f"{manifest}: manifest lists missing files"


@pytest.mark.parametrize(("folder", "name", "entry"), ENTRIES)
def test_bad_input_rejected(folder: Path, name: str, entry: dict, tmp_path: Path):
    key = f"{folder.name}/{name}"
    _results[key] = False
    path = folder / name
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("{path}", str(path)).replace("{out}", str(out)) for a in entry["command"]]
    code, text = run_cli(args)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert code == 2, f"exit code {code}, output:\n{text}"
    assert "Traceback" not in text
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    line = lines[0]
    assert f"field '{entry['field']}'" in line, line
    if "row" in entry:
        assert f"row {entry['row']}" in line, line
    else:
        assert ", row " not in line, line
    assert "fix:" in line, line
    if entry.get("names_file", True):
        assert name in line, line
    if any("{out}" in a for a in entry["command"]):
        assert list(out.rglob("*")) == [], "a failed command left files in its output folder"
    _results[key] = True


def test_error_line_prints_brackets_verbatim():
    """Messages quote user input and hold brackets ("[x, y]", "[plan]"): the CLI's error line
    prints them as written, not as rich markup (which used to swallow "[x, y]")."""
    code, out = run_cli(["simulate", "--plan", str(BAD / "plans" / "spot_one_value.toml"),
                         "--out", "unused"])
    assert code == 2
    assert "needs two values [x, y], got [1.0]" in out
    assert "fix: give [sigma_x, sigma_y]" in out
