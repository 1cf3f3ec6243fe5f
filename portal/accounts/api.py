"""``/api/v1/accounts``: create, read and update accounts."""
from __future__ import annotations

from sqlalchemy import select

from portal import api
from portal.accounts import operations, policy
from portal.complaints import policy as complaint_policy, rates
from portal.accounts.models import Account
from portal.accounts.schemas import AccountCreate, AccountOut, AccountPage, AccountUpdate
from portal.addresses import normalise
from portal.db import isoformat
from portal.extensions import db


def serialize(account: Account) -> dict:
    """An account as the API answers it, with its status history."""
    return {
        "id": account.id,
        "name": account.name,
        "postal_address": account.postal_address,
        "contact_email": account.contact_email,
        "locale": account.locale,
        "status": account.status,
        "can_send": policy.sending_block(account) is None,
        "sending_block": policy.sending_block(account),
        "created_at": isoformat(account.created_at),
        "status_history": [
            {"from_status": c.from_status, "to_status": c.to_status, "reason": c.reason,
             "actor": c.actor, "evidence": c.evidence, "at": isoformat(c.created_at)}
            for c in account.status_changes
        ],
        "open_review": _review(complaint_policy.open_review(account)),
        "complaint_rates": [rate.as_dict() for rate in rates.current_rates(account.id)],
    }


def _review(review) -> dict | None:
    if review is None:
        return None
    return {"id": review.id, "status": review.status, "opened_at": isoformat(review.opened_at),
            "evidence": review.evidence}


@api.route("/accounts", "POST", summary="Create an account", scopes=api.PLATFORM,
           body=AccountCreate, response=AccountOut, status=201, tag="accounts")
def create_account(body: AccountCreate):
    account = operations.create_account(
        name=body.name, postal_address=body.postal_address,
        contact_email=normalise(body.contact_email), locale=body.locale)
    db.session.commit()
    return serialize(account)


@api.route("/accounts", "GET", summary="List every account", scopes=api.PLATFORM,
           query=api.PageQuery, response=AccountPage, tag="accounts")
def list_accounts(query: api.PageQuery):
    return api.paginate(select(Account), Account.id, query, serialize)


@api.route("/accounts/<account_id>", "GET", summary="Read an account", response=AccountOut, tag="accounts")
def get_account(account: Account):
    return serialize(account)


@api.route("/accounts/<account_id>", "PATCH", summary="Update an account", body=AccountUpdate,
           response=AccountOut, tag="accounts")
def update_account(account: Account, body: AccountUpdate):
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "contact_email" in changes:
        changes["contact_email"] = normalise(changes["contact_email"])
    operations.update_account(account, **changes)
    db.session.commit()
    return serialize(account)
