"""Several `peercall serve` nodes sharing one Redis and one data directory (scale tests)."""

from __future__ import annotations

from pathlib import Path

from peercall.testing.server import ServerProcess, start_server, stop_server


def start_nodes(
    tmp_path: Path, redis_url: str, count: int = 2, extra_env: dict[str, str] | None = None
) -> list[ServerProcess]:
    """``count`` nodes (``node1``, ``node2``, …) on the Redis hub; the caller stops them.

    On a failure to start, the nodes already started are stopped before re-raising.
    """
    env = {"PEERCALL_REDIS_URL": redis_url, "PEERCALL_DATA_DIR": str(tmp_path / "shared"), **(extra_env or {})}
    started: list[ServerProcess] = []
    try:
        for index in range(1, count + 1):
            folder = tmp_path / f"node{index}"
            folder.mkdir(exist_ok=True)
            started.append(start_server(folder, extra_env=env))
    except BaseException:
        for node in started:
            stop_server(node)
        raise
    return started
