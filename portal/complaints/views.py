"""``/complaint/<token>``: a subscriber reports a message. GET shows the form; POST records it."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext

from portal.complaints import operations
from portal.complaints.forms import ComplaintForm
from portal.consent.evidence import RequestEvidence
from portal.errors import FormUnverified
from portal.extensions import csrf, limiter
from portal.subscriptions.holders import resolve
from portal.web import private, use_account, writes

bp = Blueprint("complaints", __name__)


def _post_limit() -> str:
    return current_app.config["PORTAL_COMPLAINT_FORM_LIMIT"]


@bp.route("/complaint/<token>", methods=["GET"])
@private
def complaint_form(token: str):
    """The form, or once this message is reported, the report's result; changes nothing (mail
    scanners fetch every link)."""
    holder = resolve("complaint", token)
    account = holder.account
    use_account(account)
    if operations.reported(holder):
        return render_template("complaints/done.html", account=account)
    return render_template("complaints/form.html", form=ComplaintForm(token, "complaint"), account=account,
                           mailing_list=holder.mailing_list, address=holder.contact.email)


@bp.route("/complaint/<token>", methods=["POST"])
@csrf.exempt
@limiter.limit(_post_limit, methods=["POST"])
@private
@writes()
def submit_complaint(token: str):
    """Record the complaint, then answer 303 to the link's GET page, which shows the result
    (Post/Redirect/Get); the same answer however often it is sent."""
    holder = resolve("complaint", token)
    account = holder.account
    use_account(account)
    form = ComplaintForm(token, "complaint")
    if not form.validate_on_submit():
        if form.forged:
            raise FormUnverified(gettext("This form could not be checked, so nothing was changed."))
        return render_template("complaints/form.html", form=form, account=account,
                               mailing_list=holder.mailing_list, address=holder.contact.email), 422
    seen = RequestEvidence(ip=request.remote_addr, user_agent=request.user_agent.string or None)
    operations.complain_by_link(token, category=form.category.data, text=form.text.data, request_evidence=seen)
    return redirect(url_for("complaints.complaint_form", token=token, lang=request.args.get("lang")), code=303)
