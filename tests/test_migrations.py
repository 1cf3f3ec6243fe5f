"""The migrations build exactly the models' schema, and go down and up again."""
import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(app):
    db.engine.dispose()
    flask_migrate.downgrade(revision="base")
    flask_migrate.upgrade()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []


def test_the_complaint_rates_migration_counts_earlier_deliveries_by_the_hour(app, create_account):
    """Deliveries reported before delivery_counts existed are counted into it, per account and hour."""
    from datetime import datetime, timezone

    from sqlalchemy import insert, select

    from portal.complaints import rates
    from portal.suppression.models import DeliveryCount, DeliveryEvent

    account_id = create_account().id
    at = [datetime(2026, 11, 30, 9, 5, tzinfo=timezone.utc), datetime(2026, 11, 30, 9, 55, tzinfo=timezone.utc),
          datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc)]
    db.session.remove()
    db.engine.dispose()
    flask_migrate.downgrade(revision="a7c3e9d21b44")
    db.session.execute(insert(DeliveryEvent), [
        {"account_id": account_id, "message_id": f"<m{i}>", "type": kind, "email_hash": f"{i:064x}", "at": when,
         "created_at": when} for i, (kind, when) in enumerate(
            [("delivered", at[0]), ("delivered", at[1]), ("delivered", at[2]), ("hard_bounce", at[2])])])
    db.session.commit()
    db.engine.dispose()
    flask_migrate.upgrade()
    counts = db.session.execute(select(DeliveryCount.hour, DeliveryCount.delivered)
                                .order_by(DeliveryCount.hour)).all()
    assert counts == [(datetime(2026, 11, 30, 9, tzinfo=timezone.utc), 2),
                      (datetime(2026, 11, 30, 10, tzinfo=timezone.utc), 1)]
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    assert [r.delivered for r in rates.current_rates(account_id, now=now)] == [3, 3]
    # and a delivery reported now lands in the same hour's row
    from types import SimpleNamespace

    from portal.suppression.operations import record_events

    from portal.accounts.models import Account

    record_events(db.session.get(Account, account_id), [SimpleNamespace(email="a@example.org", message_id="<new>", type="delivered",
                                            at=datetime(2026, 11, 30, 9, 30, tzinfo=timezone.utc))])
    db.session.commit()
    assert db.session.scalar(select(DeliveryCount.delivered).where(
        DeliveryCount.hour == datetime(2026, 11, 30, 9, tzinfo=timezone.utc))) == 3


def test_the_history_ledger_migration_chains_earlier_changes_and_guards_them(app, create_account):
    """Status changes recorded before the chain existed are chained in id order, per account, and
    the guards then refuse to change them."""
    from datetime import datetime, timezone

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from portal.accounts import history
    from portal.accounts.models import AccountStatusChange

    first, second = create_account().id, create_account().id
    db.session.remove()
    db.engine.dispose()
    flask_migrate.downgrade(revision="c19e0a7f3b21")
    at = datetime(2026, 11, 30, 9, 5, 7, 123456, tzinfo=timezone.utc)
    with db.engine.begin() as conn:
        for account_id, from_status, to_status, actor in (
                (first, "active", "warned", "system"), (second, "active", "warned", "system"),
                (first, "warned", "suspended", "system"), (first, "suspended", "active", "operator:ana")):
            conn.execute(text("INSERT INTO account_status_changes (account_id, from_status, to_status, reason, "
                              "evidence, actor, created_at) VALUES (:a, :f, :t, 'complaint', :e, :actor, :at)"),
                         {"a": account_id, "f": from_status, "t": to_status, "actor": actor, "at": at,
                          "e": '{"note": "ok", "rates": [{"rate": 0.0015}]}'})
    db.engine.dispose()
    flask_migrate.upgrade()
    rows = db.session.scalars(select_changes(AccountStatusChange, first)).all()
    assert [(r.seq, r.to_status) for r in rows] == [(1, "warned"), (2, "suspended"), (3, "active")]
    assert rows[0].prev_hash == history.GENESIS and rows[2].prev_hash == rows[1].hash
    assert history.verify(first).intact and history.verify(second).changes == 1 and history.verify(second).intact
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("UPDATE account_status_changes SET note = 'x'"))
    db.session.rollback()


def select_changes(model, account_id):
    from sqlalchemy import select

    return select(model).where(model.account_id == account_id).order_by(model.seq)


def test_the_content_migration_gives_each_consent_text_its_accounts_locale(app, create_account):
    """Consent texts written before per-locale texts were in their account's language (issue 20);
    lists and forms get empty translations."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from portal.subscriptions.models import ConsentText, Form, MailingList

    indonesian, english = create_account(locale="id").id, create_account(locale="en").id
    db.session.remove()
    db.engine.dispose()
    flask_migrate.downgrade(revision="b20d8f2c5a12")
    at = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with db.engine.begin() as conn:
        for account_id in (indonesian, english):
            conn.execute(text("INSERT INTO lists (id, account_id, name, created_at) VALUES (:id, :a, 'L', :at)"),
                         {"id": f"l{account_id}"[:32], "a": account_id, "at": at})
            conn.execute(text("INSERT INTO forms (id, account_id, name, allowed_origins, created_at) "
                              "VALUES (:id, :a, 'F', '[]', :at)"), {"id": f"f{account_id}"[:32], "a": account_id, "at": at})
            for version in (1, 2):
                conn.execute(text("INSERT INTO consent_texts (form_id, version, text, created_at) "
                                  "VALUES (:f, :v, 'words', :at)"), {"f": f"f{account_id}"[:32], "v": version, "at": at})
            # a signup that names a text: SQLite's copy of consent_texts must keep it valid
            conn.execute(text("INSERT INTO contacts (account_id, email, email_hash, created_at) "
                              "VALUES (:a, 'p@example.org', :h, :at)"), {"a": account_id, "h": account_id * 2, "at": at})
            conn.execute(text(
                "INSERT INTO signup_requests (contact_id, form_id, consent_text_id, list_ids, source, evidence, "
                "created_at) SELECT contacts.id, consent_texts.form_id, consent_texts.id, '[]', 'form', '{}', :at FROM contacts, "
                "consent_texts WHERE contacts.account_id = :a AND consent_texts.form_id = :f AND version = 2"),
                {"a": account_id, "f": f"f{account_id}"[:32], "at": at})
    db.engine.dispose()
    flask_migrate.upgrade()
    for account_id, locale in ((indonesian, "id"), (english, "en")):
        form = db.session.get(Form, f"f{account_id}"[:32])
        assert [(t.version, t.locale) for t in form.consent_texts] == [(1, locale), (2, locale)]
        assert form.consent_text.version == 2 and form.translations == {} and form.heading is None
        assert db.session.get(MailingList, f"l{account_id}"[:32]).translations == {}
    assert db.session.query(ConsentText).count() == 4
    from portal.subscriptions.models import SignupRequest

    named = [db.session.get(ConsentText, r.consent_text_id) for r in db.session.query(SignupRequest)]
    assert sorted((t.version, t.locale) for t in named) == [(2, "en"), (2, "id")]


def test_the_content_migration_does_not_go_down_over_a_version_in_two_languages(app, create_account, create_form):
    """Each row of a two-language version may be named by the ledger: neither can be dropped."""
    import pytest

    from alembic.migration import MigrationContext as Context

    from portal.subscriptions.models import ConsentText

    create_form(create_account(locale="en"), consent_text="Yes", translations={"id": {"consent_text": "Ya"}})
    db.session.remove()
    db.engine.dispose()
    flask_migrate.downgrade(revision="b20c7e1a4f11")  # the later migrations first: they may go down
    db.engine.dispose()
    with pytest.raises(SystemExit):  # flask_migrate logs the RuntimeError and exits
        flask_migrate.downgrade(revision="b20d8f2c5a12")
    db.engine.dispose()
    with db.engine.connect() as conn:
        assert Context.configure(conn).get_current_revision() == "b20c7e1a4f11"
    assert sorted(t.text for t in db.session.query(ConsentText)) == ["Ya", "Yes"]
