"""``/complaint/<token>``: a subscriber reports a message. GET shows the form; POST records it."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext

from portal.complaints import operations
from portal.complaints.forms import ComplaintForm
from portal.errors import FormUnverified
from portal.extensions import csrf, db, limiter
from portal.web import private, use_account

bp = Blueprint("complaints", __name__)


def _post_limit() -> str:
    return current_app.config["PORTAL_COMPLAINT_FORM_LIMIT"]


@bp.route("/complaint/<token>", methods=["GET"])
@private
def complaint_form(token: str):
    """The form; changes nothing (mail scanners fetch every link)."""
    target = operations.load_link(token)
    account = target.contact.account
    use_account(account)
    return render_template("complaints/form.html", form=ComplaintForm(token, "complaint"), account=account,
                           mailing_list=target.mailing_list, address=target.contact.email)


@bp.route("/complaint/<token>", methods=["POST"])
@csrf.exempt
@limiter.limit(_post_limit, methods=["POST"])
@private
def submit_complaint(token: str):
    """Record the complaint; the same answer however often it is sent."""
    target = operations.load_link(token)
    account = target.contact.account
    use_account(account)
    form = ComplaintForm(token, "complaint")
    if not form.validate_on_submit():
        if form.forged:
            raise FormUnverified(gettext("This form could not be checked, so nothing was changed."))
        return render_template("complaints/form.html", form=form, account=account,
                               mailing_list=target.mailing_list, address=target.contact.email), 422
    operations.complain_by_link(token, category=form.category.data, text=form.text.data,
                                ip=request.remote_addr, user_agent=request.user_agent.string)
    db.session.commit()
    return render_template("complaints/done.html", account=account)
