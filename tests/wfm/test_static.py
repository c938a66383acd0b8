"""Front-end files: htmx 2 pinned by the lockfile and served by the app itself, nothing from outside."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "wfm" / "static" / "vendor" / "htmx.min.js"


def test_htmx_is_pinned_to_2x_exactly() -> None:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["htmx.org"]
    assert re.fullmatch(r"2\.\d+\.\d+", wanted), "pin htmx 2.x exactly: unpinned installs now give htmx 4"
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/htmx.org"]
    assert locked["version"] == wanted


def test_vendored_htmx_is_the_locked_package() -> None:
    """npm ci checked the tarball against the lockfile's integrity hash; the copy must be that tarball's file."""
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/htmx.org"]
    installed = json.loads((ROOT / "node_modules" / ".package-lock.json").read_text())["packages"]
    assert installed["node_modules/htmx.org"]["integrity"] == locked["integrity"]
    assert json.loads((ROOT / "node_modules/htmx.org/package.json").read_text())["version"] == locked["version"]
    source = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
    assert hashlib.sha256(VENDORED.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert locked["integrity"].startswith("sha512-") and len(base64.b64decode(locked["integrity"][7:])) == 64
    assert f'version:"{locked["version"]}"' in VENDORED.read_text()


def test_templates_load_nothing_from_outside() -> None:
    external = re.compile(r"""(src|href|action)\s*=\s*["']\s*(https?:)?//""", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in external.finditer(path.read_text())
    ]
    assert offenders == []
