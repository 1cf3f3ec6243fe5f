"""The API docs page (/api/v1/docs) and the examples of every route in the OpenAPI document."""
import json

import pytest

from portal.api import OPERATIONS
from portal.openapi import build_document
from portal.security import DEFAULT_CSP


def _json_example(entry: dict, where: str):
    content = entry["requestBody"]["content"] if where == "request" else entry["content"]
    return next(iter(content.values()))["example"]


def test_every_route_has_an_example_request_and_answer_that_its_models_accept(app):
    document = build_document()
    checked = 0
    for op in OPERATIONS:
        path = "/api/v1" + op.rule
        for name in ("account_id", "list_id", "form_id", "import_id", "webhook_id", "path:email"):
            path = path.replace(f"<{name}>", "{" + name.replace("path:", "") + "}")
        entry = document["paths"][path][op.method.lower()]
        if op.body is not None or op.raw_body:
            request_example = _json_example(entry, "request")
            assert request_example, (op.method, path)
            if op.body is not None:
                op.body.model_validate(request_example)
        answer = entry["responses"][str(op.status)]
        if op.response is not None:
            op.response.model_validate(_json_example(answer, "answer"))
        elif op.raw_response:
            assert _json_example(answer, "answer"), (op.method, path)
        for parameter in entry["parameters"]:
            assert "example" in parameter, (op.method, path, parameter["name"])
        checked += 1
    assert checked == len(OPERATIONS) > 30


def test_the_docs_page_is_served_by_the_app_under_the_strict_policy(client):
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="/api/v1/docs/assets/swagger-ui-bundle.js"' in html and 'src="/static/apidocs.js"' in html
    assert 'href="/api/v1/docs/assets/swagger-ui.css"' in html and "<script>" not in html
    assert "http" not in html.split("<body>", 1)[1].replace("openapi.json", "")
    # Swagger UI runs under the strict policy of every page (the browser test shows no violation).
    assert page.headers["Content-Security-Policy"] == DEFAULT_CSP
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and asset.headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("name", ["index.css", "oauth2-redirect.html", "..%2Fflask_swagger_ui.py", "LICENSE"])
def test_only_the_two_assets_are_served(client, name):
    answer = client.get(f"/api/v1/docs/assets/{name}")
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"
