"""Shared fixtures: a real `peercall serve` process on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.testing import ServerProcess, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path)
    yield proc
    stop_server(proc)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("server"))
    yield proc
    stop_server(proc)
