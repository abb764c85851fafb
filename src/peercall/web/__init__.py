"""The browser side served by peercall itself: SDK, minimal UI, embed helper, admin console, API docs assets."""

from __future__ import annotations

import os
from pathlib import Path

WEB_DIR = Path(__file__).parent
SDK_DIR = WEB_DIR / "sdk"
UI_DIR = WEB_DIR / "ui"
DOCS_DIR = WEB_DIR / "docs"
EMBED_DIR = WEB_DIR / "embed"
ADMIN_DIR = WEB_DIR / "admin"


def vendor_dir() -> Path:
    """Where npm put the browser dependencies (``PEERCALL_VENDOR_DIR`` overrides)."""
    configured = os.environ.get("PEERCALL_VENDOR_DIR")
    if configured:
        return Path(configured)
    return WEB_DIR.parents[2] / "node_modules"
