"""The OpenAPI document: valid OpenAPI 3.1, public, and covering every route of the app (no more, no less)."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

CONVERTER_RE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def documented(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def app_operations(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(OpenAPI path, method) for every route but the static files."""
    return {
        (CONVERTER_RE.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - IGNORED_METHODS
    }


def document_operations(document: dict) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return {(path, method) for path, item in document["paths"].items() for method in item if method in methods}


def test_document_is_public_and_valid_openapi_3_1(client):
    document = documented(client)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_is_documented(app, client):
    missing = app_operations(app) - document_operations(documented(client))
    assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"


def test_nothing_documented_that_does_not_exist(app, client):
    stale = document_operations(documented(client)) - app_operations(app)
    assert not stale, f"documented but not routed: {sorted(stale)}"


def test_path_parameters_match_the_route(client):
    document = documented(client)
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared = {
                p["name"] for p in item.get("parameters", []) + operation.get("parameters", []) if p["in"] == "path"
            }
            assert declared == names, f"{method.upper()} {path}: path parameters {declared} != {names}"


def test_operation_ids_are_unique_and_device_endpoints_use_device_auth(client):
    document = documented(client)
    operations = [
        (path, op) for path, item in document["paths"].items() for method, op in item.items() if method != "parameters"
    ]
    ids = [op["operationId"] for _, op in operations]
    assert len(ids) == len(set(ids)) and all(ids)
    schemes = document["components"]["securitySchemes"]
    for path, op in operations:
        for requirement in op["security"]:
            assert set(requirement) <= set(schemes), path
    device_paths = {path for path, op in operations if op["tags"] == ["device"]}
    assert device_paths == {
        "/{product_id}.ino.bin",
        "/api/ota/{product_id}/check",
        "/api/ota/{product_id}/status",
        "/api/devices/{product_id}/heartbeat",
        "/api/devices/{product_id}/results",
        "/api/devices/{product_id}/logs",
    }
    for path, op in operations:
        if path in device_paths:
            assert {"deviceToken": []} in op["security"] and {"apiToken": []} not in op["security"]
