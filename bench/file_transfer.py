"""File-transfer throughput: a random file between two Chromium call pages on loopback.

The figure is ``call.files`` end to end (offer → accept → chunks with backpressure →
SHA-256 verified on both sides), from the sender's ``send()`` to the receiver's
``complete`` (both on the machine's ``Date.now()`` clock). Baseline in the same run, in
the same two pages: a plain negotiated RTCDataChannel on its own RTCPeerConnection pair
pushing the same number of bytes as ready-made 64 KiB ArrayBuffers with the same
backpressure (high/low water marks), timed from the first send to the last byte received.

    python bench/file_transfer.py [--mb N] [--rounds N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from playwright.async_api import Page  # noqa: E402

from peercall.testing import start_server, stop_server  # noqa: E402
from peercall.testing.browser import chromium  # noqa: E402

# A plain data channel between two pages; SDP travels through the test (no trickle).
RAW_JS = """
() => {
  const gathered = (pc) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  });
  const make = () => {
    const pc = new RTCPeerConnection();
    const dc = pc.createDataChannel('bench-raw', { negotiated: true, id: 900, ordered: true });
    dc.binaryType = 'arraybuffer';
    window.__raw = { pc, dc, opened: new Promise((r) => { dc.onopen = r; }) };
    return pc;
  };
  window.__rawOffer = async () => {
    const pc = make(); await pc.setLocalDescription(); await gathered(pc); return pc.localDescription.sdp;
  };
  window.__rawAnswer = async (sdp) => {
    const pc = make(); await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(); await gathered(pc); return pc.localDescription.sdp;
  };
  window.__rawAccept = async (sdp) => {
    await window.__raw.pc.setRemoteDescription({ type: 'answer', sdp }); await window.__raw.opened;
  };
  window.__rawReceive = (total) => new Promise((resolve) => {
    let got = 0;
    window.__raw.dc.onmessage = ({ data }) => { got += data.byteLength; if (got >= total) resolve(Date.now()); };
  });
  window.__rawSend = async (total, chunk, high, low) => {
    const { dc } = window.__raw;
    await window.__raw.opened;
    dc.bufferedAmountLowThreshold = low;
    const buffer = new Uint8Array(chunk); crypto.getRandomValues(buffer.subarray(0, 65536));
    const start = Date.now();
    for (let sent = 0; sent < total;) {
      if (dc.bufferedAmount > high) {
        await new Promise((r) => dc.addEventListener('bufferedamountlow', r, { once: true }));
        continue;
      }
      const n = Math.min(chunk, total - sent);
      dc.send(n === chunk ? buffer : buffer.slice(0, n));
      sent += n;
    }
    return start;
  };
  window.__rawClose = () => window.__raw.pc.close();
}
"""

SDK_JS = """
() => {
  window.__makeFile = (size) => {
    const parts = [];
    for (let at = 0; at < size; at += 65536) {
      const part = new Uint8Array(Math.min(65536, size - at)); crypto.getRandomValues(part); parts.push(part);
    }
    window.__file = new File(parts, 'bench.bin', { type: 'application/octet-stream' });
  };
  window.__sdkReceive = () => new Promise((resolve, reject) => {
    const files = window.peercallCall.files;
    const offs = [files.on('offer', (e) => e.accept()),
      files.on('complete', (e) => { offs.forEach((off) => off()); resolve({ t: Date.now() }); }),
      files.on('failed', (e) => { offs.forEach((off) => off()); reject(new Error(e.error.message)); })];
  });
  window.__sdkSend = () => { const start = Date.now(); window.peercallCall.files.send(window.__file); return start; };
}
"""


async def open_call(browser, join_url: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(join_url + "&autojoin=1")
    await page.wait_for_function("() => window.peercallCall && window.peercallCall.self")
    await page.evaluate(RAW_JS)
    await page.evaluate(SDK_JS)
    return page


async def raw_round(page_a: Page, page_b: Page, total: int) -> float:
    offer = await page_a.evaluate("() => window.__rawOffer()")
    answer = await page_b.evaluate("(sdp) => window.__rawAnswer(sdp)", offer)
    await page_a.evaluate("(sdp) => window.__rawAccept(sdp)", answer)
    await page_b.evaluate("(total) => { window.__rawDone = window.__rawReceive(total); }", total)
    constants = await page_a.evaluate(
        "async () => { const m = await import('/sdk/file-transfer.js');"
        " return { chunk: m.SEND_CHUNK + 8, high: m.HIGH_WATER, low: m.LOW_WATER }; }"
    )
    start = await page_a.evaluate("([total, c]) => window.__rawSend(total, c.chunk, c.high, c.low)", [total, constants])
    end = await page_b.evaluate("() => window.__rawDone")
    await page_a.evaluate("() => window.__rawClose()")
    await page_b.evaluate("() => window.__rawClose()")
    return total / 1e6 / ((end - start) / 1000)


async def sdk_round(page_a: Page, page_b: Page, total: int) -> float:
    await page_b.evaluate("() => { window.__sdkDone = window.__sdkReceive(); }")
    start = await page_a.evaluate("() => window.__sdkSend()")
    done = await page_b.evaluate("() => window.__sdkDone")
    return total / 1e6 / ((done["t"] - start) / 1000)


async def run(megabytes: int, rounds: int) -> dict[str, object]:
    total = megabytes * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            async with chromium() as browser:
                room = server.create_room()
                page_a = await open_call(browser, server.token(room, "a")["join_url"])
                page_b = await open_call(browser, server.token(room, "b")["join_url"])
                await page_a.evaluate("() => window.peercallCall.chat.send('ready?')")
                await page_a.wait_for_function(
                    "() => window.peercallCall.chat.messages[0].status === 'delivered'", timeout=30_000
                )
                await page_a.evaluate("(size) => window.__makeFile(size)", total)
                raw: list[float] = []
                sdk: list[float] = []
                for _ in range(rounds):  # interleaved, so both see the same machine load
                    raw.append(await raw_round(page_a, page_b, total))
                    sdk.append(await sdk_round(page_a, page_b, total))
        except Exception:
            print(server.log()[-3000:], file=sys.stderr)
            raise
        finally:
            stop_server(server)
    mb_per_s, raw_mb_per_s = statistics.median(sdk), statistics.median(raw)
    return {
        "file_mb": megabytes,
        "rounds": rounds,
        "mb_per_s": round(mb_per_s, 1),
        "raw_mb_per_s": round(raw_mb_per_s, 1),
        "ratio": round(mb_per_s / raw_mb_per_s, 2),
        "sdk_samples": [round(x, 1) for x in sdk],
        "raw_samples": [round(x, 1) for x in raw],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="file size in MiB (default 50)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10 MiB, one round")
    parser.add_argument("--json", action="store_true", help="print only the JSON result line")
    args = parser.parse_args()
    megabytes, rounds = (10, 1) if args.quick else (args.mb, args.rounds)
    result = asyncio.run(run(megabytes, rounds))
    if not args.json:
        print(
            f"file transfer {megabytes} MiB: call.files {result['mb_per_s']} MB/s, "
            f"raw DataChannel {result['raw_mb_per_s']} MB/s, ratio {result['ratio']}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
