"""Cost of the request guard's JSON screening, against ``json.loads`` of the same body in the same run.

    python -m bench.request_guard

Adversarial bodies at the default ``MAX_BODY_BYTES``: what one request can make the node spend before any
endpoint runs. The screening runs in a worker thread, so this is CPU time, not event-loop time; the last line is
one JSON object with every figure (milliseconds, best of 5, and the ratio to ``json.loads``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

from api.request_guard import RequestRejected, check_json
from node.config import Settings

LIMIT = Settings.model_fields["max_body_bytes"].default


def _fill(make: Callable[[int], str]) -> bytes:
    """The largest body ``make(n)`` builds within the limit."""
    low, high = 1, LIMIT
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(make(middle).encode()) <= LIMIT else (low, middle - 1)
    return make(low).encode()


BODIES = {
    "short strings": _fill(lambda n: json.dumps(["a"] * n)),
    "empty arrays": _fill(lambda n: "[" + ",".join(["[]"] * n) + "]"),
    "deep nesting": _fill(lambda n: "[" * n + "]" * n),
    "alternating nesting": _fill(lambda n: "[[]," * n + "]" * n),
    "NUL escapes": _fill(lambda n: json.dumps(["\u0000"] * n)),
    "objects": _fill(lambda n: json.dumps({f"k{i}": {"a": [1, 2, {"b": "x"}]} for i in range(n)})),
}


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        with contextlib.suppress(RequestRejected, ValueError, RecursionError):
            action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    figures = {}
    print(f"body limit {LIMIT} bytes")
    for name, body in BODIES.items():
        guard = _best(lambda body=body: check_json(body))  # type: ignore[misc]
        parse = _best(lambda body=body: json.loads(body))  # type: ignore[misc]
        figures[name] = {"bytes": len(body), "guard_ms": round(guard, 2), "json_loads_ms": round(parse, 2),
                         "ratio": round(guard / parse, 2) if parse else None}  # fmt: skip
        print(f"{name:20} {len(body):>8} B  guard {guard:8.2f} ms  json.loads {parse:8.2f} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
