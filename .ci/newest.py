"""The newest-versions job: tomorrow's breaking release, found before a user refreshes the lock.

    python .ci/newest.py [pytest arguments]

Installs the newest versions pyproject.toml allows (every extra, not the lock) into a fresh
virtualenv and runs the suite there. Where some package is newer than requirements/dev.txt and
the suite fails, each such package in turn goes back to its locked version and the failed tests
run again: the packages whose step back makes them pass are named, with both versions. Exits 0
when nothing is newer or the suite passes, 1 naming the breaking package(s) otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;\\]+)", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, set[str]]:
    text = (ROOT / "requirements" / "dev.txt").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for match in PIN.finditer(text):
        found.setdefault(canonical(match["name"]), set()).add(match["version"])
    return found


def run(*command: str, check: bool = True) -> int:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT, check=check).returncode


def installed(python: str) -> dict[str, str]:
    listing = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {canonical(p["name"]): p["version"] for p in json.loads(listing)}


def main() -> int:
    pytest_args = sys.argv[1:]
    extras = ",".join(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "optional-dependencies"
        ]
    )
    with tempfile.TemporaryDirectory(prefix="newest-") as work:
        venv = Path(work) / "venv"
        run(sys.executable, "-m", "venv", str(venv))
        python = str(venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))
        run(python, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(python, "-m", "pip", "install", "-q", "--upgrade", "-e", f".[{extras}]")
        locked = locked_versions()
        newer = {
            name: (sorted(locked[name])[-1], version)
            for name, version in installed(python).items()
            if name in locked and version not in locked[name]
        }
        if not newer:
            print("newest versions: the lock already holds the newest allowed versions.")
            return 0
        print("newest versions: newer than requirements/dev.txt:")
        for name, (old, new) in sorted(newer.items()):
            print(f"  {name} {old} -> {new}")
        cache = ["-o", f"cache_dir={Path(work) / 'pytest-cache'}"]
        if run(python, "-m", "pytest", *cache, *pytest_args, check=False) == 0:
            print(
                "newest versions: the suite passes with them "
                "(`python requirements/lock.py --upgrade` takes them into the lock)."
            )
            return 0
        failed = sorted(json.loads((Path(work) / "pytest-cache/v/cache/lastfailed").read_text()))
        breaking = []
        for name, (old, new) in sorted(newer.items()):
            run(python, "-m", "pip", "install", "-q", f"{name}=={old}")
            if (
                run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *failed, check=False)
                == 0
            ):
                breaking.append(f"{name} {new} (passes with {old})")
            run(python, "-m", "pip", "install", "-q", f"{name}=={new}")
        if breaking:
            print("newest versions: the suite fails with " + "; ".join(breaking) + ".")
            print("Fix the code for the new release, or bound it in pyproject.toml with a reason.")
        else:
            print(
                "newest versions: the suite fails with them, and no single package going back "
                "to its locked version fixes it: look at the failures above."
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
