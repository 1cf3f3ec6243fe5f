"""The ledger keeps the exact words in the language shown (issue 20): a signup on an Indonesian
page names the Indonesian row of the consent text; its proof bundle carries that text with its
locale and verifies offline; the data download, the ledger export and the receipt say the locale."""
import hashlib
import json

import pytest

from portal.consent.evidence import RequestEvidence
from portal.consent.verify import main as verify_main
from portal.extensions import db
from portal.signup import operations as signup

EN = "Yes, send me the weekly coffee news."
ID = "Ya, kirimi saya kabar kopi mingguan."
ADDRESS = "siti.rahma@example.org"


@pytest.fixture
def confirmed(app, runner, create_account, create_form):
    """A double opt-in on the Indonesian page of an English account's form, sealed: (form, contact id)."""
    form = create_form(create_account(locale="en"), consent_text=EN, translations={"id": {"consent_text": ID}})
    request = signup.request_signup(form, email=ADDRESS, locale="id", evidence=RequestEvidence(
        ip="203.0.113.9", user_agent="Mozilla/5.0 Test", page_url="https://portal.test/f/x"))
    db.session.commit()
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.10", user_agent="Mozilla/5.0 Test"))
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    return form, request.contact_id


def test_the_proof_bundle_holds_the_indonesian_words_and_verifies(client, account_auth, confirmed, tmp_path, capsys):
    form, _contact_id = confirmed
    response = client.get(f"/api/v1/accounts/{form.account_id}/ledger/proof", query_string={"email": ADDRESS},
                          headers=account_auth(form.account))
    assert response.status_code == 200
    bundle = response.get_json()
    indonesian = form.consent_text_for("id")
    assert bundle["consent_texts"] == [{"id": indonesian.id, "version": 1, "locale": "id", "text": ID,
                                        "sha256": hashlib.sha256(ID.encode()).hexdigest()}]
    requested = [e for e in bundle["events"] if e["payload"]["type"] == "signup_requested"]
    assert requested[0]["payload"]["evidence"]["consent_text_sha256"] == hashlib.sha256(ID.encode()).hexdigest()
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/.well-known/consent-ledger-keys").get_data(as_text=True))
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert verify_main([str(path), "--keys", str(keys)]) == 0, capsys.readouterr().out


def test_the_data_download_the_export_and_the_receipt_name_the_locale(client, account_auth, confirmed):
    from portal.privacy.export import _event
    from portal.consent.models import ConsentEvent
    from portal.receipts.operations import _consent_text

    form, contact_id = confirmed
    indonesian = form.consent_text_for("id")
    event = db.session.query(ConsentEvent).filter_by(contact_id=contact_id, type="signup_requested").first()
    assert _event(event)["consent_text"]["locale"] == "id"
    assert _consent_text(indonesian.id)["locale"] == "id" and _consent_text(indonesian.id)["text"] == ID
    export = client.get(f"/api/v1/accounts/{form.account_id}/ledger/export", headers=account_auth(form.account))
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines() if line]
    texts = [line["consent_text"] for line in lines if line["consent_text"]]
    assert texts and all(text == {"id": indonesian.id, "form_id": form.id, "version": 1, "locale": "id", "text": ID}
                         for text in texts)


def test_the_receipt_page_marks_words_shown_in_another_language(client, confirmed):
    from flask_babel import refresh

    from portal.receipts.operations import receipt_token

    _form, contact_id = confirmed
    url = f"/receipts/{receipt_token(contact_id)}"
    refresh()
    english = client.get(url, query_string={"lang": "en"}).get_data(as_text=True)
    assert f'<blockquote lang="id">{ID}</blockquote>' in english
    refresh()
    indonesian = client.get(url, query_string={"lang": "id"}).get_data(as_text=True)
    assert f"<blockquote>{ID}</blockquote>" in indonesian
