"""Run the SDK under Node: its pure modules (quality, network quality, access probe, mesh caps,
active speaker) through a runner, or a whole script with fakes for browser APIs.

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
        out = _node([str(folder / "runner.mjs")], json.dumps({"script": script, "inputs": inputs}), timeout_s)
    result: list[Any] = json.loads(out)
    return result


def run_sdk_script(script: str, timeout_s: float = 30) -> Any:
    """Run an ES-module ``script`` under Node with the SDK folder's URL as
    ``process.argv[2]`` (it imports the SDK modules from there, with fakes for the browser
    APIs it needs) and return the JSON its last line of output printed."""
    with tempfile.TemporaryDirectory() as tmp:
        runner = Path(tmp) / "script.mjs"
        runner.write_text(script)
        out = _node(["--no-warnings", str(runner), SDK.as_uri()], None, timeout_s)
    return json.loads(out.strip().splitlines()[-1])


def _node(args: list[str], stdin: str | None, timeout_s: float) -> str:
    done = subprocess.run(["node", *args], input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    return done.stdout
