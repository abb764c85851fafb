"""Run the SDK's pure modules (quality, network quality, access probe, mesh caps, active speaker) under Node.

The SDK files are browser ES modules with a ``.js`` suffix and no package.json, so they are
copied as ``.mjs`` into a temporary folder; a small runner reads JSON on stdin, calls one
exported function per input and prints JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SDK = Path(__file__).resolve().parent.parent / "web" / "sdk"
MODULES = ("quality", "network-quality", "access-probe", "mesh-bandwidth", "active-speaker")

RUNNER = """
import * as quality from './quality.mjs';
import * as nq from './network-quality.mjs';
import * as probe from './access-probe.mjs';
import * as mesh from './mesh-bandwidth.mjs';
import * as speaker from './active-speaker.mjs';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { script, inputs } = JSON.parse(Buffer.concat(chunks).toString());
const fn = new Function('quality', 'nq', 'probe', 'input', 'mesh', 'speaker', script);
process.stdout.write(JSON.stringify(inputs.map((input) => fn(quality, nq, probe, input, mesh, speaker))));
process.exit(0); // timers the modules started must not keep Node alive
"""


def node_available() -> bool:
    return shutil.which("node") is not None


def run_js(script: str, inputs: list[Any], timeout_s: float = 30) -> list[Any]:
    """Evaluate ``script`` (a function body of ``quality``, ``nq``, ``probe``, ``input``, ``mesh``
    and ``speaker``) per input."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in MODULES:
            (folder / f"{name}.mjs").write_text((SDK / f"{name}.js").read_text())
        (folder / "runner.mjs").write_text(RUNNER)
        done = subprocess.run(
            ["node", str(folder / "runner.mjs")],
            input=json.dumps({"script": script, "inputs": inputs}),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    result: list[Any] = json.loads(done.stdout)
    return result
