"""Put limits that come from configuration into the published OpenAPI document, so a
client (or a fuzzer) that follows the schema is never refused for a limit it could not see."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from peercall.config import Settings


def publish_config_limits(app: FastAPI, settings: Settings) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            room = schema.get("components", {}).get("schemas", {}).get("RoomCreate", {})
            prop = room.get("properties", {}).get("max_participants")
            if prop is not None:
                prop["maximum"] = settings.max_participants_cap
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
