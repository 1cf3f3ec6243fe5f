"""Publishing a privacy notice version called directly: the version, its planned mailing, nothing mailed yet."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.consent.notices import notice_document
from portal.consent.verify import notice_digest
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.notices import operations
from portal.notices.models import NoticeMailing, PrivacyNotice
from tests.conftest import outbox

LATER = timedelta(days=30)
CONTENT = {"en": {"url": "https://shop.example/privacy"}, "id": {"text": "Kami memproses alamat email Anda."}}


@pytest.fixture
def audience(create_list, create_contact, create_subscription):
    """A list with two confirmed contacts and one pending."""
    mailing_list = create_list()
    for status in ("confirmed", "confirmed", "pending"):
        create_subscription(create_contact(mailing_list.account), mailing_list, status=status)
    return mailing_list


def test_publish_stores_the_version_and_plans_its_mailing_to_the_confirmed_contacts(audience):
    account = audience.account
    notice = operations.publish(account, effective_at=utcnow() + LATER, content=CONTENT, published_by="operator:ana")

    stored = db.session.get(PrivacyNotice, notice.id)
    assert (stored.owner, stored.account_id, stored.version) == (f"account:{account.id}", account.id, 1)
    assert stored.content == {"en": {"url": "https://shop.example/privacy", "text": None},
                              "id": {"url": None, "text": "Kami memproses alamat email Anda."}}
    assert stored.published_by == "operator:ana" and stored.sha256 == notice_digest(notice_document(stored))
    mailing = db.session.scalars(select(NoticeMailing)).one()
    assert (mailing.notice_id, mailing.recipients, mailing.queued, mailing.status) == (notice.id, 2, 0, "running")
    assert outbox() == []  # the mails are released later, a chunk a minute, by the outbox worker


def test_versions_count_per_owner_and_the_platform_has_its_own(audience):
    account = audience.account
    platform = operations.publish(None, effective_at=utcnow() + LATER, content=CONTENT, published_by="x")
    first = operations.publish(account, effective_at=utcnow() + LATER, content=CONTENT, published_by="x")
    second = operations.publish(account, effective_at=utcnow() + LATER, content=CONTENT, published_by="x")
    again = operations.publish(None, effective_at=utcnow() + LATER, content=CONTENT, published_by="x")

    assert (first.version, second.version) == (1, 2)
    assert [(n.owner, n.account_id, n.version) for n in (platform, again)] == [("platform", None, 1),
                                                                               ("platform", None, 2)]
    recipients = dict(db.session.execute(select(NoticeMailing.notice_id, NoticeMailing.recipients)).all())
    # The platform's notice concerns the contacts of accounts without their own: none once this one has one.
    assert [recipients[n.id] for n in (platform, first, second, again)] == [2, 2, 2, 0]


def test_a_version_taking_effect_before_its_mails_and_lead_time_is_refused(audience):
    with pytest.raises(ValidationFailed) as caught:
        operations.publish(audience.account, effective_at=utcnow() + timedelta(hours=1), content=CONTENT,
                           published_by="x")
    assert caught.value.code == "effective_too_soon" and caught.value.details["recipients"] == 2
    assert db.session.scalars(select(PrivacyNotice)).all() == []
    assert db.session.scalars(select(NoticeMailing)).all() == []


@pytest.mark.parametrize("content, code", [
    ({"fr": {"url": "https://shop.example/privacy"}}, "invalid_locale"),
    ({"en": {}}, "empty_notice"),
    ({"en": {"url": "ftp://shop.example/privacy"}}, "invalid_url"),
    ({"en": {"url": "/privacy"}}, "invalid_url"),
])
def test_bad_content_is_refused_naming_why_and_stores_nothing(create_account, content, code):
    with pytest.raises(ValidationFailed) as caught:
        operations.publish(create_account(), effective_at=utcnow() + LATER, content=content, published_by="x")
    assert caught.value.code == code
    assert db.session.scalars(select(PrivacyNotice)).all() == []


def test_publish_flushes_and_leaves_the_commit_to_its_caller(create_account):
    # On SQLite too: publish's SAVEPOINT, opened after reads alone, used to become the transaction
    # (pysqlite began one only before a write) and its RELEASE committed the version.
    operations.publish(create_account(), effective_at=utcnow() + LATER, content=CONTENT, published_by="x")
    db.session.rollback()
    assert db.session.scalars(select(PrivacyNotice)).all() == []
