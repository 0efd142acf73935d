"""JSON-RPC over HTTP for the node's hot paths (the chain client's writes and views, the indexer's reads).

``requests`` (under web3's ``HTTPProvider`` too) costs about 1.4 ms of CPU per call on the CI machine, most of it
per-request work such as reading the proxy settings from the environment again; a kept-alive ``http.client``
connection costs about 0.15 ms (bench.api, ADR 0020). So a plain ``http://`` endpoint with no proxy configured for it
is posted to over one keep-alive connection per thread. Anything else (``https://``, a proxy from the environment,
credentials in the URL) goes through a ``requests`` session, which handles certificates, proxies and authentication
as web3 does.

Failures are two exceptions whatever the path: :class:`RpcUnreachable` (no connection, the connection dropped, an
answer that is not HTTP) and :class:`RpcTimeout`. Callers retry an unreachable endpoint once: nodes close idle
keep-alive connections, and the first request after a pause then fails although the node is fine.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "registry-node"}


class RpcUnreachable(ConnectionError):
    """The endpoint could not be reached, or dropped the connection before answering."""


class RpcTimeout(TimeoutError):
    """The endpoint did not answer in time."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    """The decoded JSON (None when the body is not JSON)."""


def _direct(url: str) -> tuple[str, int, str] | None:
    """(host, port, path) when ``url`` can be posted to with ``http.client``: plain http, no credentials, no proxy."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.username or parts.password:
        return None
    proxies = urllib.request.getproxies()
    if ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass(parts.netloc):
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, path


class JsonRpcHttp:
    """Posts JSON-RPC requests (single or batched) to one endpoint; safe to share between threads."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._direct = _direct(url)
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._session: requests.Session | None = None if self._direct else requests.Session()

    @property
    def direct(self) -> bool:
        """Whether requests go over kept-alive ``http.client`` connections (not ``requests``)."""
        return self._direct is not None

    def request(self, method: str, params: list[Any]) -> dict[str, Any]:
        """One call; the JSON-RPC answer object (``result`` or ``error``). An HTTP error without a JSON-RPC answer
        is :class:`RpcUnreachable`."""
        answer = self.post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        if isinstance(answer.body, dict) and ("result" in answer.body or "error" in answer.body):
            return answer.body
        raise RpcUnreachable(f"{method}: HTTP {answer.status} without a JSON-RPC answer")

    def post(self, payload: Any) -> Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        if self._direct is None:
            return self._post_requests(body)
        connection = self._connection()
        try:
            connection.request("POST", self._direct[2], body, _HEADERS)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError as exc:
            self._drop()
            raise RpcTimeout(f"{self.url} did not answer within {self.timeout} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise RpcUnreachable(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if response.will_close:
            self._drop()
        return Answer(response.status, _json(data))

    def _post_requests(self, body: bytes) -> Answer:
        assert self._session is not None
        try:
            response = self._session.post(self.url, data=body, headers=_HEADERS, timeout=self.timeout)
        except requests.Timeout as exc:
            raise RpcTimeout(f"{self.url} did not answer within {self.timeout} s") from exc
        except requests.RequestException as exc:
            raise RpcUnreachable(f"{self.url}: {type(exc).__name__}") from exc
        return Answer(response.status_code, _json(response.content))

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self._direct is not None
            connection = http.client.HTTPConnection(self._direct[0], self._direct[1], timeout=self.timeout)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Closes this thread's connection (others close with their threads) and the ``requests`` session."""
        self._drop()
        if self._session is not None:
            self._session.close()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
