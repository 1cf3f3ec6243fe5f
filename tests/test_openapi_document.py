"""The OpenAPI document is precise: formats of addresses, bounds of page sizes, cursors described and
never null in a query, and only the error answers an operation can give (413 and 415 where a body is
read, no 429 on an API that is never rate limited)."""
import pytest

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _parameters(document, name, where):
    found = [(path, method, parameter) for path, method, operation in _operations(document)
             for parameter in operation.get("parameters", []) if parameter["name"] == name and parameter["in"] == where]
    assert found, (name, where)
    return found


def test_every_address_parameter_has_the_email_format_and_bounds(document):
    for path, method, parameter in _parameters(document, "email", "path") + _parameters(document, "email", "query"):
        schema = parameter["schema"]
        assert schema["format"] == "idn-email", (method, path)
        assert schema["minLength"] == 3 and schema["maxLength"] == 320, (method, path)
        assert "[tT][eE][sS][tT]" in schema["pattern"]  # special-use domains, refused by the validator


def test_every_limit_has_bounds(document):
    for path, method, parameter in _parameters(document, "limit", "query"):
        schema = parameter["schema"]
        assert schema["type"] == "integer" and schema["minimum"] == 1, (method, path)
        assert schema["maximum"] in {1000, 5000, 10_000}, (method, path)


def test_every_cursor_is_described_and_never_null_in_a_query(document):
    for path, method, parameter in _parameters(document, "cursor", "query"):
        schema = parameter["schema"]
        assert schema["type"] == "string" and "anyOf" not in schema and "default" not in schema, (method, path)
        assert schema["maxLength"] == 200 and "next_cursor" in parameter["description"], (method, path)
    pages = [schema for name, schema in document["components"]["schemas"].items() if name.endswith("Page")]
    assert pages and all({"type": "null"} in page["properties"]["next_cursor"]["anyOf"] for page in pages)


def test_no_query_parameter_can_be_null(document):
    for path, method, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            text = str(parameter["schema"])
            assert "'null'" not in text, (method, path, parameter["name"])


def test_413_and_415_only_where_a_body_is_read_and_never_429(document):
    readers = set()
    for path, method, operation in _operations(document):
        codes = set(operation["responses"])
        assert "429" not in codes, (method, path)
        if "requestBody" in operation or (method == "delete" and "/suppressions/" in path):
            readers.add((method, path))
            assert {"413", "415"} <= codes, (method, path)
        else:
            assert not {"413", "415"} & codes, (method, path)
    assert ("post", "/api/v1/accounts/{account_id}/lists/{list_id}/imports") in readers
    assert ("delete", "/api/v1/suppressions/{email}") in readers  # the reason may come in a JSON body
    assert not any(method == "get" for method, _path in readers)


def test_text_in_bodies_and_queries_refuses_nul_as_the_api_does(document):
    schemas = document["components"]["schemas"]
    assert schemas["AccountCreate"]["properties"]["name"]["pattern"] == "^[^\\x00]*$"
    assert schemas["MessageCheck"]["properties"]["headers"]["propertyNames"]["pattern"] == "^[^\\x00]*$"
    reason = next(p for _path, _method, p in _parameters(document, "reason", "query"))
    assert reason["required"] is True and "\\x00" in reason["schema"]["pattern"]
