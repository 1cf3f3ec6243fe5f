"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Every operation in ``GET /api/v1/openapi.json`` gets generated requests (valid and invalid)
with a platform key and a real account id; no answer may be a 5xx, and every answer must
match the document (status code, content type, body schema). Bounded and derandomised so the
suite stays fast and repeatable. (Schemathesis' own ``from_fixture`` pytest loader does not
run under pytest 9, so the operations are parametrised here and driven through Hypothesis.)
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                status_code_conformance)

from portal import create_app
from portal.config import TestingConfig
from portal.openapi import build_document

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations() -> list[tuple[str, str]]:
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        paths = build_document()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method in methods]


@pytest.mark.parametrize("method, path", _operations())
def test_api_matches_its_document(app, create_list, platform_auth, method, path):
    mailing_list = create_list()
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=20, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        _point_at_real_things(case, mailing_list)
        case.call_and_validate(headers=platform_auth, checks=CHECKS)

    run()


def _valid_sometimes(value):
    """Every other generated address becomes a valid one, so deeper paths run too."""
    if isinstance(value, str) and len(value) % 2 == 0:
        return f"user{len(value)}@example.org"
    return value


def _point_at_real_things(case, mailing_list) -> None:
    """Random ids only ever reach a 404: use the test's account and list instead."""
    if case.path_parameters:
        if "account_id" in case.path_parameters:
            case.path_parameters["account_id"] = mailing_list.account_id
        if "email" in case.path_parameters:
            case.path_parameters["email"] = _valid_sometimes(case.path_parameters["email"])
    if isinstance(case.query, dict) and "email" in case.query:
        case.query["email"] = _valid_sometimes(case.query["email"])
    if isinstance(case.body, dict):
        if "list_id" in case.body:
            case.body["list_id"] = mailing_list.id
        if isinstance(case.body.get("list_ids"), list):
            case.body["list_ids"] = [mailing_list.id]
        if "contact_email" in case.body:
            case.body["contact_email"] = _valid_sometimes(case.body["contact_email"])
        for item in case.body.get("events") or case.body.get("entries") or []:
            if isinstance(item, dict):
                item.pop("list_id", None)
                if "email" in item:
                    item["email"] = _valid_sometimes(item["email"])
