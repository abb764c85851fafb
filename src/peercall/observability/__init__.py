"""Operational visibility: Prometheus metrics (more to come with call statistics)."""

from peercall.observability.metrics import Metrics

__all__ = ["Metrics"]
