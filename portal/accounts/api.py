"""``/api/v1/accounts``: create, read and update accounts."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import api
from portal.accounts import operations, policy
from portal.complaints import policy as complaint_policy, rates
from portal.accounts.models import Account
from portal.accounts.schemas import AccountCreate, AccountOut, AccountPage, AccountUpdate
from portal.addresses import normalise
from portal.db import isoformat


def serialize(account: Account) -> dict:
    """An account as the API answers it, with its status history."""
    return _serialize(account, complaint_policy.open_review(account), rates.current_rates(account.id))


def serialize_page(accounts: list[Account]) -> list[dict]:
    """A page of accounts as :func:`serialize` answers each, in a constant number of queries.

    Their status histories come with the page (``selectinload``), their open reviews and
    complaint rates in grouped queries for the whole page.
    """
    ids = [account.id for account in accounts]
    reviews = complaint_policy.open_reviews(ids)
    windows = rates.current_rates_by_account(ids)
    return [_serialize(account, reviews.get(account.id), windows[account.id]) for account in accounts]


def _serialize(account: Account, review, window_rates) -> dict:
    block = policy.sending_block(account)
    return {
        "id": account.id,
        "name": account.name,
        "display_name": account.display_name,
        "accent_colour": account.accent_colour,
        "postal_address": account.postal_address,
        "contact_email": account.contact_email,
        "locale": account.locale,
        "status": account.status,
        "can_send": block is None,
        "sending_block": block,
        "created_at": isoformat(account.created_at),
        "status_history": [
            {"from_status": c.from_status, "to_status": c.to_status, "reason": c.reason,
             "actor": c.actor, "evidence": c.evidence, "at": isoformat(c.created_at)}
            for c in account.status_changes
        ],
        "open_review": _review(review),
        "complaint_rates": [rate.as_dict() for rate in window_rates],
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
        contact_email=normalise(body.contact_email), locale=body.locale, display_name=body.display_name,
        accent_colour=body.accent_colour)
    return serialize(account)


@api.route("/accounts", "GET", summary="List every account", scopes=api.PLATFORM,
           query=api.PageQuery, response=AccountPage, tag="accounts")
def list_accounts(query: api.PageQuery):
    page = api.paginate(select(Account).options(selectinload(Account.status_changes)), Account.id, query,
                        lambda account: account)
    return {**page, "items": serialize_page(page["items"])}


@api.route("/accounts/<account_id>", "GET", summary="Read an account", response=AccountOut, tag="accounts")
def get_account(account: Account):
    return serialize(account)


@api.route("/accounts/<account_id>", "PATCH", summary="Update an account", body=AccountUpdate,
           response=AccountOut, tag="accounts")
def update_account(account: Account, body: AccountUpdate):
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for name in ("display_name", "accent_colour"):  # null clears them
        if name in body.model_fields_set:
            changes[name] = getattr(body, name)
    if "contact_email" in changes:
        changes["contact_email"] = normalise(changes["contact_email"])
    operations.update_account(account, **changes)
    return serialize(account)
