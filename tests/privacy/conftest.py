"""A person with data in every table, and a bystander whose data must never be touched."""
import hashlib
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from portal.complaints.models import Complaint, FeedbackReport
from portal.consent.operations import record
from portal.extensions import db
from portal.links import Target, preferences_url
from portal.outbox.operations import enqueue_mail
from portal.subscriptions.models import SignupRequest
from portal.suppression import operations as suppression
from portal.webhooks import operations as webhooks


@dataclass
class Person:
    contact: object
    account: object
    lists: list
    email: str
    name: str
    ip: str
    user_agent: str
    page_url: str
    complaint_text: str

    @property
    def preferences_path(self) -> str:
        return preferences_url(Target(self.contact.id)).split("https://portal.test", 1)[1]

    def needles(self) -> list[str]:
        return [self.email.lower(), self.name.lower(), self.ip, self.user_agent.lower(), self.complaint_text.lower()]


def _raw_report(address: str) -> bytes:
    return (f"From: fbl@isp.example\r\nTo: abuse@portal.test\r\nSubject: complaint\r\n"
            f"Content-Type: text/plain\r\n\r\nOriginal-Rcpt-To: {address}\r\n").encode()


def build_person(account, lists, form, *, email, name, ip, tag, factories):
    """A contact with signups, events, complaints, suppressions, outbox rows and reports."""
    contact = factories.create_contact(account, email=email, name=name)
    user_agent, page_url = f"Mozilla/5.0 ({tag}Browser)", f"https://shop.example/signup?ref={tag}"
    complaint_text = f"I never asked for this, {tag} speaking"
    factories.create_subscription(contact, lists[0])
    factories.create_subscription(contact, lists[1], status="pending")
    text_id = form.consent_text.id
    request = SignupRequest(contact_id=contact.id, form_id=form.id, consent_text_id=text_id,
                            list_ids=[lists[1].id], evidence={"form_id": form.id, "ip": ip, "locale": "id",
                                                              "page_url": page_url})
    db.session.add(request)
    record("signup_requested", contact=contact, source=f"form:{form.id}", list_id=lists[1].id, ip=ip,
           user_agent=user_agent, page_url=page_url, consent_text_id=text_id,
           evidence={"form_id": form.id, "consent_text_version": 1})
    record("confirmation_sent", contact=contact, source="outbox", list_id=lists[1].id)
    db.session.add(Complaint(account_id=account.id, contact_id=contact.id, list_id=lists[0].id,
                             category="not_requested", text=complaint_text, source="web",
                             evidence={"ip": ip}))
    suppression.add(contact.email, scope="list", reason="unsubscribed", account_id=account.id,
                    list_id=lists[0].id, source="unsubscribe")
    webhooks.emit(account.id, "unsubscribed", {"email": contact.email, "list_id": lists[0].id})
    enqueue_mail("erase_confirm", to=contact.email, account_id=account.id,
                 context={"account": account, "erase_url": "https://portal.test/erase/x", "valid_days": 7})
    raw = _raw_report(email.upper())
    db.session.add(FeedbackReport(raw=raw, raw_sha256=hashlib.sha256(raw).hexdigest(), feedback_type="abuse",
                                  matched=True, account_id=account.id, contact_id=contact.id, action="complaint",
                                  details={"original_rcpt_to": email, "source_ip": "192.0.2.1"}))
    raw = _raw_report(email) + b"unmatched"
    db.session.add(FeedbackReport(raw=raw, raw_sha256=hashlib.sha256(raw).hexdigest(), feedback_type="other",
                                  matched=False, action="review", details={"note": f"about {email}"}))
    db.session.commit()
    return Person(contact, account, lists, contact.email, name, ip, user_agent, page_url, complaint_text)


@pytest.fixture
def people(app):
    """(person, bystander): two contacts of one account with data everywhere."""
    from tests import factories

    account = factories.create_account()
    lists = [factories.create_list(account), factories.create_list(account)]
    form = factories.create_form(account, lists=lists, consent_text="Yes, mail me news. Unsubscribe any time.")
    factories.create_webhook(account.id, "unsubscribed")
    person = build_person(account, lists, form, email="Dewi.Lestari@Example.ORG", name="Dewi Lestari",
                          ip="203.0.113.77", tag="Dewi", factories=factories)
    bystander = build_person(account, lists, form, email="budi.santoso@example.net", name="Budi Santoso",
                             ip="198.51.100.23", tag="Budi", factories=factories)
    return person, bystander


def scan(needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text, JSON or binary value holds a needle, any case."""
    hits = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                text = _as_text(value)
                if text is None:
                    continue
                hits += [(table.name, column, n) for n in needles if n.lower() in text]
    return hits


def _as_text(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lower()
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False).lower()
    return None
