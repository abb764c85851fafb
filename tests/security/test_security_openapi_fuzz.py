"""OpenAPI fuzzing (schemathesis) against the live REST API: no 5xx, no response that
violates the published schema, every check schemathesis has — with one documented
exclusion: ``use_after_free``, because a deleted room's call history stays readable by
design (``GET /api/rooms/{id}/calls`` after ``DELETE``), for audits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peercall.testing import ServerProcess, start_server, stop_server

SEED = "20261125"


def schemathesis(server: ServerProcess, tmp: Path, header: str, *extra: str) -> tuple[int, str, dict[str, int]]:
    report = tmp / f"report-{len(list(tmp.glob('report-*')))}.ndjson"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.base_url}/openapi.json"]
    command += ["-H", f"Authorization: Bearer {header}", "--checks", "all", "--exclude-checks", "use_after_free"]
    command += ["-n", "25", "--seed", SEED, "--phases", "examples,coverage,fuzzing,stateful"]
    command += ["--report", "ndjson", "--report-ndjson-path", str(report), "--no-color", *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp)  # its cache stays in tmp
    statuses: dict[str, int] = {}
    for line in report.read_text().splitlines():
        for status in _statuses(json.loads(line)):
            statuses[status] = statuses.get(status, 0) + 1
    return result.returncode, result.stdout, statuses


def _statuses(node: object) -> list[str]:
    """Every HTTP status code recorded anywhere in one NDJSON event."""
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("status_code"), int):
            found.append(str(node["status_code"]))
        for value in node.values():
            found += _statuses(value)
    elif isinstance(node, list):
        for value in node:
            found += _statuses(value)
    return found


def test_security_openapi_fuzzing_live_api(tmp_path: Path):
    server = start_server(tmp_path)
    try:
        code, out, statuses = schemathesis(server, tmp_path, server.api_key)
        room = server.create_room()
        join = server.token(room, "fuzzer")["token"]
        code_ice, out_ice, statuses_ice = schemathesis(server, tmp_path, join, "--include-path", "/api/ice-servers")
        log = server.log()
    finally:
        stop_server(server)
    generated = [line for line in out.splitlines() if "generated" in line]
    print(f"\nsecurity OpenAPI fuzz: {generated[-1].strip() if generated else '?'}; statuses {statuses}")
    print(f"security OpenAPI fuzz (join token, /api/ice-servers): statuses {statuses_ice}")
    assert code == 0, out[-5000:]
    assert code_ice == 0, out_ice[-3000:]
    assert not [s for s in {**statuses, **statuses_ice} if s.startswith("5")], (statuses, statuses_ice)
    assert sum(statuses.values()) >= 300, "the fuzzer must really have exercised the API"
    assert "Traceback" not in log
