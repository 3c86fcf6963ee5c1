"""Reads pip-audit's JSON report (``make audit``) and says what was audited, what could not be, and what is vulnerable.

pip-audit prints "No known vulnerabilities found" and exits 0 even when it could
audit none of the pins (every one "not found": no advisory data reached). That is
no answer at all, so this exits 1 and says so; a vulnerability also exits 1.
Usage: python audit_summary.py REPORT.json PIP_AUDIT_EXIT_CODE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(report_path: str, exit_code: str) -> int:
    try:
        with Path(report_path).open(encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"error: pip-audit wrote no readable report ({exc}); exit code {exit_code}: nothing was audited")
        return 1
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    vulnerable = [(d, v) for d in audited for v in d.get("vulns", [])]
    for dependency, vuln in vulnerable:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln.get('id')} (fixed in {fixes})")
    for dependency in skipped:
        print(f"not audited: {dependency['name']}: {dependency['skip_reason']}")
    print(f"{len(audited)} of {len(dependencies)} pinned package(s) audited, {len(vulnerable)} known vulnerabilit(ies)")
    if not audited:
        print("error: audited nothing: no advisory data was reached for any pin (network, or the advisory service); this is not a pass")
        return 1
    return 1 if vulnerable or exit_code not in ("0", "1") else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
