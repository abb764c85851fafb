"""A tiny TCP load balancer for tests: each new connection goes to the first backend that
accepts it (like a balancer whose health check drops a dead node). Lets a test kill the
node a client is on and watch the client come back through the same address. With
``health_path`` (e.g. ``/readyz``) it also polls each backend and skips one that answers
anything but 200 (a draining node), as a real balancer's health check would."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

_HEALTH_EVERY_S = 0.2


class TcpBalancer:
    def __init__(
        self, backends: list[tuple[str, int]], host: str = "127.0.0.1", *, health_path: str | None = None
    ) -> None:
        self.backends = backends
        self._host = host
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._health_path = health_path
        self._unhealthy: set[tuple[str, int]] = set()
        self._checker: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> TcpBalancer:
        self._server = await asyncio.start_server(self._accept, self._host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._health_path is not None:
            self._checker = asyncio.create_task(self._check_health(self._health_path))
        return self

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for host, port in self.backends:
            if (host, port) in self._unhealthy:
                continue
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
            except (OSError, TimeoutError):
                continue
            for source, sink in ((reader, up_writer), (up_reader, writer)):
                task = asyncio.create_task(self._pipe(source, sink))
                self._pipes.add(task)
                task.add_done_callback(self._pipes.discard)
            return
        writer.close()  # no backend alive

    async def _check_health(self, path: str) -> None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                for host, port in self.backends:
                    try:
                        ok = (await client.get(f"http://{host}:{port}{path}")).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    (self._unhealthy.discard if ok else self._unhealthy.add)((host, port))
                await asyncio.sleep(_HEALTH_EVERY_S)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.close()
