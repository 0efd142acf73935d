"""Location providers: the shipped region file for every country, and Mapbox over HTTP (a local server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from indexer.locations.names import name_key
from indexer.locations.providers import REGION_FILE, FileProvider, LocationUnavailable, MapboxProvider


class FakeMapbox(BaseHTTPRequestHandler):
    """Answers like Mapbox's geocoding API for a few Nigerian states; "Slowland" never answers in time."""

    requests: list[dict[str, Any]] = []  # noqa: RUF012 - shared by the server's handler instances

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        place = unquote(url.path.rsplit("/", 1)[-1].removesuffix(".json"))
        FakeMapbox.requests.append({"place": place, **query})
        if query.get("access_token") != "secret-token":
            self._send(401, {"message": "Not Authorized - Invalid Token"})
        elif place == "Slowland":
            time.sleep(2)
            self._send(200, {"features": []})
        elif place == "Broken":
            self._send(503, {"message": "unavailable"})
        elif place == "Lagos":
            self._send(200, {"features": [{"center": [3.4, 6.5], "properties": {"short_code": "NG-LA"}}]})
        else:
            self._send(200, {"type": "FeatureCollection", "features": []})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def mapbox_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMapbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class TestRegionFile:
    def test_every_country_has_regions(self) -> None:
        countries = {line.split(",", 1)[0] for line in REGION_FILE.read_text().splitlines()[1:]}
        assert len(countries) > 200
        assert {"NG", "KE", "BR", "IN", "VU", "FJ", "CH"} <= countries

    @pytest.mark.parametrize(("country", "name", "iso"), [
        ("NG", "Lagos", "NG-LA"), ("NG", "lagos state", "NG-LA"), ("NG", "NG-KN", "NG-KN"),
        ("NG", "Nasarawa", "NG-NA"), ("NG", "Nassarawa", "NG-NA"), ("KE", "Nairobi", None),
    ])  # fmt: skip
    def test_file_provider_resolves_names_and_codes(self, country: str, name: str, iso: str | None) -> None:
        location = FileProvider().lookup(country, name)
        assert location.status == "resolved"
        assert location.latitude is not None
        assert location.longitude is not None
        if iso:
            assert location.iso_code == iso

    def test_lagos_is_where_lagos_is(self) -> None:
        location = FileProvider().lookup("NG", "Lagos")
        assert 6 < location.latitude < 7  # type: ignore[operator]
        assert 3 < location.longitude < 4  # type: ignore[operator]

    def test_unknown_region_is_unknown_not_an_error(self) -> None:
        assert FileProvider().lookup("NG", "Atlantis").status == "unknown"
        assert FileProvider().lookup("NG", "Zurich").status == "unknown"  # exists, but not in this country

    def test_name_key_ignores_case_accents_and_generic_words(self) -> None:
        assert name_key("  Région de Dakar ") == name_key("DAKAR")
        assert name_key("Federal Capital Territory") == "federal capital territory"


class TestMapbox:
    def test_resolved_region(self, mapbox_url: str) -> None:
        location = MapboxProvider("secret-token", base_url=mapbox_url).lookup("NG", "Lagos")
        assert (location.status, location.iso_code, location.latitude, location.longitude) == (
            "resolved", "NG-LA", 6.5, 3.4)  # fmt: skip
        sent = FakeMapbox.requests[-1]
        assert (sent["country"], sent["types"], sent["limit"], sent["autocomplete"]) == (
            "ng",
            "region,district",
            "1",
            "false",
        )

    def test_no_feature_is_unknown(self, mapbox_url: str) -> None:
        assert MapboxProvider("secret-token", base_url=mapbox_url).lookup("NG", "Atlantis").status == "unknown"

    def test_timeout_is_unavailable(self, mapbox_url: str) -> None:
        with pytest.raises(LocationUnavailable, match="did not answer"):
            MapboxProvider("secret-token", base_url=mapbox_url, timeout=0.3).lookup("NG", "Slowland")

    @pytest.mark.parametrize(("token", "place", "status"), [("wrong", "Lagos", 401), ("secret-token", "Broken", 503)])
    def test_http_errors_are_unavailable(self, mapbox_url: str, token: str, place: str, status: int) -> None:
        with pytest.raises(LocationUnavailable, match=str(status)):
            MapboxProvider(token, base_url=mapbox_url).lookup("NG", place)
