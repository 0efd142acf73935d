"""The edge of the API: every request is bounded and screened before any endpoint, parser or database sees it.

Why here and not in each endpoint: the failures this prevents are not about any one endpoint's rules but about
what the layers below cannot take at all, and every endpoint added later inherits the guard without a change.

- **Size.** A body larger than its limit is refused with 413 while it streams in (``Content-Length`` is checked
  first, then the bytes actually received), so a 60 MiB upload is never buffered. Uploads are spooled to a
  temporary file beyond 1 MiB, so many concurrent uploads cost disk, not memory.
- **Nesting.** A JSON body nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed: Python's JSON
  parser recurses on the C stack, and a deep enough document crashes the process rather than raising.
- **Text PostgreSQL cannot store.** A NUL character or a lone UTF-16 surrogate anywhere in the path, the query
  string, a JSON string or a form field is refused with 422: PostgreSQL rejects both, and the database error
  would otherwise surface after earlier steps (a chain write, say) already happened.
- **Encoding.** JSON must be UTF-8 (RFC 8259); other encodings would slip past a byte-level screen.

The JSON checks run at C speed (regular expressions, ``str.replace``, ``json.loads``) and in a worker thread, so
a client posting many large bodies cannot stall the event loop that serves everyone else. A JSON body the guard
cannot parse is refused with 422 too, so the endpoints only ever see well-formed, bounded, storable input.
Multipart bodies (file uploads) are only bounded in size; their file parts are binary.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import parse_qsl

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON

MAX_JSON_DEPTH = 32
"""Deepest JSON nesting any endpoint accepts; the registry's documents are a few levels deep."""
SPOOL_BYTES = 1024 * 1024
"""Uploads larger than this wait on disk, not in memory, until the endpoint reads them."""
_REPLAY_CHUNK = 64 * 1024

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_SUSPICIOUS_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
"""``\\u0000`` or a UTF-16 surrogate escape: only then is the parsed document walked to find (or clear) it. A match
preceded by an escaped backslash (``\\\\u0000``, a harmless text) only costs the walk."""


class RequestRejected(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.extensions = status, slug, title, detail, extensions


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays/objects deeper than ``limit``, without parsing it.

    Strings are removed (brackets inside them do not count), then innermost bracket pairs are peeled off, one
    level per round: all in C, at most ``limit + 1`` rounds, whatever the input. Brackets that do not pair up are
    malformed JSON, left for the parser to report.
    """
    skeleton = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    too_many_openers = re.compile(r"[\[{]" + f"{{{limit + 1}}}")
    for _ in range(limit):
        if too_many_openers.search(skeleton):  # deep nesting ([[[[...) found in one pass, not one round per level
            return True
        peeled = _EMPTY_PAIR.sub("", skeleton)  # one pass: pairs it uncovers wait for the next round
        if peeled == skeleton:
            return False
        skeleton = peeled
    return _EMPTY_PAIR.sub("", skeleton) != skeleton


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


def _malformed(detail: str) -> RequestRejected:
    return RequestRejected(422, "malformed-json", "Malformed JSON", detail)


def check_json(body: bytes) -> None:
    """Refuses a body that is not UTF-8 JSON of bounded depth whose every string PostgreSQL can store."""
    try:
        text = body.decode("utf-8")  # strict: also refuses UTF-8-encoded surrogates
    except UnicodeDecodeError as exc:
        raise _malformed(f"The body is not UTF-8 ({exc.reason} at byte {exc.start}); JSON must be UTF-8.") from exc
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        detail = f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
        raise RequestRejected(422, "json-too-deep", "JSON nested too deeply", detail, max_depth=MAX_JSON_DEPTH)
    try:
        document = json.loads(text.removeprefix("\ufeff"))
    except (ValueError, RecursionError) as exc:  # ValueError covers JSONDecodeError and huge integers
        raise _malformed(f"The body is not valid JSON: {exc}.") from exc
    if _SUSPICIOUS_ESCAPE.search(text):
        for location, value in _strings(document, ["body"]):
            _check_text(location, value)


def _check_pairs(query: str, where: str) -> None:
    if "\x00" not in query and "%00" not in query:
        return  # decoding replaces invalid UTF-8 (no surrogate survives): only a NUL can, raw or percent-encoded
    for key, value in parse_qsl(query, keep_blank_values=True):
        _check_text([where, key], key)
        _check_text([where, key], value)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _content_type(scope: Scope) -> str:
    return (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


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
        content_type = _content_type(scope)
        upload = content_type == "multipart/form-data"
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed below
        try:
            _check_text(["path"], scope["path"])
            _check_pairs(scope.get("query_string", b"").decode("latin-1"), "query")
            size = await _read_body(scope, receive, spool, self.max_upload_bytes if upload else self.max_body_bytes)
            if size and not upload:
                spool.seek(0)
                body = spool.read()
                if _is_json(content_type):
                    await to_thread.run_sync(check_json, body)
                elif content_type == "application/x-www-form-urlencoded":
                    _check_pairs(body.decode("latin-1"), "body")
        except RequestRejected as rejected:
            spool.close()
            await _send_problem(scope, send, rejected)
            return
        spool.seek(0)
        try:
            await self.app(scope, _replay(spool, receive), send)
        finally:
            spool.close()


async def _read_body(scope: Scope, receive: Receive, spool: IO[bytes], limit: int) -> int:
    """Reads the whole body into ``spool``; refuses it (413) as soon as it is known to exceed ``limit``."""
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        spool.write(chunk)
        if not message.get("more_body", False):
            break
    return received


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(413, "payload-too-large", "Payload too large",
                           f"The request body is larger than {limit} bytes.", max_bytes=limit)  # fmt: skip


def _replay(spool: IO[bytes], receive: Receive) -> Receive:
    """Gives the app the body already read, chunk by chunk, then passes on what follows (a disconnect)."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(_REPLAY_CHUNK)
        more = len(chunk) == _REPLAY_CHUNK
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

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
