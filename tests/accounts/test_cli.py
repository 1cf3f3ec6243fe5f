"""The accounts, keys, lists and forms CLI, each with --json."""
import json


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
    response = client.get(f"/api/v1/accounts/{account['id']}/forms", headers={"Authorization": f"Bearer {key['key']}"})
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
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and "/f/" in first.output
    assert first.output == second.output
