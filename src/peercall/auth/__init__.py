"""Credentials: signed join tokens for participants, API keys for the dashboard."""
