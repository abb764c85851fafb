"""In-call effects: output fps and processing ms for background blur at 640×480, headless Chromium.

One page on the peercall server (same origin as the SDK and the /vendor model files) opens
a 30 fps 640×480 camera (a y4m of the e2e test photo, or ``--camera FILE.y4m``; Chromium's own
fake camera stops at 20 fps), builds the SDK's effects
pipeline and counts the frames its output track delivers over a window. Baseline in the
same run: the same pipeline with no processor (pass-through: frame copy + re-wrap).

    python bench/effects.py [--seconds S] [--quick] [--json]

Keys (``--json``, last line): ``fps``, ``ms_per_frame``, ``segmentation_ms``,
``passthrough_fps``, ``passthrough_ms``, ``segmentation_input``, ``segmentation_rate_hz``,
``main_thread_max_lag_ms`` / ``passthrough_max_lag_ms`` (worst lateness of a 10 ms timer on
the page's main thread while measuring: how much the effect starves the call's own work),
``camera_fps`` (the camera track read directly: the ceiling for any pipeline on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHOTO = HERE.parent / "tests" / "data" / "effects-astronaut.jpg"  # public domain (see the e2e test)
sys.path.insert(0, str(HERE.parent / "src"))

from peercall.testing import start_server, stop_server  # noqa: E402
from peercall.testing.browser import chromium  # noqa: E402

MEASURE_JS = """
async ([seconds, blur, raw]) => {
  const fx = await import('/sdk/effects/index.js');
  const seg = await import('/sdk/effects/segmenter.js');
  const video = { width: 640, height: 480, frameRate: 30 };
  const cam = (await navigator.mediaDevices.getUserMedia({ video })).getVideoTracks()[0];
  const pipeline = new fx.EffectsPipeline(cam);
  let segmenter = null;
  if (blur) {
    segmenter = new seg.Segmenter();
    await segmenter.load();
    pipeline.setProcessors([fx.backgroundProcessor(segmenter, { mode: 'blur' })]);
    const t0 = performance.now();
    while (!segmenter.hasMask && performance.now() - t0 < 30000) await new Promise((r) => setTimeout(r, 100));
  }
  const track = raw ? cam : pipeline.output; // raw: the camera itself, what any pipeline can reach
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  // Main-thread starvation: how late a 10 ms timer fires (the call's signaling, watchdog and
  // UI share this thread with the compositor).
  let lag = 0, due = performance.now() + 10;
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - due);
    due = now + 10;
  }, 10);
  let frames = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const { value } = await reader.read();
    if (!value) break;
    value.close();
    frames += 1;
  }
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(timer);
  const out = { fps: frames / elapsed, ms: pipeline.msPerFrame, segMs: segmenter ? segmenter.ms : 0,
                rate: segmenter ? segmenter.rateHz : 0, lag,
                input: segmenter ? `${segmenter.mask.width}x${segmenter.mask.height}` : '' };
  reader.cancel(); pipeline.stop(); cam.stop(); segmenter?.close();
  return out;
}
"""


def _camera_file(tmp: Path) -> str:
    """A 30 fps 640×480 y4m of a real person (Chromium's built-in fake camera stops at 20 fps)."""
    out = tmp / "camera.y4m"
    args = ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-r", "30", "-i", str(PHOTO)]
    subprocess.run([*args, "-frames:v", "2", "-pix_fmt", "yuv420p", "-s", "640x480", str(out)], check=True)
    return str(out)


async def run(seconds: float, camera: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            camera = camera or _camera_file(Path(tmp))
            extra = [f"--use-file-for-fake-video-capture={camera}"]
            async with chromium(extra_args=extra) as browser:
                page = await browser.new_page()
                await page.goto(server.base_url + "/call")
                camera_only = await page.evaluate(MEASURE_JS, [seconds, False, True])
                passthrough = await page.evaluate(MEASURE_JS, [seconds, False, False])
                blur = await page.evaluate(MEASURE_JS, [seconds, True, False])
        finally:
            stop_server(server)
    return {
        "fps": round(blur["fps"], 1),
        "ms_per_frame": round(blur["ms"], 2),
        "segmentation_ms": round(blur["segMs"], 1),
        "segmentation_rate_hz": blur["rate"],
        "segmentation_input": blur["input"],
        "main_thread_max_lag_ms": round(blur["lag"], 1),
        "passthrough_max_lag_ms": round(passthrough["lag"], 1),
        "passthrough_fps": round(passthrough["fps"], 1),
        "passthrough_ms": round(passthrough["ms"], 2),
        "camera_fps": round(camera_only["fps"], 1),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per mode")
    parser.add_argument("--camera", help="a .y4m for the fake camera (default: 30 fps, the e2e photo)")
    parser.add_argument("--quick", action="store_true", help="3 s windows")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()
    result = asyncio.run(run(3.0 if args.quick else args.seconds, args.camera))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
