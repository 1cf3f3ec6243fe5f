"""The status history is the ledger of account events: append-only (database guards on both
databases), hash-chained per account, and it carries who decided, the decision and the note."""
import json

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.accounts import history
from portal.accounts import operations as accounts
from portal.accounts.models import AccountStatusChange
from portal.complaints import operations as complaints
from portal.complaints import policy
from tests.complaints.support import review_args
from tests.conftest import webhook_payloads
from tests.ops.conftest import operator, ops_client  # noqa: F401  (fixtures)


def complain(db, create_contact, account, n):
    for i in range(n):
        complaints.file_complaint(create_contact(account), category="not_requested", source="web",
                                  ledger_source="test", message_ref=f"<m{i}@shop.test>")
    db.session.commit()
    db.session.refresh(account)


@pytest.fixture
def hooked(create_account, create_webhook):
    """An account with a webhook endpoint for account_status_changed."""
    account = create_account()
    create_webhook(account.id, "account_status_changed", url="https://hooks.example/portal")
    return account


def bypass_guards(db, backend):
    """Set the database guards aside, as someone with the database's own rights could."""
    if backend == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.session.execute(text("DROP TRIGGER account_status_changes_no_update"))


@pytest.mark.parametrize("statement", [
    lambda: update(AccountStatusChange).values(note="rewritten"),
    lambda: update(AccountStatusChange).values(actor="system"),
    lambda: delete(AccountStatusChange)])
def test_the_database_refuses_to_change_or_delete_the_history(db, create_account, create_contact, statement):
    account = create_account()
    complain(db, create_contact, account, 2)
    with pytest.raises(DBAPIError, match="account_status_changes is append-only"):
        db.session.execute(statement())
    db.session.rollback()
    assert len(db.session.scalars(select(AccountStatusChange)).all()) == 2


def test_the_database_refuses_to_empty_the_history(db, backend, create_account, create_contact):
    complain(db, create_contact, create_account(), 1)
    # PostgreSQL's TRUNCATE; SQLite's own (an unqualified DELETE, which its triggers still see)
    wipe = "TRUNCATE account_status_changes CASCADE" if backend == "postgresql" else "DELETE FROM account_status_changes"
    with pytest.raises(DBAPIError, match="account_status_changes is append-only"):
        db.session.execute(text(wipe))
    db.session.rollback()
    assert len(db.session.scalars(select(AccountStatusChange)).all()) == 1


def test_each_accounts_changes_form_a_hash_chain(db, create_account, create_contact):
    first, second = create_account(), create_account()
    complain(db, create_contact, first, 2)
    complain(db, create_contact, second, 1)
    chain = first.status_changes
    assert [c.seq for c in chain] == [1, 2] and [c.seq for c in second.status_changes] == [1]
    assert chain[0].prev_hash == history.GENESIS and chain[1].prev_hash == chain[0].hash
    assert all(c.hash == history.change_hash(c) for c in chain + second.status_changes)
    check = history.verify(first.id)
    assert (check.intact, check.changes, check.broken_at) == (True, 2, None)


@pytest.mark.parametrize("field, value", [("note", "nothing to see"), ("evidence", {"rule": "none"}),
                                          ("actor", "system"), ("to_status", "deactivated")])
def test_a_change_made_behind_the_guards_breaks_the_chain(db, backend, ops_client, create_account, create_contact,
                                                          field, value):
    account = create_account()
    complain(db, create_contact, account, 2)
    ops_client.post(f"/ops/accounts/{account.id}/decision", data={"decision": "reinstate", "note": "list checked"})
    assert history.verify(account.id).intact
    bypass_guards(db, backend)
    db.session.execute(update(AccountStatusChange).where(AccountStatusChange.seq == 3,  # the operator's decision
                                                         AccountStatusChange.account_id == account.id)
                       .values(**{field: value}))
    db.session.commit()
    check = history.verify(account.id)
    assert (check.intact, check.broken_at) == (False, 3)
    page = ops_client.get(f"/ops/accounts/{account.id}").get_data(as_text=True)
    assert "The status history was changed after it was written: change 3 does not fit its chain." in page


def test_a_deleted_change_breaks_the_chain(db, backend, create_account, create_contact):
    account = create_account()
    complain(db, create_contact, account, 2)
    complaints.decide_review(account, "deactivate", note="bought list", actor="operator:ana")
    db.session.commit()
    if backend == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.session.execute(text("DROP TRIGGER account_status_changes_no_delete"))
    db.session.execute(delete(AccountStatusChange).where(AccountStatusChange.seq == 2))
    db.session.commit()
    assert (history.verify(account.id).intact, history.verify(account.id).broken_at) == (False, 3)


def test_a_console_decision_names_the_operator_in_the_history_and_the_webhook(
        db, hooked, ops_client, create_contact):
    from portal.ops.models import Operator

    complain(db, create_contact, hooked, 2)
    response = ops_client.post(f"/ops/accounts/{hooked.id}/decision",
                               data={"decision": "deactivate", "note": "bought list, no consent shown"})
    assert response.status_code == 303
    operator = db.session.scalars(select(Operator)).one()
    db.session.refresh(hooked)
    change = hooked.status_changes[-1]
    assert (change.actor, change.operator_id, change.decision, change.note) == (
        "operator:ana", operator.id, "deactivate", "bought list, no consent shown")
    assert change.evidence["review_id"] and change.evidence["rates"]
    assert webhook_payloads("account_status_changed")[-1] == {"from_status": "suspended", "to_status": "deactivated", "reason": "review:deactivate",
                            "decided_by": "operator", "operator_id": operator.id, "decision": "deactivate"}
    assert "ana" not in json.dumps(webhook_payloads("account_status_changed"))  # an id, never the operator's name
    page = ops_client.get(f"/ops/accounts/{hooked.id}").get_data(as_text=True)
    assert "bought list, no consent shown" in page and "The status history is intact: 3 changes" in page


def test_warn_again_on_a_warned_account_is_recorded_and_sent(db, hooked, create_contact, create_deliveries):
    create_deliveries(hooked, 1000)
    complain(db, create_contact, hooked, 3)  # 0.3%: warned, and a review opens
    assert hooked.status == "warned" and policy.open_review(hooked) is not None
    complaints.decide_review(hooked, "warn_again", note="permission shown for the list", actor="operator:budi")
    db.session.commit()
    change = hooked.status_changes[-1]
    assert (change.from_status, change.to_status, change.decision, change.note, change.operator_id) == (
        "warned", "warned", "warn_again", "permission shown for the list", None)
    assert webhook_payloads("account_status_changed")[-1] == {"from_status": "warned", "to_status": "warned", "reason": "review:warn_again",
                            "decided_by": "operator", "operator_id": None, "decision": "warn_again"}


def test_the_policys_own_changes_are_sent_as_the_systems(db, hooked, create_contact):
    complain(db, create_contact, hooked, 1)
    assert webhook_payloads("account_status_changed") == [{"from_status": "active", "to_status": "warned", "reason": "complaint",
                         "decided_by": "system", "operator_id": None, "decision": None}]
    change = hooked.status_changes[-1]
    assert (change.actor, change.operator_id, change.decision, change.note) == ("system", None, None, None)


def test_the_cli_names_an_operator_it_knows(db, runner, create_account, create_contact):
    from portal.ops import operations as operators

    operator, _secret = operators.create_operator("budi", "a long enough password")
    db.session.commit()
    known, unknown = create_account(), create_account()
    complain(db, create_contact, known, 2)
    complain(db, create_contact, unknown, 2)
    runner.invoke(args=review_args(known.id, "--decision", "reinstate", "--note", "ok", "--actor", "operator:budi"))
    runner.invoke(args=review_args(unknown.id, "--decision", "reinstate", "--note", "ok", "--actor", "ops:cli"))
    for account, actor, operator_id in ((known, "operator:budi", operator.id), (unknown, "ops:cli", None)):
        db.session.refresh(account)
        change = account.status_changes[-1]
        assert (change.actor, change.operator_id, change.decision, change.note) == (actor, operator_id,
                                                                                    "reinstate", "ok")
        assert history.verify(account.id).intact


def test_change_status_keeps_the_chain_when_called_directly(db, create_account):
    account = create_account()
    accounts.change_status(account, "warned", reason="manual")
    accounts.change_status(account, "warned", reason="manual")  # already there: nothing recorded
    accounts.change_status(account, "active", reason="manual")
    db.session.commit()
    assert [c.seq for c in account.status_changes] == [1, 2] and history.verify(account.id).intact
