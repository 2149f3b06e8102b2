from __future__ import annotations

import re

from fastapi.testclient import TestClient

OUR_PATHS = ["/api/plots", "/api/plots/{plot_id}", "/api/admin-units", "/api/admin-units/{code}"]


def test_docs_page_loads_every_asset_from_this_server(client: TestClient):
    response = client.get("/docs")
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) >= 3  # css, favicon, js
    assert not re.search(r"https?://", response.text)
    for asset in assets:
        assert asset.startswith("/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000, asset


def test_openapi_documents_every_parameter_and_geojson_responses(client: TestClient):
    spec = client.get("/openapi.json").json()
    for path in OUR_PATHS:
        operation = spec["paths"][path]["get"]
        responses = operation["responses"]
        assert responses["200"]["content"].keys() == {"application/geo+json"}
        for status in ("400", "422"):
            assert responses[status]["content"].keys() == {"application/json"}, (path, status)
        names = set()
        for parameter in operation["parameters"]:
            names.add(parameter["name"])
            assert parameter.get("description"), (path, parameter["name"])
        assert "lang" in names
    plot_params = {p["name"] for p in spec["paths"]["/api/plots"]["get"]["parameters"]}
    assert plot_params == {
        "bbox",
        "village",
        "cooperative",
        "code",
        "q",
        "include_retired",
        "limit",
        "offset",
        "lang",
    }
    assert "redoc" not in str(spec["paths"].keys())
