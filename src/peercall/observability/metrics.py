"""Prometheus metrics of one node.

One :class:`Metrics` (one ``CollectorRegistry``) per app instead of prometheus-client's
global registry, so tests can build several apps in one process. Features declare their
metrics through the get-or-create helpers, wherever they live, and ``GET /metrics``
exposes them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.process_collector import ProcessCollector

_M = TypeVar("_M", bound=MetricWrapperBase)
NAMESPACE = "peercall"


class Metrics:
    """A registry plus typed get-or-create helpers; names get the ``peercall_`` prefix."""

    def __init__(self, *, process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, tuple[MetricWrapperBase, tuple[str, ...]]] = {}
        if process:
            ProcessCollector(namespace=NAMESPACE, registry=self.registry)

    def _get(self, kind: type[_M], name: str, documentation: str, labels: Sequence[str], **extra: Any) -> _M:
        labelnames = tuple(labels)
        if name in self._metrics:
            metric, known = self._metrics[name]
            if not isinstance(metric, kind) or known != labelnames:
                raise ValueError(f"metric {name!r} already exists with another type or labels")
            return metric
        metric = kind(name, documentation, labelnames, namespace=NAMESPACE, registry=self.registry, **extra)
        self._metrics[name] = (metric, labelnames)
        return metric

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, name, documentation, labels)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return self._get(Counter, name, documentation, labels)

    def histogram(
        self, name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] | None = None
    ) -> Histogram:
        if buckets is None:
            return self._get(Histogram, name, documentation, labels)
        return self._get(Histogram, name, documentation, labels, buckets=tuple(buckets))

    def render(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
