"""Reusable security mechanisms: audit log, signed download URLs, capped uploads, confined FFmpeg.

See docs/security.md for the threat model and which test proves each control.
"""
