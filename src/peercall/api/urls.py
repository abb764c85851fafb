"""Absolute URLs for links handed to users."""

from __future__ import annotations

from fastapi import Request


def base_url(request: Request, public_url: str | None) -> str:
    """The configured public URL, else the URL this request came in on."""
    if public_url:
        return public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
