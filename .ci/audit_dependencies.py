"""CI's dependency vulnerability scan: pip-audit, and PyPI's project pages where its feed cannot be reached.

pip-audit reads vulnerabilities from PyPI's per-release JSON (`/pypi/<name>/<version>/json`) or from OSV.
On the machine CI runs on today neither is reachable (the per-release pages answer 404, OSV does not
resolve), while the project pages (`/pypi/<name>/json`) are. A project page lists the known
vulnerabilities of the project's *latest* release, so for a package installed at its latest release it is
an exact audit; for an older release it says nothing, and that package is reported as NOT AUDITED.

Fails (exit 1) when:
- any package has a known vulnerability (from either source);
- nothing at all could be audited (PyPI unreachable): an outage is never a silent pass.
Packages that could not be audited are listed loudly: upgrade their pins to the latest release (which
makes them auditable here) or audit them where pip-audit's feed is reachable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
PROJECT_PAGE = "https://pypi.org/pypi/{name}/json"


def pip_audit() -> list[dict]:
    """pip-audit's findings over this venv: entries with "vulns", or with a "skip_reason"."""
    command = [str(PIP_AUDIT), "--vulnerability-service", "pypi", "--progress-spinner", "off", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own argv)
    if result.returncode not in (0, 1):  # 1 means "vulnerabilities found"; anything else is a broken run
        sys.exit(f"pip-audit failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)["dependencies"]


def project_page(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(PROJECT_PAGE.format(name=name), timeout=30) as response:  # noqa: S310
            return json.load(response)
    except OSError:
        return None


def main() -> int:
    vulnerable: list[str] = []
    audited: list[str] = []
    not_audited: list[str] = []
    for dependency in pip_audit():
        name = dependency["name"]
        if "skip_reason" not in dependency:
            audited.append(name)
            vulnerable += [
                f"{name} {dependency['version']}: {v['id']} (fixed in {v['fix_versions']})" for v in dependency["vulns"]
            ]
            continue
        installed = metadata.version(name)
        page = project_page(name)
        if page is None:
            not_audited.append(f"{name} {installed}: PyPI did not answer")
        elif page["info"]["version"] != installed:
            not_audited.append(f"{name} {installed}: behind the latest release {page['info']['version']}")
        else:
            audited.append(name)
            vulnerable += [
                f"{name} {installed}: {v['id']}" for v in page.get("vulnerabilities") or [] if not v.get("withdrawn")
            ]

    print(f"audited: {len(audited)} packages")
    if not_audited:
        print(f"NOT AUDITED ({len(not_audited)}): no vulnerability feed reachable for these releases", file=sys.stderr)
        for line in not_audited:
            print(f"  {line}", file=sys.stderr)
    if vulnerable:
        print(f"KNOWN VULNERABILITIES ({len(vulnerable)}): upgrade these pins", file=sys.stderr)
        for line in vulnerable:
            print(f"  {line}", file=sys.stderr)
        return 1
    if not audited:
        print("no package could be audited: the vulnerability feeds and PyPI are unreachable", file=sys.stderr)
        return 1
    print("no known vulnerabilities in the audited packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
