"""The edge of the API: every request is bounded and screened before any endpoint, parser or database sees it.

Why here and not in each endpoint: the failures this prevents are not about any one endpoint's rules but about
what the layers below cannot take at all, and every endpoint added later inherits the guard without a change.

- **Size.** A body larger than its limit is refused with 413 while it streams in (``Content-Length`` is checked
  first, then the bytes actually received), so a 60 MiB upload is never buffered or spooled to disk.
- **Nesting.** A JSON body nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed: Python's JSON
  parser recurses on the C stack, and a deep enough document crashes the process rather than raising.
- **Text PostgreSQL cannot store.** A NUL character or a lone UTF-16 surrogate anywhere in the path, the query
  string, a JSON string or a form field is refused with 422: PostgreSQL rejects both, and the database error
  would otherwise surface after earlier steps (a chain write, say) already happened.

A JSON body the guard cannot parse is refused with 422 too, so the endpoints only ever see well-formed, bounded,
storable input. Multipart bodies (file uploads) are only bounded in size; their file parts are binary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON

MAX_JSON_DEPTH = 32
"""Deepest JSON nesting any endpoint accepts; the registry's documents are a few levels deep."""

logger = logging.getLogger("registry.api")


class RequestRejected(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extensions = status, slug, title, detail, extensions


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text in ``body`` nests arrays/objects deeper than ``limit``, without parsing it.

    A linear scan that tracks strings and escapes, so brackets inside strings do not count. It runs before the
    parser and never recurses, whatever the input.
    """
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def unstorable(text: str) -> str | None:
    """Why PostgreSQL could not store ``text`` (a NUL or a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not valid Unicode text"
    return None


def _strings(value: Any, location: list[str | int]) -> Iterator[tuple[list[str | int], str]]:
    """Every string (object keys included) in a parsed JSON value, with its location; iterative, depth is known."""
    stack: list[tuple[list[str | int], Any]] = [(location, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, list):
            stack.extend((where + [index], element) for index, element in enumerate(item))
        elif isinstance(item, dict):
            for key, element in item.items():
                yield where + [key], key
                stack.append((where + [key], element))


def _check_text(location: list[str | int], text: str) -> None:
    reason = unstorable(text)
    if reason is not None:
        issue = {"loc": location, "msg": f"Value {reason}", "type": "string_unstorable"}
        raise RequestRejected(422, "validation-error", "Invalid request", f"A value {reason}.", errors=[issue])


def _check_json(body: bytes) -> None:
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        detail = f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
        raise RequestRejected(422, "json-too-deep", "JSON nested too deeply", detail, max_depth=MAX_JSON_DEPTH)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError covers JSONDecodeError, bad UTF-8, huge integers
        raise RequestRejected(422, "malformed-json", "Malformed JSON", f"The body is not valid JSON: {exc}.") from exc
    for location, text in _strings(document, ["body"]):
        _check_text(location, text)


def _check_pairs(query: str, where: str) -> None:
    for key, value in parse_qsl(query, keep_blank_values=True):
        _check_text([where, key], key)
        _check_text([where, key], value)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return ""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


class RequestGuard:
    """Pure ASGI middleware (it must see the body before anything else reads it, and stream-count it)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_text(["path"], scope["path"])
            _check_pairs(scope.get("query_string", b"").decode("latin-1"), "query")
            content_type = _content_type(scope)
            limit = self.max_upload_bytes if content_type == "multipart/form-data" else self.max_body_bytes
            body = await self._read_body(scope, receive, limit)
            if body and _is_json(content_type):
                _check_json(body)
            elif body and content_type == "application/x-www-form-urlencoded":
                _check_pairs(body.decode("latin-1"), "body")
        except RequestRejected as rejected:
            await _send_problem(scope, send, rejected)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive, limit: int) -> bytes:
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(413, "payload-too-large", "Payload too large",
                           f"The request body is larger than {limit} bytes.", max_bytes=limit)  # fmt: skip


def _replay(body: bytes, receive: Receive) -> Receive:
    """Gives the app the body already read, then passes on what follows (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_problem(scope: Scope, send: Send, rejected: RequestRejected) -> None:
    document = {"type": f"/problems/{rejected.slug}", "title": rejected.title, "status": rejected.status,
                "detail": rejected.detail, "instance": scope.get("path", "")} | rejected.extensions  # fmt: skip
    payload = json.dumps(document, ensure_ascii=True).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(payload)).encode())]
    if rejected.status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": rejected.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
