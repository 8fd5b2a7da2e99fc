#!/usr/bin/env python3
"""Read pip-audit's JSON report: fail on a vulnerability, report what could not be checked."""

import json
import sys

with open(sys.argv[1]) as file:
    report = json.load(file)
service = sys.argv[2] if len(sys.argv) > 2 else "pypi"
dependencies = report.get("dependencies", [])
skipped = [item for item in dependencies if "skip_reason" in item]
checked = [item for item in dependencies if "skip_reason" not in item]
vulnerable = [item for item in checked if item.get("vulns")]
for item in vulnerable:
    for vulnerability in item["vulns"]:
        fixes = ", ".join(vulnerability.get("fix_versions", [])) or "no fixed version yet"
        print(
            f"VULNERABLE {item['name']} {item['version']}: {vulnerability['id']} (fixed in {fixes})"
        )
        print(f"    {vulnerability.get('description', '')[:300]}")
if vulnerable:
    print(
        f"dependency audit: {len(vulnerable)} locked package(s) with known vulnerabilities: "
        "upgrade them in uv.lock (uv lock --upgrade-package NAME)"
    )
    sys.exit(1)
if dependencies and not checked:
    print(
        f"dependency audit: NOT RUN - the vulnerability service ({service}) "
        f"answered for none of the {len(dependencies)} locked packages "
        f"(e.g. {skipped[0]['skip_reason']!r}); nothing was checked. "
        "Run 'make audit' where it can be reached."
    )
    sys.exit(0)
print(f"dependency audit: no known vulnerabilities in {len(checked)} locked packages")
for item in skipped:
    print(f"    not checked: {item['name']} {item['version']}: {item['skip_reason']}")
