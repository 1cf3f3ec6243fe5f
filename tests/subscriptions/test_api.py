"""The lists and forms API."""
from tests.pagetools import refusal


def test_lists_are_created_and_paged(client, create_account, account_auth):
    account = create_account()
    headers = account_auth(account)
    ids = [client.post(f"/api/v1/accounts/{account.id}/lists", json={"name": f"L{i}"}, headers=headers).json["id"]
           for i in range(5)]
    page = client.get(f"/api/v1/accounts/{account.id}/lists?limit=2", headers=headers).json
    seen = [item["id"] for item in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"/api/v1/accounts/{account.id}/lists?limit=2&cursor={page['next_cursor']}",
                          headers=headers).json
        seen += [item["id"] for item in page["items"]]
    assert sorted(seen) == sorted(ids)


def test_bad_cursor_and_limit_are_clear_errors(client, create_account, account_auth):
    account = create_account()
    headers = account_auth(account)
    assert client.get(f"/api/v1/accounts/{account.id}/lists?cursor=%%%", headers=headers).status_code == 400
    assert client.get(f"/api/v1/accounts/{account.id}/lists?limit=0", headers=headers).status_code == 422
    assert client.get(f"/api/v1/accounts/{account.id}/lists?limit=abc", headers=headers).status_code == 422


def test_form_has_hosted_url_and_plain_embed_html(client, create_list, account_auth):
    mailing_list = create_list()
    response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/forms", headers=account_auth(mailing_list.account),
                           json={"list_ids": [mailing_list.id], "allowed_origins": ["https://Shop.example/"],
                                 "redirect_url": "https://shop.example/thanks", "consent_text": "Yes please"})
    assert response.status_code == 201, response.json
    form = response.json
    assert form["hosted_url"] == f"https://portal.test/f/{form['id']}"
    assert form["allowed_origins"] == ["https://shop.example"]
    assert f'action="{form["hosted_url"]}"' in form["embed_html"]
    assert 'method="post"' in form["embed_html"] and "<script" not in form["embed_html"]
    assert form["consent_text"]["version"] == 1 and form["consent_text"]["text"] == "Yes please"


def test_redirect_must_be_on_an_allowed_origin(client, create_list, account_auth, db):
    from portal.subscriptions.models import Form

    mailing_list = create_list()
    for redirect in ["https://evil.example/", "javascript:alert(1)", "//evil.example", "https://shop.example.evil.example/"]:
        response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/forms", headers=account_auth(mailing_list.account),
                               json={"list_ids": [mailing_list.id], "allowed_origins": ["https://shop.example"],
                                     "redirect_url": redirect})
        assert response.status_code == 422, redirect
    assert db.session.query(Form).count() == 0


def test_form_cannot_use_another_accounts_list(client, create_list, create_account, account_auth):
    other_list = create_list()
    account = create_account()
    response = client.post(f"/api/v1/accounts/{account.id}/forms", headers=account_auth(account),
                           json={"list_ids": [other_list.id]})
    assert refusal(response) == (404, "not_found")


def test_bad_origins_are_refused(client, create_list, account_auth):
    mailing_list = create_list()
    for origin in ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://u:p@shop.example"]:
        response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/forms", headers=account_auth(mailing_list.account),
                               json={"list_ids": [mailing_list.id], "allowed_origins": [origin]})
        assert response.status_code == 422, origin


def test_consent_text_versions_are_kept(app, create_form, db):
    from portal.subscriptions.operations import set_consent_text

    form = create_form(consent_text="v1 words")
    first = form.consent_text
    set_consent_text(form, "v2 words")
    db.session.commit()
    assert [c.version for c in form.consent_texts] == [1, 2]
    assert form.consent_text.text == "v2 words" and first.text == "v1 words"


def test_default_consent_text_is_in_the_accounts_language(app, create_account, create_form):
    english = create_form(create_account(locale="en")).consent_text.text
    indonesian = create_form(create_account(locale="id", name="Toko Budi")).consent_text.text
    assert english.startswith("Yes, send me email from")
    assert indonesian.startswith("Ya, kirimi saya email dari Toko Budi")
