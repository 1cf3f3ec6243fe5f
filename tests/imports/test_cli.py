"""``flask imports list`` and ``imports show``."""
import json


def test_list_and_show(upload, create_list, runner):
    mailing_list = create_list()
    report = upload(mailing_list, "email,consented_at\nann@example.org,2026-11-01\ninfo@example.org,2026-11-01\n",
                    attestation="Paper forms at our shop,\nsigned and kept.").json
    listed = runner.invoke(args=["imports", "list"])
    assert listed.exit_code == 0 and report["id"] in listed.output and '"role_address": 1' in listed.output
    assert runner.invoke(args=["imports", "list", "--account", "nobody"]).output == ""
    shown = runner.invoke(args=["imports", "show", report["id"]])
    assert shown.exit_code == 0
    assert report["file_sha256"] in shown.output and report["api_key_id"] in shown.output
    assert "Paper forms at our shop," in shown.output and "signed and kept." in shown.output
    as_json = json.loads(runner.invoke(args=["imports", "show", report["id"], "--json"]).output)
    assert as_json["refused_by_reason"]["role_address"] == 1 and as_json["confirmed"] == 1
    missing = runner.invoke(args=["imports", "show", "nope"])
    assert missing.exit_code != 0 and "no import nope" in missing.output
