"""The CLI: --version, --help, one-line errors with exit code 2."""

import subprocess
import sys

from x17scan import __version__


def run(*args):
    return subprocess.run([sys.executable, "-m", "x17scan", *args], capture_output=True, text=True)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"x17scan {__version__}"


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0 and "Usage" in r.stdout


def test_unknown_option_exit_2():
    r = run("--no-such-option")
    assert r.returncode == 2 and "Traceback" not in r.stderr
