"""/api/docs/ is self-contained: Swagger UI comes from the installed sidecar package, so the
page renders on a machine (or a browser) with no internet."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def test_api_docs_load_nothing_from_outside_and_serve_their_assets(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = [url for url in _ASSET.findall(html) if not url.startswith("#")]
    assert assets, "the docs page references no script or stylesheet"
    outside = [url for url in assets if re.match(r"^(?:[a-z]+:)?//", url, re.IGNORECASE)]
    assert outside == [], f"/api/docs/ loads from other hosts: {outside}"
    scripts = [url for url in assets if url.endswith(".js")]
    assert any("swagger-ui-bundle" in url for url in scripts), scripts
    for url in assets:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 0, url
