"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document, built from the declared routes."""
from __future__ import annotations

import re

from flask import jsonify
from pydantic import BaseModel

from portal.api import OPERATIONS, ErrorBody, bp
from portal.examples import RAW_EXAMPLES, example

_ERRORS = {
    "400": "Malformed request",
    "401": "Missing or invalid API key",
    "403": "Key scope does not allow this",
    "404": "Not found",
    "409": "Conflict",
    "413": "Too large",
    "415": "Not JSON",
    "422": "Not valid",
    "429": "Rate limited",
}


#: Path parameters: an address has the email format; ids are opaque strings.
_PATH_SCHEMAS = {"email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 320,
                           "description": "The address as sent; any case. Percent-encode it."}}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _input_schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document() -> dict:
    """The whole API as an OpenAPI 3.1 document."""
    components: dict = {}
    paths: dict = {}
    error_ref = _schema(ErrorBody, components)
    for op in OPERATIONS:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", bp.url_prefix + op.rule)
        params = [{"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(name, _ID)}
                  for name in re.findall(r"{([a-z_]+)}", path)]
        if op.query is not None:
            query_schema = op.query.model_json_schema()
            for name, prop in query_schema.get("properties", {}).items():
                params.append({"name": name, "in": "query",
                               "required": name in query_schema.get("required", []),
                               "schema": prop})
        entry: dict = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
            "parameters": params,
            "security": [{"bearer": []}],
            "description": "Key scopes: " + ", ".join(op.scopes) + ".",
            "responses": {code: {"description": text, "content": {"application/json": {"schema": error_ref}}}
                          for code, text in _ERRORS.items()},
        }
        if op.tags:
            entry["tags"] = op.tags
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _input_schema(op.body, components)}}}
        elif op.raw_body:
            entry["requestBody"] = {"required": True, "content": {
                op.raw_body: {"schema": {"type": "string", "format": "binary"}}}}
        ok: dict = {"description": "Success"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(op.response, components)}}
        elif op.raw_response:
            ok["content"] = {op.raw_response: {"schema": {"type": "string"}}}
        entry["responses"][str(op.status)] = ok
        _add_examples(entry, op, components)
        paths.setdefault(path, {})[op.method.lower()] = entry
    paths["/api/v1/openapi.json"] = {"get": {
        "summary": "This document", "operationId": "get_openapi", "security": [],
        "responses": {"200": {"description": "The OpenAPI document",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}}
    paths.update(_docs_paths(error_ref))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Consent portal API", "version": "1.0.0",
                 "description": "Subscriptions, consent, suppressions and send eligibility."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items())),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _docs_paths(error_ref: dict) -> dict:
    """The docs page and its two files (``portal/apidocs.py``): no key, not JSON."""
    from portal.apidocs import ASSETS

    page = {"summary": "This document, rendered (Swagger UI)", "operationId": "get_docs", "security": [],
            "responses": {"200": {"description": "The API docs page", "content": {
                "text/html": {"schema": {"type": "string"}, "example": "<!doctype html>..."}}}}}
    asset = {"summary": "A file of the docs page", "operationId": "get_docs_asset", "security": [],
             "parameters": [{"name": "name", "in": "path", "required": True,
                             "schema": {"type": "string", "enum": list(ASSETS)}, "example": ASSETS[0]}],
             "responses": {
                 "200": {"description": "The file", "content": {"text/css": {"schema": {"type": "string"}},
                                                                "text/javascript": {"schema": {"type": "string"}}}},
                 "404": {"description": "Not one of the page's files",
                         "content": {"application/json": {"schema": error_ref}}}}}
    return {"/api/v1/docs": {"get": page}, "/api/v1/docs/assets/{name}": {"get": asset}}


def _add_examples(entry: dict, op, components: dict) -> None:
    """An example request body (when there is one) and an example answer, for the docs page."""
    for media in (entry.get("requestBody", {}).get("content") or {}).values():
        media["example"] = _example_of(media["schema"], components, op.raw_body, answer=False)
    for media in (entry["responses"][str(op.status)].get("content") or {}).values():
        media["example"] = _example_of(media["schema"], components, op.raw_response, answer=True)
    for parameter in entry["parameters"]:
        parameter.setdefault("example", example(parameter["schema"], components, parameter["name"]))


def _example_of(schema: dict, components: dict, raw: str | None, answer: bool):
    return RAW_EXAMPLES.get(raw, "") if raw else example(schema, components, answer=answer)


@bp.get("/openapi.json")
def openapi_json():
    """Serve the generated document."""
    return jsonify(build_document())
