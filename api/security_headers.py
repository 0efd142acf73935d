"""Security headers on every response, set once at the edge so no endpoint (or error path) can forget them.

- ``X-Content-Type-Options: nosniff`` everywhere: a browser must believe ``Content-Type`` and never guess HTML
  out of an uploaded file.
- A strict ``Content-Security-Policy``: the node's own pages (password pages, ``/docs``) load scripts, styles and
  images from the node itself only; nothing may frame them. Uploaded files under ``/files`` get a sandboxed policy
  with no scripts at all: even if a browser rendered one as a document, it could run nothing.
- ``Referrer-Policy: no-referrer`` (links carry tokens), ``X-Frame-Options: DENY`` (older browsers),
  ``Cache-Control: no-store`` for anything authenticated or under ``/auth``, and HSTS when the public URL is HTTPS.

Headers an endpoint set itself are kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


_CREDENTIALS = {b"authorization", b"api-key", b"api_key"}
"""Request headers that make an answer personal (a session token, or an API key in either spelling)."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        defaults = {
            b"x-content-type-options": b"nosniff",
            b"content-security-policy": (FILE_POLICY if path.startswith("/files/") else PAGE_POLICY).encode(),
            b"referrer-policy": b"no-referrer",
            b"x-frame-options": b"DENY",
            b"cross-origin-opener-policy": b"same-origin",
        }
        if path.startswith("/auth") or any(name in _CREDENTIALS for name, _ in scope.get("headers", ())):
            defaults[b"cache-control"] = b"no-store"
        if self.https:
            defaults[b"strict-transport-security"] = b"max-age=31536000"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in defaults.items() if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
