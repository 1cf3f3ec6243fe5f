"""``POST .../messages/check`` flags restricted content and records the message for the console."""
from sqlalchemy import select

from portal.screening.models import FlaggedMessage
from portal.screening.operations import html_words

HEADERS = {"List-Unsubscribe": "<https://portal.test/unsubscribe/abc>",
           "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def check(client, account, auth, **body):
    response = client.post(f"/api/v1/accounts/{account.id}/messages/check", headers=auth,
                           json={"headers": HEADERS, **body})
    assert response.status_code == 200, response.json
    return response.json


def restricted(result):
    return [p for p in result["problems"] if p["code"].startswith("restricted_content:")]


def test_restricted_content_is_answered_with_its_category_and_phrases(client, db, create_account, platform_auth):
    account = create_account()
    footer = f"{{{{unsubscribe_url}}}} {account.postal_address}"  # nothing else missing: only the flags
    result = check(client, account, platform_auth, html=f"<p>Slot <b>gacor</b> &amp; judi online</p>{footer}",
                   text=f"Cheap cocaine\n{footer}", headers={**HEADERS, "Subject": "Bonus casino"})
    assert result["ok"] is True and result["review"] is True  # a flag asks for review; it blocks nothing
    assert [(p["code"], p["severity"], p["phrases"]) for p in restricted(result)] == [
        ("restricted_content:gambling", "review", ["casino", "judi", "judi online", "slot gacor"]),
        ("restricted_content:illegal_goods", "review", ["cocaine"])]
    assert "flagged for review" in restricted(result)[0]["message"]
    [flagged] = db.session.scalars(select(FlaggedMessage)).all()
    assert flagged.account_id == account.id and flagged.subject == "Bonus casino"
    assert flagged.matches == {"gambling": ["casino", "judi", "judi online", "slot gacor"],
                               "illegal_goods": ["cocaine"]}
    assert "Cheap cocaine" in flagged.excerpt and flagged.checks == 1


def test_a_flag_beside_a_blocking_problem_is_told_apart(client, db, create_account, platform_auth):
    account = create_account()
    result = check(client, account, platform_auth, text="Main judi online", headers={"Subject": "Bonus"})
    severities = {p["code"]: p["severity"] for p in result["problems"]}
    assert severities["restricted_content:gambling"] == "review"
    assert severities["missing_list_unsubscribe"] == "block" and severities["missing_unsubscribe_link_text"] == "block"
    assert result["ok"] is False and result["review"] is True  # not ok for the blocking problems only


def test_the_same_message_checked_again_is_one_flagged_row(client, db, create_account, platform_auth):
    account = create_account()
    for _ in range(3):
        check(client, account, platform_auth, text="togel hari ini")
    [flagged] = db.session.scalars(select(FlaggedMessage)).all()
    assert flagged.checks == 3


def test_a_clean_message_is_not_flagged(client, db, create_account, platform_auth):
    account = create_account()
    result = check(client, account, platform_auth, text="Our weekly newsletter: classic recipes",
                   html="<p title='casino'>hello</p>")
    assert restricted(result) == [] and db.session.scalars(select(FlaggedMessage)).all() == []
    assert result["review"] is False


def test_html_words_drop_tags_in_one_scan():
    assert html_words("<p>judi</p><a href='x'>online</a>") == " judi  online "
    assert html_words("a < b") == "a "
    assert html_words("x &lt;casino&gt;") == "x <casino>"
