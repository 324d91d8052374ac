#!/usr/bin/env python
"""Render an x17scan report.html to a PNG in headless Chromium (a manual check, not run in CI).

Usage: python tools/render_report.py x17scan-out/report.html [out.png]
Needs Debian's chromium (`apt-get install chromium`). The report must render with the network
off: it is self-contained, so a blank figure here means something is fetched from outside.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    page = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2] if len(sys.argv) > 2 else page.with_suffix(".png")).resolve()
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("chrome")
    if chrome is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
               "--window-size=1200,4000", f"--screenshot={out}", page.as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
