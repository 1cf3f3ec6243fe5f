"""The accounts, keys, lists and forms CLI, each with --json."""
import json

from tests.conftest import bearer


def invoke_json(runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_cli_builds_an_account_with_a_working_key(runner, client):
    account = invoke_json(runner, ["accounts", "create", "--name", "Kedai", "--postal-address", "Jl. A 1",
                                   "--contact-email", "a@kedai.example", "--json"])
    key = invoke_json(runner, ["keys", "create", "--scope", "account", "--account", account["id"], "--json"])
    assert key["key"].startswith("cpk_") and key["id"]
    mailing_list = invoke_json(runner, ["lists", "create", "--account", account["id"], "--name", "News", "--json"])
    form = invoke_json(runner, ["forms", "create", "--account", account["id"], "--list", mailing_list["id"],
                                "--allowed-origin", "https://kedai.example", "--json"])
    assert form["hosted_url"].endswith(f"/f/{form['id']}")
    assert form["allowed_origins"] == ["https://kedai.example"]
    response = client.get(f"/api/v1/accounts/{account['id']}/forms", headers=bearer(key["key"]))
    assert [item["id"] for item in response.json["items"]] == [form["id"]]


def test_account_key_needs_an_account(runner):
    result = runner.invoke(args=["keys", "create", "--scope", "account"])
    assert result.exit_code != 0
    assert "needs --account" in result.output


def test_unknown_account_is_an_error(runner):
    result = runner.invoke(args=["lists", "create", "--account", "nope", "--name", "x"])
    assert result.exit_code != 0
    assert "No such account" in result.output


def test_demo_is_created_once(runner):
    # Each run prints a new demo key (a secret is shown once), so the outputs differ by the key only.
    first = invoke_json(runner, ["demo", "--json"])
    second = invoke_json(runner, ["demo", "--json"])
    assert first["urls"]["hosted_form"].endswith(f"/f/{first['form_id']}")
    assert {k: first[k] for k in ("account_id", "list_id", "form_id", "urls")} == \
        {k: second[k] for k in ("account_id", "list_id", "form_id", "urls")}
    text = runner.invoke(args=["demo"]).output
    assert f"/f/{first['form_id']}" in text and "platform key" in text and "/api/v1/docs" in text


def test_demo_key_works_and_the_previous_one_is_revoked(runner, client):
    first = invoke_json(runner, ["demo", "--json"])
    second = invoke_json(runner, ["demo", "--json"])
    answer = client.get("/api/v1/accounts", headers=bearer(second["platform_key"]))
    assert answer.status_code == 200
    assert first["account_id"] in [item["id"] for item in answer.json["items"]]
    stale = client.get("/api/v1/accounts", headers=bearer(first["platform_key"]))
    assert stale.status_code == 401 and stale.json["error"]["code"] == "unauthorized"


def test_list_commands_show_ids_never_secrets(runner, create_form, create_api_key, db):
    form = create_form()
    account_id = form.account_id
    key, secret = create_api_key("account", form.account)
    accounts = invoke_json(runner, ["accounts", "list", "--json"])["items"]
    assert account_id in [item["id"] for item in accounts]
    lists = invoke_json(runner, ["lists", "list", "--account", account_id, "--json"])["items"]
    assert [item["id"] for item in lists] == form_list_ids(form)
    forms = invoke_json(runner, ["forms", "list", "--account", account_id, "--json"])["items"]
    assert [(item["id"], item["hosted_url"]) for item in forms] == [(form.id, f"https://portal.test/f/{form.id}")]
    keys = runner.invoke(args=["keys", "list", "--json"])
    assert [item["id"] for item in json.loads(keys.output)["items"]] == [key.id]
    assert secret.split(".", 1)[1] not in keys.output and "secret" not in keys.output
    plain = runner.invoke(args=["keys", "list"])
    assert key.id in plain.output and secret.split(".", 1)[1] not in plain.output
    assert form.id in runner.invoke(args=["forms", "list", "--account", account_id]).output


def form_list_ids(form) -> list[str]:
    return [item.id for item in form.lists]


def test_keys_revoke_stops_the_key(runner, client, create_api_key):
    key, secret = create_api_key("platform")
    headers = bearer(secret)
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    revoked = invoke_json(runner, ["keys", "revoke", key.id, "--json"])
    assert revoked["id"] == key.id and revoked["revoked_at"]
    answer = client.get("/api/v1/accounts", headers=headers)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
    listed = invoke_json(runner, ["keys", "list", "--json"])["items"]
    assert listed[0]["revoked_at"] == revoked["revoked_at"]


def test_keys_revoke_of_an_unknown_key_is_an_error(runner):
    result = runner.invoke(args=["keys", "revoke", "nope"])
    assert result.exit_code != 0 and "No such key" in result.output


def test_lists_list_of_an_unknown_account_is_an_error(runner):
    for command in (["lists", "list", "--account", "nope"], ["forms", "list", "--account", "nope"]):
        result = runner.invoke(args=command)
        assert result.exit_code != 0 and "No such account" in result.output
