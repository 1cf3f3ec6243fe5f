"""The NDJSON ledger export gives, byte for byte, what its previous implementation gave on the same rows."""
import json
from datetime import datetime, timezone

from sqlalchemy import Text, cast, select

from portal.consent.operations import record
from portal.consent.models import ConsentEvent
from portal.db import isoformat
from portal.extensions import db
from portal.consent import export as consent_export
from portal.privacy.operations import erase_contact
from portal.subscriptions.models import ConsentText

#: The previous implementation's columns: the time and the redaction as the database types them.
OLD_COLUMNS = (ConsentEvent.id, ConsentEvent.contact_id, ConsentEvent.seq, ConsentEvent.type,
               ConsentEvent.occurred_at, ConsentEvent.list_id, ConsentEvent.source, ConsentEvent.actor,
               ConsentEvent.actor_key_id, ConsentEvent.message_ref, ConsentEvent.consent_text_id,
               cast(ConsentEvent.evidence, Text).label("evidence"), ConsentEvent.email, ConsentEvent.ip,
               ConsentEvent.ip_prefix, ConsentEvent.user_agent, ConsentEvent.page_url, ConsentEvent.hash,
               ConsentEvent.prev_hash, ConsentEvent.redacted_at,
               ConsentText.form_id, ConsentText.version.label("text_version"), ConsentText.text.label("text"),
               ConsentText.locale.label("text_locale"))  # the text's language: added with issue 20


def previous_export(account_id) -> bytes:
    """The export as the previous implementation wrote it: json.dumps of each event, one a line."""
    rows = db.session.execute(select(*OLD_COLUMNS).outerjoin(ConsentText, ConsentText.id == ConsentEvent.consent_text_id)
                              .where(ConsentEvent.account_id == account_id).order_by(ConsentEvent.id)).all()
    out = []
    for (event_id, contact_id, seq, type_, occurred_at, list_id, source, actor, actor_key_id, message_ref, text_id,
         evidence, email, ip, prefix, user_agent, page_url, hashed, prev_hash, redacted_at, form_id, text_version,
         text, text_locale) in rows:
        evidence = json.loads(evidence) if evidence else {}
        consent_text = None if text_id is None else {
            "id": text_id, "form_id": form_id, "version": text_version, "locale": text_locale, "text": text}
        out.append(json.dumps({
            "id": event_id, "contact_id": contact_id, "seq": seq, "type": type_,
            "occurred_at": isoformat(occurred_at), "email": email, "list_id": list_id,
            "source": source, "actor": None if actor is None else {"type": actor, "key_id": actor_key_id},
            "form_id": form_id or (evidence or {}).get("form_id"),
            "consent_text": consent_text, "ip": ip, "ip_prefix": prefix, "user_agent": user_agent,
            "page_url": page_url, "message_ref": message_ref, "evidence": evidence or {},
            "redacted": redacted_at is not None, "hash": hashed, "prev_hash": prev_hash},
            ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(out).encode()


def test_the_export_is_byte_for_byte_the_previous_one(app, people, create_contact, monkeypatch):
    person, bystander = people
    contact = person.contact
    times = [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),  # no microseconds: none written
             datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=timezone.utc), datetime(1999, 12, 31, 23, 59, 59, 999999,
                                                                           tzinfo=timezone.utc)]
    for n, when in enumerate(times):
        record("unsubscribed", contact=contact, source="test", list_id=person.lists[0].id, occurred_at=when,
               message_ref=f"<ref {n} ü \" \\ 🎉 \u2028>", user_agent="Agent/ü\x01",
               evidence={"reason": "é \"quoted\"", "nested": {"b": [1, 2.5, None, True]}, "n": n})
    db.session.commit()
    erase_contact(bystander.contact)  # redacted events: nulls where personal data was
    db.session.commit()
    monkeypatch.setattr(consent_export, "PAGE_SIZE", 4)  # several pages
    exported = b"".join(consent_export.export_lines(person.account.id))
    expected = previous_export(person.account.id)
    assert exported.count(b"\n") >= 10 and b'"redacted":true' in exported
    assert exported == expected
    since = datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=timezone.utc)
    kept = [line for line in expected.splitlines(keepends=True)
            if json.loads(line)["list_id"] == person.lists[0].id
            and datetime.fromisoformat(json.loads(line)["occurred_at"].replace("Z", "+00:00")) >= since]
    assert len(kept) >= 2
    assert b"".join(consent_export.export_lines(person.account.id, since=since, list_id=person.lists[0].id)) == \
        b"".join(kept)
