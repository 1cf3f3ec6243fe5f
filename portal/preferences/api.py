"""Links and headers per recipient, the footer, the message check and inbound mailto unsubscribes."""
from __future__ import annotations

from flask import request

from portal import api
from portal.accounts.models import Account
from portal.preferences import headers, messages, operations
from portal.preferences.schemas import (CheckResult, FooterOut, InboundQuery, InboundResult, LinksRequest,
                                        LinksResponse, MessageCheck)
from portal.subscriptions.operations import get_list


@api.route("/accounts/<account_id>/unsubscribe-links", "POST", body=LinksRequest, response=LinksResponse,
           summary="Unsubscribe, preferences and complaint links and List-Unsubscribe headers per recipient",
           tag="unsubscribe")
def unsubscribe_links(account: Account, body: LinksRequest):
    mailing_list = get_list(account, body.list_id)
    recipients = [headers.Recipient(item.email, item.message_id) for item in body.recipients]
    result = operations.recipient_links(account, mailing_list, recipients)
    return {"recipients": result}


@api.route("/accounts/<account_id>/footer", "GET", response=FooterOut, tag="unsubscribe",
           summary="The mandatory footer (HTML and text) with the postal address and {{unsubscribe_url}}")
def footer(account: Account):
    return messages.footer(account)


@api.route("/accounts/<account_id>/messages/check", "POST", body=MessageCheck, response=CheckResult,
           tag="unsubscribe", summary="Check a message for unsubscribe link, postal address, headers and restricted content")
def check_message(account: Account, body: MessageCheck):
    problems = messages.check(account, body.html, body.text, body.headers)
    # a message with restricted content is kept for the compliance console (committed by api.route)
    # ``ok`` answers "may it be sent": only blocking problems say no; flags ask for review.
    return {"ok": not any(p.severity == messages.BLOCK for p in problems),
            "review": any(p.severity == messages.REVIEW for p in problems),
            "problems": [_problem(p) for p in problems]}


def _problem(problem) -> dict:
    phrases = getattr(problem, "phrases", None)
    return {"code": problem.code, "message": problem.message, "severity": problem.severity,
            **({"phrases": list(phrases)} if phrases else {})}


@api.route("/inbound/unsubscribe", "POST", scopes=api.PLATFORM, raw_body="message/rfc822",
           query=InboundQuery, response=InboundResult, status=202, tag="unsubscribe",
           summary="A mail sent to a List-Unsubscribe mailto: address (raw bytes); unsubscribes by its token")
def inbound_unsubscribe(query: InboundQuery):
    result = operations.unsubscribe_by_mail(request.get_data(), query.recipient)
    return result.as_dict()
