"""The OpenAPI document: served by the app, 3.0.3, bearer security, and in step with the
blueprint (every route documented, every documented path a route)."""

from __future__ import annotations

import re

from hub.api.openapi import document


def test_the_app_serves_the_document_without_a_token(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.json == document()
    doc = resp.json
    assert doc["openapi"] == "3.0.3"
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert doc["security"] == [{"bearerAuth": []}]


def test_every_route_is_documented_and_every_documented_path_is_a_route(app):
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document()["paths"].items() for method in ops}
    assert routes == documented


def test_every_operation_documents_its_parameters_and_errors():
    doc = document()
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, op in ops.items():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == names, (method, path)
            if path != "/openapi.json":
                assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
    refs = set(re.findall(r"#/components/schemas/(\w+)", str(doc)))
    assert refs <= set(doc["components"]["schemas"])
