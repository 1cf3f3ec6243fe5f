"""The import's fast path (issue 17): lookups that probe an index per key whatever the statistics,
orjson-encoded ledger hashes, and a mixed file that comes out exactly as it did before."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.consent.operations import event_payload
from portal.consent.models import ConsentEvent
from portal.consent.verify import payload_hash
from portal.db import utcnow
from portal.extensions import db as _db
from portal.imports.operations import batch, jobs
from portal.subscriptions.models import Contact, Subscription
from portal.suppression import operations as suppression


def day(days_ago: int) -> str:
    return (utcnow() - timedelta(days=days_ago)).date().isoformat()


@pytest.fixture
def mixed(create_list, create_contact, create_subscription, db):
    """A list, its account's people in every state an import meets, and a file naming them all."""
    mailing_list = create_list()
    account = mailing_list.account
    other = create_list(account)
    create_subscription(create_contact(account, "old@example.org"), other)          # exists, elsewhere
    create_subscription(create_contact(account, "kept@example.org"), mailing_list)  # already on the list
    create_subscription(create_contact(account, "left@example.org"), other, status="unsubscribed")
    erased = create_contact(account, "erased@example.org")
    erased.erased_at = utcnow()
    suppression.add("global@example.org", scope="global", reason="hard_bounce")
    db.session.commit()
    content = "\n".join([
        "email,name,consented_at,last_contacted_at,source",
        f"ann@example.org,Ann,{day(10)},,shop",                 # 2 new
        f"zoe@example.org,Zoë,{day(9)},,café ☕",               # 3 new, not ASCII (the verifier's own encoder)
        f"Old@example.org,Old,{day(8)},{day(2)},fair",          # 4 existing contact: joins its chain
        f"ann@example.org,Ann,{day(7)},,shop",                  # 5 duplicate, in a later chunk
        f"kept@example.org,,{day(7)},,shop",                    # 6 duplicate: already on the list
        f"left@example.org,,{day(7)},,shop",                    # 7 left every list
        f"erased@example.org,,{day(7)},,shop",                  # 8 erased
        f"global@example.org,,{day(7)},,shop",                  # 9 suppressed
        f"not-an-email,,{day(7)},,shop",                        # 10 invalid
        f"info@example.org,,{day(7)},,shop",                    # 11 role address
        f"stale@example.org,,{day(900)},,shop",                 # 12 stale
        f"nodate@example.org,,,{day(3)},shop",                  # 13 no consent date
        f"x@mailinator.com,,{day(7)},,shop",                    # 14 disposable
        f"bob@example.org,\"Bob \"\"B\"\"\",{day(6)},,\"a\\b\"",  # 15 new: quotes and a backslash
    ]) + "\n"
    return mailing_list, content


#: The outcome of the mixed file, as the import gave it before the fast path (same on both databases).
REFUSED = [(5, "duplicate", "already on this list (pending)"), (6, "duplicate", "already on this list (confirmed)"),
           (7, "suppressed", "unsubscribed from every list of this account"),
           (8, "suppressed", "erased at the person's request"),
           (9, "suppressed", "global suppression: hard_bounce"), (10, "invalid", "not a valid email address"),
           (11, "role_address", "names a role, not a person"),
           (12, "stale", "no consent and no contact within the stale period"),
           (13, "no_consent_date", "no consented_at: permission cannot be shown"),
           (14, "disposable", "a disposable-address domain")]
ACCEPTED = {"ann@example.org": "pending", "zoe@example.org": "pending", "old@example.org": "pending",
            "bob@example.org": "pending", "kept@example.org": "confirmed"}
#: (address as the file gave it, position in the person's chain) of each ``imported`` event, in order.
IMPORTED = [("ann@example.org", 1), ("zoe@example.org", 1), ("Old@example.org", 2), ("bob@example.org", 1)]


@pytest.mark.parametrize("method", ["single_opt_in", "double_opt_in"])
def test_a_mixed_file_comes_out_as_before_and_the_ledger_verifies(mixed, upload, monkeypatch, runner, db, method):
    monkeypatch.setattr(jobs, "CHUNK_SIZE", 3)  # rows 2-4, 5-7...: a duplicate in a later chunk
    mailing_list, content = mixed
    report = upload(mailing_list, content, method=method).json
    confirmed = method == "double_opt_in"
    refused = [(r["row"], r["reason"], r["detail"]) for r in report["refused_rows"]]
    status = "confirmed" if confirmed else "pending"  # of ann, accepted in the first chunk
    assert refused == [(5, "duplicate", f"already on this list ({status})")] + REFUSED[1:]
    assert (report["rows"], report["confirmed"], report["pending"]) == (14, 4 if confirmed else 0,
                                                                         0 if confirmed else 4)
    subscriptions = dict(db.session.execute(
        select(Contact.email, Subscription.status).join(Subscription, Subscription.contact_id == Contact.id)
        .where(Subscription.list_id == mailing_list.id)).all())
    expected = {email: ("confirmed" if confirmed else status) for email, status in ACCEPTED.items()}
    assert subscriptions == expected
    imported = list(db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "imported")
                                       .order_by(ConsentEvent.id)))
    assert [(e.email, e.seq) for e in imported] == IMPORTED
    for event in imported:
        # The stored hash is the verifier's own (json) hash of the payload, and the chain links.
        assert event.hash == payload_hash(event_payload(event))
        assert event.evidence["row"] in (2, 3, 4, 15)
    zoe = next(e for e in imported if e.email == "zoe@example.org")
    assert zoe.evidence["source"] == "café ☕"
    old = list(db.session.scalars(select(ConsentEvent).join(Contact, Contact.id == ConsentEvent.contact_id)
                                  .where(Contact.email == "old@example.org").order_by(ConsentEvent.seq)))
    assert [e.type for e in old] == ["confirmed", "imported"] and old[1].prev_hash == old[0].hash
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "ledger intact" in result.output


def test_lookup_answers_the_rows_of_the_keys_asked_and_nothing_else(create_list, create_contact, db):
    mailing_list = create_list()
    account = mailing_list.account
    ann, bob = create_contact(account, "ann@example.org"), create_contact(account, "bob@example.org")
    create_contact(create_list().account, "ann@example.org")  # the same address in another account
    found = batch.lookup((Contact.id, Contact.email_hash), Contact.email_hash,
                         {ann.email_hash, bob.email_hash, "0" * 64}, Contact.account_id == account.id)
    assert sorted(found) == sorted([(ann.id, ann.email_hash), (bob.id, bob.email_hash)])
    assert batch.lookup((Contact.id,), Contact.email_hash, set(), Contact.account_id == account.id) == []


def _plan(statement) -> str:
    compiled = statement.compile(dialect=_db.engine.dialect)
    rows = _db.session.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(row[0] for row in rows)


def test_lookup_probes_the_unique_index_even_when_the_import_wrote_the_rows(create_list, db, backend):
    """An import's own contacts are not in the statistics until it commits: the planner then thought an
    account had a handful of rows and read them all for every chunk (a quadratic import)."""
    if backend != "postgresql":
        pytest.skip("a PostgreSQL plan")
    account_id = create_list().account_id
    now = utcnow()
    rows = [{"account_id": account_id, "email": f"p{i}@example.org", "email_hash": f"{i:064x}", "name": None,
             "created_at": now} for i in range(20000)]
    batch.write_rows(Contact.__table__, rows)  # uncommitted, as in an import's transaction
    hashes = sorted(row["email_hash"] for row in rows[:2000])
    found = batch.lookup((Contact.id, Contact.email_hash), Contact.email_hash, hashes, Contact.account_id == account_id)
    assert len(found) == 2000
    plan = _plan(batch.probes((Contact.id, Contact.email_hash), Contact.email_hash, hashes,
                              Contact.account_id == account_id))
    assert "Index Scan using uq_contacts_account_id_email_hash on contacts" in plan, plan
    assert "Nested Loop" in plan and "ix_contacts_account_id " not in plan and "Seq Scan on contacts" not in plan


def _prepared_lookups(db) -> int:
    return db.session.execute(text("SELECT count(*) FROM pg_prepared_statements "
                                   "WHERE statement LIKE '%unnest%' AND NOT from_sql")).scalar()


def test_an_import_plans_each_query_for_its_own_values(create_list, db, backend):
    """No statement of an import is prepared (a generic plan cannot see an array's size), and
    plan_cache_mode stays ``auto``: the foreign-key checks of each row written keep their plans."""
    if backend != "postgresql":
        pytest.skip("a PostgreSQL setting")
    account_id = create_list().account_id
    connection = db.session.connection().connection.driver_connection
    threshold = connection.prepare_threshold

    def look_up_eight_times():
        for count in range(1, 9):  # arrays of different sizes, as an import's chunks
            batch.lookup((Contact.id,), Contact.email_hash, [f"{i:064x}" for i in range(count)],
                         Contact.account_id == account_id)

    with jobs.plans_of_their_own():
        assert connection.prepare_threshold is None
        look_up_eight_times()
        assert _prepared_lookups(db) == 0
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    assert connection.prepare_threshold == threshold  # the pool lends the connection on as it was
    look_up_eight_times()  # what the import avoids: psycopg prepares a statement run five times
    assert _prepared_lookups(db) >= 1


def test_lookup_keys_go_as_one_string_and_a_key_with_a_comma_still_matches(create_list, db):
    """PostgreSQL splits the joined keys itself; a key that holds a comma must not be split."""
    account_id = create_list().account_id
    now = utcnow()
    batch.write_rows(Contact.__table__, [
        {"account_id": account_id, "email": f"p{i}@example.org", "email_hash": key, "name": None, "created_at": now}
        for i, key in enumerate(["a,b", "c", "d"])])
    for keys, expected in ((["c", "d", "e"], {"c", "d"}), (["a,b", "c"], {"a,b", "c"}), (["a", "b"], set())):
        found = batch.lookup((Contact.email_hash,), Contact.email_hash, keys, Contact.account_id == account_id)
        assert {row.email_hash for row in found} == expected
