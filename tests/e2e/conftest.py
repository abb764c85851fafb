"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.testing.netns import NetnsUnavailable, Topology, topology


@pytest.fixture
def topo(tmp_path: Path) -> Iterator[Topology]:
    """Router + hosts A and B; fails (never skips) when namespaces cannot be created here."""
    try:
        with topology(tmp_path) as built:
            yield built
    except NetnsUnavailable as exc:
        pytest.fail(f"reconnect tests need network namespaces: {exc}", pytrace=False)
