"""``POST /slack/events`` as a WSGI route: the body limit, then Bolt's handler (which verifies the signature)."""

from __future__ import annotations

import io
import logging
import re
from typing import Iterable

from slack_bolt import App

from chat.web import StartResponse, WsgiApp, plain, too_large, within_limit

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# The two headers Slack signs a request with, as Slack writes them: Unix seconds, and v0= and a hex HMAC-SHA256.
TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def wsgi_route(app: App) -> WsgiApp:
    """Bolt's WSGI handler for ``POST /slack/events`` (it verifies every request's signature).

    Bolt parses the body while building its request, before verifying it and outside its own error
    handling, so a body that is not UTF-8, not JSON where JSON belongs, or JSON but not an object
    escapes as ``ValueError`` / ``AttributeError`` / ``TypeError``: that is a malformed request (400),
    not a server error.  (Listener errors never get here: Bolt's dispatch catches them.)
    A click is the one body Slack form-encodes as a single ``payload`` field.

    Signature headers missing, repeated or not shaped as Slack writes them are refused (401) before
    Bolt sees them: Bolt would fail on a timestamp that is not a number with a 500 and a traceback.
    """
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def route(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == EVENTS_PATH and not signature_headers_well_formed(environ):
            log.warning("refused a Slack request whose signature headers are missing or malformed")
            return plain(start_response, "401 Unauthorized", b"invalid request signature\n")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if not within_limit(body, click=body.startswith(b"payload=")):
            return too_large(start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return bolt(environ, start_response)
        except (ValueError, AttributeError, TypeError) as error:
            log.warning("refused a malformed Slack request (%s)", type(error).__name__)
            return plain(start_response, "400 Bad Request", b"malformed body\n")

    return route


def signature_headers_well_formed(environ: dict) -> bool:
    """Whether the request carries each header Slack signs exactly once, shaped as Slack writes it (a repeated
    header reaches WSGI as its values joined by commas, which neither shape allows)."""
    return bool(TIMESTAMP.fullmatch(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
                and SIGNATURE.fullmatch(environ.get("HTTP_X_SLACK_SIGNATURE", "")))
