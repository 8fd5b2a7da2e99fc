"""The dependency audit's verdict (scripts/audit_report.py reads pip-audit's JSON report): a
known vulnerability fails CI; a service that answered for nothing is reported as not run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def verdict(tmp_path: Path, dependencies: list[dict]) -> subprocess.CompletedProcess:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit_report.py"), str(report), "pypi"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    result = verdict(
        tmp_path,
        [
            {"name": "django", "version": "5.2.0", "vulns": [
                {"id": "PYSEC-2025-1", "fix_versions": ["5.2.1"], "description": "SQL injection"}
            ]},
            {"name": "six", "version": "1.17.0", "vulns": []},
        ],
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "VULNERABLE django 5.2.0: PYSEC-2025-1 (fixed in 5.2.1)"
    )


def test_an_unreachable_service_is_reported_and_does_not_fail(tmp_path):
    reason = "Dependency not found on PyPI and could not be audited: six (1.17.0)"
    result = verdict(tmp_path, [{"name": "six", "version": "1.17.0", "skip_reason": reason}])

    assert result.returncode == 0
    assert result.stdout.startswith("dependency audit: NOT RUN - the vulnerability service (pypi)")


def test_a_clean_audit_says_how_many_packages_were_checked(tmp_path):
    result = verdict(tmp_path, [{"name": "six", "version": "1.17.0", "vulns": []}])

    assert (result.returncode, result.stdout.strip()) == (
        0,
        "dependency audit: no known vulnerabilities in 1 locked packages",
    )


def test_ci_runs_the_audit_as_its_own_stage():
    assert 'stage "dependency audit" make audit' in (ROOT / ".ci" / "run").read_text()
