"""The orjson provider writes exactly what Flask's own provider writes."""
import dataclasses
import decimal
import uuid
from datetime import date, datetime, timezone

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from portal.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    label: str


SAMPLES = [
    {"b": 1, "a": [1, 2.5, None, True, False], "ü": "Jörg 😀 \u2028 \x00 \"q\" \\ </script>"},
    {"when": datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=timezone.utc), "day": date(2026, 12, 1),
     "id": uuid.UUID(int=21), "amount": decimal.Decimal("1.10"), "point": Point(1, "x")},
    {"big": 2**70, "small": -(2**63)},
    {"floats": [1e300, -0.0, 1.0, 0.1, 123456789.125]},
    {3: "int key", 1: "another"},
    "plain ü",
    [],
]


@pytest.mark.parametrize("value", SAMPLES)
def test_same_text_as_flasks_provider(value):
    app = Flask(__name__)
    ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
    for options in ({}, {"separators": (",", ":")}, {"indent": 2}):
        assert ours.dumps(value, **options) == flasks.dumps(value, **options)
    assert ours.loads(ours.dumps(value)) == flasks.loads(flasks.dumps(value))


def test_the_app_answers_through_it(app, client):
    assert isinstance(app.json, OrjsonProvider)
    assert client.get("/healthz").get_data(as_text=True).endswith("\n")
