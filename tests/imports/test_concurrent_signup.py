"""A signup of the same address that commits while an import runs (PostgreSQL, where it can):
the import neither fails nor makes a second contact; it takes the signup's contact."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.addresses import email_hash
from portal.consent.operations import verify
from portal.db import utcnow
from portal.extensions import db as _db
from portal.imports.operations import worker
from portal.imports.operations.batch import Batch
from portal.subscriptions.models import Contact, Subscription


def test_a_signup_committed_during_the_import_keeps_one_contact(post_import, create_list, monkeypatch, backend):
    if backend != "postgresql":
        pytest.skip("a second writer during the import's transaction is PostgreSQL's")
    mailing_list = create_list()
    consented = (utcnow() - timedelta(days=3)).date().isoformat()
    post_import(mailing_list, "email,consented_at\n" + "".join(f"p{i}@example.org,{consented}\n" for i in range(3)))
    signed_up = {}
    create_contacts = Batch._create_contacts

    def signup_first(self, new, contacts):
        """After the chunk's lookups found no contact, another transaction creates one and commits."""
        with _db.engine.connect() as other:
            signed_up["id"] = other.execute(Contact.__table__.insert().values(
                account_id=mailing_list.account_id, email="p1@example.org", email_hash=email_hash("p1@example.org"),
                created_at=utcnow()).returning(Contact.__table__.c.id)).scalar()
            other.commit()
        return create_contacts(self, new, contacts)

    monkeypatch.setattr(Batch, "_create_contacts", signup_first)
    record = worker.run_one("t")
    assert record.status == "finished" and record.confirmed == 3, (record.error_code, record.error_message)
    contacts = _db.session.scalars(select(Contact.id).where(
        Contact.account_id == mailing_list.account_id, Contact.email_hash == email_hash("p1@example.org"))).all()
    assert contacts == [signed_up["id"]]  # one contact: the signup's, which the import subscribed
    assert _db.session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.contact_id == signed_up["id"], Subscription.list_id == mailing_list.id)) == 1
    assert verify().ok
