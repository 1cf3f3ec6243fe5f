"""Example requests and answers for the OpenAPI document, made from each route's own schemas.

An example is built from the JSON schema of the route's pydantic model: a schema's own
``examples`` first, then its enum, then a value chosen by the field's name and type, so that
every route in ``/api/v1/docs`` shows a request and an answer that its models accept
(``tests/test_apidocs.py`` validates each one against them).
"""
from __future__ import annotations

import re
from typing import Any

#: Values by field name (the end of the name: ``contact_email`` is an email).
_BY_NAME = (
    (re.compile(r"(^|_)emails?$"), "ann@example.org"),
    (re.compile(r"(^|_)email_hash$"), "5d41402abc4b2a76b9719d911017c592ae8b1c9a4b8e0b5f7c4fd0b1e2f3a4b5"),
    (re.compile(r"(^|_)message_(id|ref)$"), "<20261201093000.4f2a@mail.platform.example>"),
    (re.compile(r"(^|_)(at|since|until)$"), "2026-12-01T09:30:00.000000Z"),
    (re.compile(r"_url$|^url$"), "https://shop.example/thanks"),
    (re.compile(r"(^|_)origins?$"), "https://shop.example"),
    (re.compile(r"(^|_)id$"), "5f0c2a9d8e7b6a5c4d3e2f10"),
    (re.compile(r"postal_address$"), "Jl. Braga 5, Bandung 40111, Indonesia"),
    (re.compile(r"(^|_)name$"), "Toko Kopi"),
    (re.compile(r"^locale$"), "en"),
    (re.compile(r"(^|_)colour$"), "#0b5cad"),
    (re.compile(r"^(from_)?status$"), "active"),
    (re.compile(r"^to_status$"), "warned"),
    (re.compile(r"^actor$"), "system"),
    (re.compile(r"(^|_)(html)$"), "<p>Hello! <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>"),
    (re.compile(r"(^|_)(text)$"), "Hello!\n\nUnsubscribe: {{unsubscribe_url}}"),
    (re.compile(r"(^|_)(cursor)$"), "eyJzZXEiOjQyfQ"),
    (re.compile(r"(^|_)secret$"), "whsec_3q2+7w"),
    (re.compile(r"(^|_)(note|reason|message|attestation|description)$"), "Asked us by phone to stop."),
)
_BY_FORMAT = {"email": "ann@example.org", "date-time": "2026-12-01T09:30:00.000000Z",
              "uri": "https://shop.example/", "binary": "..."}


def example(schema: dict, components: dict, name: str = "", answer: bool = False) -> Any:
    """An example value for ``schema`` (refs resolved in ``components``); ``name`` is the field's name.

    In an ``answer``, a field that is null unless something happened (``open_review``) is null.
    """
    if "$ref" in schema:
        return example(components[schema["$ref"].rsplit("/", 1)[-1]], components, name, answer)
    for key in ("examples", "example", "const", "enum"):
        if key in schema:
            value = schema[key]
            return value[0] if key in ("examples", "enum") and isinstance(value, list) else value
    if "default" in schema and (schema["default"] is not None or answer):
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [option for option in schema[key] if option.get("type") != "null"] or schema[key]
            return example(options[0], components, name, answer)
    if "allOf" in schema:
        return example(schema["allOf"][0], components, name, answer)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    return _EXAMPLES.get(kind, lambda *_: None)(schema, components, name, answer)


def _object(schema: dict, components: dict, name: str, answer: bool) -> dict:
    properties = schema.get("properties")
    if properties is None:
        extra = schema.get("additionalProperties")
        names = (schema.get("propertyNames") or {}).get("enum")  # locales: the last, as "en" is the usual own
        key = names[-1] if names else "key"
        return {key: example(extra, components, "value", answer)} if isinstance(extra, dict) and extra else {}
    return {field: example(sub, components, field, answer) for field, sub in properties.items()}


def _array(schema: dict, components: dict, name: str, answer: bool) -> list:
    item = example(schema.get("items", {}), components, name[:-1] if name.endswith("s") else name, answer)
    return [item] * max(1, schema.get("minItems", 1))


def _string(schema: dict, _components: dict, name: str, _answer: bool = False) -> str:
    value = _BY_FORMAT.get(schema.get("format", ""))
    if value is None:
        value = next((text for pattern, text in _BY_NAME if pattern.search(name)), "text")
    if len(value) < schema.get("minLength", 0):
        value = value.ljust(schema["minLength"], "x")
    return value[: schema.get("maxLength", len(value))]


def _integer(schema: dict, *_) -> int:
    return max(int(schema.get("minimum", 1)), 1) if schema.get("maximum", 2) >= 1 else int(schema["maximum"])


def _number(schema: dict, *_) -> float:
    return float(schema.get("minimum", 0.5))


_EXAMPLES = {
    "object": _object, "array": _array, "string": _string, "integer": _integer, "number": _number,
    "boolean": lambda *_: True, "null": lambda *_: None,
}

#: Examples of the bodies that are not JSON, by media type.
RAW_EXAMPLES = {
    "message/rfc822": ("From: fbl@mailbox.example\r\nTo: unsubscribe+3f2a9c@mail.portal.example\r\n"
                       "Subject: unsubscribe\r\nMessage-ID: <1@mailbox.example>\r\n\r\nunsubscribe\r\n"),
    "multipart/form-data": {"file": "email,name,consented_at\r\nann@example.org,Ann,2026-11-02T10:00:00Z\r\n",
                            "attestation": "Customers ticked the newsletter box at checkout.",
                            "consent_method": "single_opt_in"},
    "text/csv": "line,email,reason\r\n3,info@shop.example,role_address\r\n",
    "application/x-ndjson": ('{"id": 1, "type": "signup_requested", "occurred_at": "2026-12-01T09:30:00.000000Z", '
                             '"email": "ann@example.org", "list_id": "5f0c2a9d8e7b6a5c4d3e2f10"}\n'),
}
