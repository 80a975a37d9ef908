"""The editor's front end: its unit tests (node --test) and ESLint run with the suite."""

from __future__ import annotations

import shutil
import subprocess

from .conftest import ROOT


def test_frontend_unit_tests_pass():
    node = shutil.which("node")
    assert node, "Node.js runs the front-end unit tests (it is not needed to run the service)"
    result = subprocess.run(
        [node, "--test", "test/"], cwd=ROOT / "frontend", capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def test_eslint_finds_nothing():
    eslint = ROOT / "frontend" / "node_modules" / ".bin" / "eslint"
    assert eslint.exists(), "the test command installs the front end's dev tools (npm ci in frontend/)"
    result = subprocess.run(
        [str(eslint), "--max-warnings", "0", "."], cwd=ROOT / "frontend", capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
