"""HTTP edge: REST API for the customer's dashboard, health, docs, the web client."""

from peercall.api.app import create_app

__all__ = ["create_app"]
