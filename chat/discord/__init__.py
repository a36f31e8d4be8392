"""Tilt in Discord over HTTP interactions: verify and answer Discord's requests, render ``Reply`` objects.

No command logic lives here: interactions become command text for ``handlers.common.router``.
"""
