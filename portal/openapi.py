"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document, built from the declared routes."""
from __future__ import annotations

import re

from flask import jsonify
from pydantic import BaseModel

from portal.api import EMAIL, OPERATIONS, ErrorBody, bp
from portal.examples import RAW_EXAMPLES, example

#: The error answers every key-checked operation can give (no API route is rate limited, so no 429).
_ERRORS = {
    "400": "Malformed request",
    "401": "Missing or invalid API key",
    "403": "Key scope does not allow this",
    "404": "Not found",
    "409": "Conflict",
    "422": "Not valid",
}
#: And those of an operation that reads a body (never a GET's).
_BODY_ERRORS = {
    "413": "Too large: the body passes the route's limit (details.max_bytes), or a list its item cap",
    "415": "Not the body's media type",
}
#: Text in a body or a query: NUL is refused (PostgreSQL text cannot hold it; ``api.parse_body``).
NO_NUL = "^[^\\x00]*$"


#: Path parameters: an address has the email format; ids are opaque strings.
_PATH_SCHEMAS = {"email": {"type": "string", **EMAIL, "minLength": 3, "maxLength": 320,
                           "description": "The address as sent; any case. Percent-encode it."}}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}


def _reads_body(op) -> bool:
    """Whether the operation reads a request body (a declared one, or the optional JSON of a DELETE)."""
    return op.body is not None or op.raw_body is not None or op.optional_body is not None


def _text_without_nul(schema):
    """``schema`` with every plain string (no pattern, format or enum of its own) refusing NUL, as the API does."""
    if isinstance(schema, list):
        return [_text_without_nul(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    walked = {key: _text_without_nul(value) for key, value in schema.items()}
    if walked.get("type") == "string" and not {"pattern", "format", "enum", "const"} & walked.keys():
        walked["pattern"] = NO_NUL
    if isinstance(walked.get("additionalProperties"), dict) or "patternProperties" in walked:
        walked.setdefault("propertyNames", {}).setdefault("pattern", NO_NUL)  # names are text too
    return walked


def _query_parameter(name: str, prop: dict, required: bool) -> dict:
    """A query parameter: never null (a query string has no null), NUL refused."""
    options = [option for option in prop.get("anyOf", []) if option.get("type") != "null"]
    schema = {**prop, **options[0]} if len(options) == 1 else dict(prop)
    schema.pop("anyOf", None)
    if schema.get("default", 0) is None:
        del schema["default"]
    return {"name": name, "in": "query", "required": required, "schema": _text_without_nul(schema),
            **({"description": schema["description"]} if "description" in schema else {})}


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _input_schema(model: type[BaseModel], components: dict) -> dict:
    schema = _text_without_nul(model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation"))
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
                params.append(_query_parameter(name, prop, name in query_schema.get("required", [])))
        errors = {**_ERRORS, **(_BODY_ERRORS if _reads_body(op) else {})}
        entry: dict = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
            "parameters": params,
            "security": [{"bearer": []}] if op.scopes else [],
            "description": "Key scopes: " + ", ".join(op.scopes) + "." if op.scopes else "No key needed: public.",
            "responses": {code: {"description": text, "content": {"application/json": {"schema": error_ref}}}
                          for code, text in sorted(errors.items())},
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
