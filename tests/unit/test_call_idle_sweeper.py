"""One sweeper times out every socket's read (join/idle timeouts) without a timer per frame."""

from __future__ import annotations

import asyncio

import pytest

from peercall.signaling.idle import IdleSweeper, IdleWatch


async def _reader(sweeper: IdleSweeper, timeout: float, frames: asyncio.Queue[str], outcome: list[str]) -> None:
    """Like the endpoint's read loop: a deadline per wait, the outcome recorded."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    watch: IdleWatch = sweeper.watch(task)
    try:
        while True:
            watch.deadline = loop.time() + timeout
            watch.waiting = True
            try:
                try:
                    frame = await frames.get()
                finally:
                    watch.waiting = False
            except asyncio.CancelledError:
                if not watch.ours():
                    raise
                outcome.append("expired" if watch.expired else "interrupted")
                return
            outcome.append(frame)
    finally:
        sweeper.forget(watch)


async def test_call_idle_sweeper_expires_only_silent_readers() -> None:
    sweeper = IdleSweeper(0.05)
    busy: asyncio.Queue[str] = asyncio.Queue()
    silent: asyncio.Queue[str] = asyncio.Queue()
    busy_out: list[str] = []
    silent_out: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    tasks = [
        asyncio.create_task(_reader(sweeper, 0.3, busy, busy_out)),
        asyncio.create_task(_reader(sweeper, 0.3, silent, silent_out)),
    ]
    for n in range(8):  # frames every 0.1 s keep the busy reader alive past its 0.3 s timeout
        await asyncio.sleep(0.1)
        busy.put_nowait(f"f{n}")
    await asyncio.wait_for(tasks[1], 2)
    assert silent_out == ["expired"]
    assert 0.3 <= loop.time() - started <= 0.3 + 0.05 + 0.5  # within a sweep period (plus slack)
    assert busy_out == [f"f{n}" for n in range(8)] and not tasks[0].done()
    await asyncio.wait_for(tasks[0], 2)  # silent from now on: it expires too
    assert busy_out[-1] == "expired"
    await sweeper.close()


async def test_call_idle_sweeper_interrupt_and_shutdown_are_told_apart() -> None:
    sweeper = IdleSweeper(0.05)
    frames: asyncio.Queue[str] = asyncio.Queue()
    out: list[str] = []
    task = asyncio.create_task(_reader(sweeper, 60, frames, out))
    await asyncio.sleep(0.01)
    watch = next(iter(sweeper._watches))
    watch.interrupt()  # the outbox ended: stop waiting now
    await asyncio.wait_for(task, 1)
    assert out == ["interrupted"]
    task = asyncio.create_task(_reader(sweeper, 60, frames, out))
    await asyncio.sleep(0.01)
    task.cancel()  # a shutdown: not ours, the cancellation goes on
    with pytest.raises(asyncio.CancelledError):
        await task
    assert out == ["interrupted"]
    await sweeper.close()
