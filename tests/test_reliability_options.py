"""Hypothesis-generated option values for ``x17scan analyze`` and ``x17scan validate``: every
value is either accepted or refused with one InputError line naming the option and a fix;
never another exception, never a file written by a refused command."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from x17scan import analysis
from x17scan.errors import InputError

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))
grid_text = st.one_of(
    st.text(max_size=30),
    st.tuples(numbers, numbers, numbers).map(lambda t: ":".join(str(x) for x in t)),
    st.lists(st.sampled_from(["16.2", "17", "-1", "0", "nan", "1e9", "", "x", ":", "0.02"]),
             max_size=5).map(":".join),
)


def _check(call) -> None:
    try:
        call()
    except InputError as err:
        line = str(err)
        assert "\n" not in line and "field '" in line and "(fix:" in line, line
    except Exception as err:
        pytest.fail(f"{type(err).__name__}: {err}")


@SETTINGS
@given(grid=grid_text)
def test_mass_grid_strings(grid, tmp_path):
    def call():
        masses = analysis.parse_mass_grid(grid)
        assert masses.size >= 1 and (masses > 1.022).all()
    _check(call)


@SETTINGS
@given(cl=st.floats(allow_nan=True, allow_infinity=True),
       toys=st.one_of(st.none(), st.integers(-10**9, 10**9)),
       pe=st.one_of(st.none(), st.integers(-10**9, 10**9)),
       seed=st.one_of(st.none(), st.integers(-10**12, 10**12)),
       workers=st.integers(-100, 100),
       method=st.sampled_from(["profile", "padme-run3", "", "PROFILE", "cls", "padme_run3"]),
       dataset=st.one_of(st.sampled_from(["padme-run3"]), st.text(max_size=20)),
       scheduler=st.one_of(st.none(), st.text(max_size=25),
                           st.sampled_from(["tcp://127.0.0.1:8786", "tcp://:", "tcp://h:-1",
                                            "127.0.0.1:99999"])))
def test_analyze_options(cl, toys, pe, seed, workers, method, dataset, scheduler, tmp_path):
    out = tmp_path / "out"

    def call():
        job = analysis.prepare(dataset=dataset, method=method, cl=cl, toys=toys,
                               pseudo_experiments=pe, seed=seed, workers=workers,
                               scheduler=scheduler or None, outdir=out, progress=False)
        # accepted: then every value is a sane one
        assert 0.5 <= job.options.cl < 1 and math.isfinite(job.options.cl)
        assert job.options.workers >= 1 and (seed is None or seed >= 0)
    _check(call)
    assert not out.exists()                                    # prepare writes nothing


@SETTINGS
@given(size=st.text(max_size=8), seed=st.integers(-5, 5), workers=st.integers(-3, 0),
       studies=st.text(max_size=20))
def test_validate_options_refused_without_writing(size, seed, workers, studies, tmp_path):
    """workers <= 0 makes every draw invalid: the command must refuse it in one line."""
    from test_bad_inputs import run_cli

    out = tmp_path / "v"
    code, text = run_cli(["validate", "--out", str(out), "--size", size, "--seed", str(seed),
                          "--workers", str(workers), "--studies", studies or "all", "--quiet"])
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if studies.startswith("-"):      # parsed as an option by click: its usage box (see report)
        return
    assert code == 2 and len(lines) == 1 and "fix:" in lines[0], text
    assert not out.exists()


paths = st.one_of(st.text(max_size=40), st.integers(200, 400).map(lambda n: "x" * n),
                  st.integers(200, 400).map(lambda n: "d/" + "y" * n + ".csv"),
                  st.sampled_from(["/", ".", "..", "a\x00b", "/dev/null", "~", "-"]))


@SETTINGS
@given(dataset=st.one_of(st.none(), paths), scan_table=st.one_of(st.none(), paths),
       out=st.one_of(st.just("ok"), paths))
def test_input_and_output_paths(dataset, scan_table, out, tmp_path):
    """Any string as data set, scan table or output folder: accepted or one InputError line
    (names too long for the file system, NUL bytes, folders where files are expected...)."""
    outdir = tmp_path / "ok" if out == "ok" else out

    def call():
        analysis.prepare(dataset=dataset, scan_table=scan_table, outdir=outdir,
                         asymptotic=True, progress=False)
    _check(call)
