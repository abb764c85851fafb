"""Structured logs: one JSON object per line (for log shippers), or readable text.

Why a small formatter instead of a dependency: the stdlib ``logging`` already carries
everything (level, logger, message, ``extra=`` fields such as ``room_id``/``peer_id``/
``call_id``); only the rendering differs. Every node's lines carry its ``node`` id so logs
of several nodes can be merged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str = "") -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self._node:
            entry["node"] = self._node
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _NoTracebackForBadClients(logging.Filter):
    """uvicorn handles a client's invalid UTF-8 frame correctly (close 1007) but logs a
    traceback for it: anyone could fill the log with those. Keep the line, drop the trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and "Invalid UTF-8" in record.getMessage():
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: str, fmt: str, node: str = "") -> None:
    """Root logging for a node: ``fmt`` is ``json`` or ``text``."""
    handler = logging.StreamHandler()
    handler.addFilter(_NoTracebackForBadClients())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(node))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
