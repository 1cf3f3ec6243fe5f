"""Whether an account may send. The complaint policy that moves its status is
:mod:`portal.complaints.policy`."""
from __future__ import annotations

from portal.accounts.models import Account, AccountStatus
from portal.addresses import is_postal_address


def sending_block(account: Account) -> str | None:
    """Why this account may not send at all (a send-check reason), or None when it may."""
    if account.status == AccountStatus.SUSPENDED:
        return "account_suspended"
    if account.status == AccountStatus.DEACTIVATED:
        return "account_deactivated"
    if not is_postal_address(account.postal_address):
        return "no_postal_address"
    return None
