"""Background post-processing jobs, persisted so a restarted server picks them up.

One worker in the server process runs queued jobs one at a time (FFmpeg already uses
every core). Job rows live in the database: ``running`` rows found at start-up were
interrupted by a crash or a restart and are queued again; a job that keeps failing is
given up after ``max_attempts``. Progress is kept in memory for live status and
written to the row about once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from peercall.errors import PeercallError
from peercall.recording.ffmpeg import FfmpegError
from peercall.recording.store import JobRow, RecordingStore

log = logging.getLogger(__name__)

Report = Callable[[str, float], None]
Processor = Callable[[str, Report], Awaitable[None]]
Failed = Callable[[str, str], Awaitable[None]]


@dataclass
class LiveProgress:
    stage: str
    fraction: float


class JobRunner:
    def __init__(self, store: RecordingStore, process: Processor, failed: Failed, *, max_attempts: int = 3) -> None:
        self._store = store
        self._process = process
        self._failed = failed
        self._max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.live: dict[str, LiveProgress] = {}

    async def start(self) -> None:
        requeued = await self._store.requeue_interrupted()
        if requeued:
            log.info("recording jobs: %d interrupted job(s) queued again", requeued)
        self._task = asyncio.create_task(self._loop(), name="recording-jobs")

    async def stop(self) -> None:
        """Stop the worker; a running FFmpeg is killed and its job stays ``running``
        in the database, so the next start runs it again."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def enqueue(self, recording_id: str) -> None:
        await self._store.enqueue(recording_id)
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            job = await self._store.next_job()
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 5.0)
                continue
            await self._run(job)

    async def _run(self, job: JobRow) -> None:
        if job.attempts >= self._max_attempts:
            await self._give_up(job, f"gave up after {job.attempts} attempts")
            return
        await self._store.update_job(job.id, status="running", attempts=job.attempts + 1, stage="start", progress=0.0)
        live = self.live[job.recording_id] = LiveProgress("start", 0.0)
        last_write = 0.0
        pending: set[asyncio.Task[None]] = set()

        def report(stage: str, fraction: float) -> None:
            nonlocal last_write
            live.stage, live.fraction = stage, fraction
            now = time.monotonic()
            if now - last_write >= 1.0:
                last_write = now
                task = asyncio.create_task(self._store.update_job(job.id, stage=stage, progress=fraction))
                pending.add(task)
                task.add_done_callback(pending.discard)

        try:
            await self._process(job.recording_id, report)
        except (FfmpegError, PeercallError) as exc:
            await asyncio.gather(*pending, return_exceptions=True)
            await self._give_up(job, f"{getattr(exc, 'reason', getattr(exc, 'code', 'failed'))}: {exc}")
        except Exception as exc:  # a bug must not stop the worker for every other recording
            log.exception("recording job %s crashed", job.id)
            await asyncio.gather(*pending, return_exceptions=True)
            await self._give_up(job, f"internal: {type(exc).__name__}")
        else:
            await asyncio.gather(*pending, return_exceptions=True)
            await self._store.update_job(job.id, status="done", stage="done", progress=1.0)
        finally:
            self.live.pop(job.recording_id, None)

    async def _give_up(self, job: JobRow, error: str) -> None:
        log.warning("recording job %s for %s failed: %s", job.id, job.recording_id, error)
        await self._store.update_job(job.id, status="failed", error=error[:500])
        await self._failed(job.recording_id, error[:500])
