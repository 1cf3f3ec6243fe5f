"""Customer content per locale through the API (issue 20): lists and forms with translations,
GET and PATCH of one list or form, and consent text versions of one row per language."""
import pytest

from portal.subscriptions.models import ConsentText

EN = "Yes, send me the weekly news."
ID = "Ya, kirimi saya kabar mingguan."


def _base(account):
    return f"/api/v1/accounts/{account.id}"


@pytest.fixture
def api(client, create_account, account_auth):
    """(account, headers, post(path, json), patch(path, json), get(path)) of a new English account."""
    account = create_account(locale="en")
    headers = account_auth(account)

    def call(method, path, json=None):
        return client.open(_base(account) + path, method=method, json=json, headers=headers)

    return account, call


@pytest.fixture
def made(api):
    """A list and a form given in English and Indonesian: (account, call, list json, form json)."""
    account, call = api
    mailing_list = call("POST", "/lists", {"name": "Weekly news", "description": "Every Monday",
                                           "translations": {"id": {"name": "Kabar mingguan",
                                                                   "description": "Setiap Senin"}}})
    assert mailing_list.status_code == 201, mailing_list.json
    form = call("POST", "/forms", {"list_ids": [mailing_list.json["id"]], "consent_text": EN, "heading": "Join us",
                                   "translations": {"id": {"consent_text": ID, "heading": "Bergabunglah"}}})
    assert form.status_code == 201, form.json
    return account, call, mailing_list.json, form.json


def test_a_list_and_a_form_are_created_with_their_translations(made):
    _account, _call, mailing_list, form = made
    assert mailing_list["translations"] == {"id": {"name": "Kabar mingguan", "description": "Setiap Senin"}}
    assert form["heading"] == "Join us"
    assert form["consent_text"]["text"] == EN and form["consent_text"]["locale"] == "en"
    indonesian = form["translations"]["id"]
    assert indonesian["heading"] == "Bergabunglah"
    assert indonesian["consent_text"]["text"] == ID and indonesian["consent_text"]["locale"] == "id"
    assert indonesian["consent_text"]["version"] == form["consent_text"]["version"] == 1
    assert indonesian["consent_text"]["id"] != form["consent_text"]["id"]


def test_one_list_and_one_form_are_read(made):
    _account, call, mailing_list, form = made
    assert call("GET", f"/lists/{mailing_list['id']}").json == mailing_list
    assert call("GET", f"/forms/{form['id']}").json == form


@pytest.mark.parametrize("field", ["lists", "forms"])
def test_an_unknown_locale_is_refused_naming_it(api, create_list, field):
    account, call = api
    if field == "lists":
        response = call("POST", "/lists", {"name": "N", "translations": {"fr": {"name": "Nouvelles"}}})
    else:
        response = call("POST", "/forms", {"list_ids": [create_list(account).id],
                                           "translations": {"fr": {"consent_text": "Oui"}}})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["details"][0]["loc"] == ["translations", "fr"]


def test_the_accounts_own_locale_is_refused_as_a_translation(api):
    _account, call = api
    response = call("POST", "/lists", {"name": "N", "translations": {"en": {"name": "News"}}})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["details"][0]["loc"] == ["translations", "en"]


def test_changing_only_the_indonesian_text_makes_version_2_with_both_rows(made, db):
    _account, call, _list, form = made
    changed = call("PATCH", f"/forms/{form['id']}", {"translations": {"id": {"consent_text": "Ya, kirimi saya kabar.",
                                                                             "heading": "Bergabunglah"}}})
    assert changed.status_code == 200, changed.json
    assert changed.json["consent_text"]["version"] == 2 and changed.json["consent_text"]["text"] == EN
    assert changed.json["translations"]["id"]["consent_text"] == {
        **changed.json["translations"]["id"]["consent_text"], "version": 2, "text": "Ya, kirimi saya kabar."}
    rows = db.session.query(ConsentText).filter_by(form_id=form["id"]).order_by(ConsentText.version,
                                                                                ConsentText.locale).all()
    assert [(row.version, row.locale, row.text) for row in rows] == [
        (1, "en", EN), (1, "id", ID), (2, "en", EN), (2, "id", "Ya, kirimi saya kabar.")]


def test_the_same_words_make_no_new_version(made):
    _account, call, _list, form = made
    same = call("PATCH", f"/forms/{form['id']}", {"consent_text": EN, "name": "Renamed",
                                                  "translations": {"id": {"consent_text": ID,
                                                                          "heading": "Bergabunglah"}}})
    assert same.status_code == 200, same.json
    assert same.json["name"] == "Renamed"
    assert same.json["consent_text"] == form["consent_text"]
    assert same.json["translations"] == form["translations"]


def test_a_changed_base_text_keeps_the_indonesian_one_in_the_new_version(made):
    _account, call, _list, form = made
    changed = call("PATCH", f"/forms/{form['id']}", {"consent_text": "Yes, weekly news please."}).json
    assert changed["consent_text"]["version"] == 2 and changed["consent_text"]["text"] == "Yes, weekly news please."
    assert changed["translations"]["id"]["consent_text"]["version"] == 2
    assert changed["translations"]["id"]["consent_text"]["text"] == ID


def test_a_form_patch_clears_the_heading_and_removes_a_locale(made):
    _account, call, _list, form = made
    changed = call("PATCH", f"/forms/{form['id']}", {"heading": None, "translations": {"id": None}}).json
    assert changed["heading"] is None and changed["translations"] == {}
    assert changed["consent_text"]["version"] == 2  # the Indonesian words are no longer offered


def test_a_list_patch_changes_and_removes_translations(made):
    _account, call, mailing_list, _form = made
    changed = call("PATCH", f"/lists/{mailing_list['id']}", {"description": None,
                                                             "translations": {"id": {"name": "Kabar"}}})
    assert changed.status_code == 200, changed.json
    assert changed.json["description"] is None and changed.json["name"] == "Weekly news"
    assert changed.json["translations"] == {"id": {"name": "Kabar"}}
    removed = call("PATCH", f"/lists/{mailing_list['id']}", {"translations": {"id": None}}).json
    assert removed["translations"] == {}


def test_a_patch_with_an_unknown_locale_changes_nothing(made):
    _account, call, mailing_list, form = made
    response = call("PATCH", f"/forms/{form['id']}", {"name": "X", "translations": {"xx": {"heading": "?"}}})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["details"][0]["loc"] == ["translations", "xx"]
    assert call("GET", f"/forms/{form['id']}").json == form


def test_another_accounts_list_and_form_are_not_found(made, client, create_account, account_auth):
    _account, _call, mailing_list, form = made
    other = create_account()
    headers = account_auth(other)
    for path, body in [(f"/lists/{mailing_list['id']}", {"name": "Mine"}), (f"/forms/{form['id']}", {"name": "Mine"})]:
        for method in ("GET", "PATCH"):
            response = client.open(_base(other) + path, method=method, headers=headers,
                                   json=body if method == "PATCH" else None)
            assert response.status_code == 404, (method, path)
            assert response.json["error"]["code"] == "not_found"


def test_a_redirect_patched_off_the_allowed_origins_is_refused(made):
    _account, call, _list, form = made
    response = call("PATCH", f"/forms/{form['id']}", {"redirect_url": "https://evil.example/"})
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    ok = call("PATCH", f"/forms/{form['id']}", {"allowed_origins": ["https://shop.example"],
                                                "redirect_url": "https://shop.example/thanks"}).json
    assert ok["redirect_url"] == "https://shop.example/thanks" and ok["allowed_origins"] == ["https://shop.example"]
