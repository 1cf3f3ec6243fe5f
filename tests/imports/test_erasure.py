"""Erasure reaches the rows an import refused for that address."""
from portal.imports.models import RefusedRow
from portal.privacy.operations import erase_contact


def test_erasure_clears_the_address_from_refused_import_rows(upload, create_list, create_contact,
                                                             create_subscription, db):
    mailing_list = create_list()
    contact = create_contact(mailing_list.account, email="Rina.Wati@example.org")
    create_subscription(contact, mailing_list)
    other = create_list(mailing_list.account)
    response = upload(mailing_list, "email,consented_at\nrina.wati@example.org,2026-11-01\n")
    assert response.status_code == 200
    upload(other, "email\nrina.wati@example.org\n")  # refused as no consent date, another list
    rows = db.session.query(RefusedRow).all()
    assert len(rows) == 2 and all(row.email for row in rows)
    erase_contact(contact)
    db.session.commit()
    db.session.expire_all()
    assert [row.email for row in db.session.query(RefusedRow)] == [None, None]
    assert all(row.reason for row in db.session.query(RefusedRow))  # the reasons stay
