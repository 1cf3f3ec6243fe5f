"""The compliance console's pages (``/ops/``). Every page needs a signed-in operator."""
from __future__ import annotations

import time

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from portal.accounts import history
from portal.accounts.models import Account
from portal.accounts.operations import get_account
from portal.complaints import operations as complaint_operations, policy, rates
from portal.complaints.emails import percent
from portal.complaints.models import Complaint, ComplaintCategory, ReviewCase, ReviewStatus
from portal.errors import PortalError
from portal.extensions import db, limiter
from portal.ops import chart, listing, samples, sessions
from portal.ops.forms import AccountsFilterForm, DecisionForm, SigninForm, SignoutForm
from portal.ops.models import Operator
from portal.ops.operations import SigninFailed, authenticate
from portal.screening.models import FlaggedMessage
from portal.web import writes

bp = Blueprint("ops", __name__, url_prefix="/ops")
login_manager = LoginManager()
login_manager.session_protection = "strong"


@bp.record_once
def _install(state) -> None:
    sessions.install(state.app)
    # No app-wide current_user in templates: loading it would touch the subscriber pages' sessions.
    login_manager.init_app(state.app, add_context_processor=False)


@login_manager.user_loader
def _load_operator(operator_id: str) -> Operator | None:
    operator = db.session.get(Operator, int(operator_id)) if operator_id.isdigit() else None
    return operator if operator is not None and operator.disabled_at is None else None


@login_manager.unauthorized_handler
def _unauthorized():
    return redirect(url_for("ops.signin"))


@bp.before_request
def _require_operator():
    """Every page but the sign-in needs an operator whose session has not run out."""
    if request.endpoint == "ops.signin":
        return None
    hours = current_app.config["PORTAL_OPS_SESSION_HOURS"]
    if current_user.is_authenticated and time.time() - session.get("ops_at", 0) < hours * 3600:
        return None
    current_app.logger.warning("ops page refused without a session: %s %s ip=%s", request.method,
                               request.path[:200], request.remote_addr)
    logout_user()
    return login_manager.unauthorized()


@bp.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError):
    """A console POST without its anti-forgery token: refused (400), changing nothing, logged."""
    current_app.logger.warning("ops request refused: %s %s ip=%s: %s", request.method, request.path[:200],
                               request.remote_addr, error.description)
    return render_template("errors/error.html", status=400, code="csrf", message=error.description), 400


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _helpers() -> dict:
    return {"percent": percent, "category_name": lambda name: ComplaintCategory.NAMES.get(name, name),
            "signout_form": SignoutForm(), "current_user": current_user}


def _failed_signin(response) -> bool:
    return response.status_code == 401


def _signin_username() -> str:
    return "ops-user:" + (request.form.get("username") or "").strip().lower()[:100]


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PORTAL_OPS_SIGNIN_LIMIT"], methods=["POST"],
               deduct_when=_failed_signin)
@limiter.limit(lambda: current_app.config["PORTAL_OPS_SIGNIN_LIMIT"], methods=["POST"],
               deduct_when=_failed_signin, key_func=_signin_username)
@writes()
def signin():
    form = SigninForm()
    if request.method == "GET":
        return render_template("ops/signin.html", form=form)
    if not form.validate_on_submit():  # a field missing or malformed: refused and logged like the rest
        return _signin_refused(form, "invalid form (" + ", ".join(form.errors) + ")")
    try:
        operator = authenticate(form.username.data, form.password.data, form.code.data)
    except SigninFailed as failure:
        db.session.rollback()  # nothing of a refused attempt is kept but its log line
        form.form_errors.append(_("The user name, password or code is not right."))
        return _signin_refused(form, failure.reason)
    session.clear()  # a new session on sign-in: nothing carried over from before
    login_user(operator)
    session["ops_at"] = time.time()
    current_app.logger.info("ops sign-in: user=%s ip=%s", operator.username, request.remote_addr)
    return redirect(url_for("ops.queue"), 303)


def _signin_refused(form: SigninForm, reason: str):
    """Log a refused sign-in (the user name as typed and the reason, never the password or code): 401."""
    current_app.logger.warning("ops sign-in refused: user=%r ip=%s reason=%s", (form.username.data or "")[:100],
                               request.remote_addr, reason)
    return render_template("ops/signin.html", form=form), 401


@bp.route("/signout", methods=["POST"])
def signout():
    if SignoutForm().validate_on_submit():
        logout_user()
        session.clear()
    return redirect(url_for("ops.signin"), 303)


@bp.route("/")
def queue():
    reviews = db.session.execute(select(ReviewCase, Account).join(Account, Account.id == ReviewCase.account_id)
                                 .where(ReviewCase.status == ReviewStatus.OPEN)
                                 .order_by(ReviewCase.opened_at, ReviewCase.id)).all()
    figures = rates.long_window_by_account([account.id for _review, account in reviews])
    return render_template("ops/queue.html", reviews=reviews, figures=figures)


@bp.route("/accounts")
def accounts():
    form = AccountsFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("ops/accounts.html", form=form, page=None, page_url=_page_url,
                               window=rates.windows()[1][0]), 400
    min_rate = float(form.min_rate.data) / 100 if form.min_rate.data else None
    page = listing.accounts_page(status=form.status.data or None, min_rate=min_rate, sort=form.sort.data,
                                 number=form.page.data or 1)
    return render_template("ops/accounts.html", form=form, page=page, page_url=_page_url,
                           window=rates.windows()[1][0])


def _page_url(number: int) -> str:
    """The accounts list's page ``number`` with the same filter and sort."""
    kept = {name: value for name, value in request.args.items() if name != "page" and value}
    return url_for("ops.accounts", page=number, **kept)


def _account_page(account: Account, form: DecisionForm, status: int = 200, error: str | None = None):
    limits = {_("warn"): current_app.config["PORTAL_COMPLAINT_RATE_WARN"],
              _("review"): current_app.config["PORTAL_COMPLAINT_RATE_REVIEW"],
              _("suspend"): current_app.config["PORTAL_COMPLAINT_RATE_SUSPEND"]}
    days = rates.daily(account.id)
    complaints = db.session.scalars(select(Complaint).where(Complaint.account_id == account.id)
                                    .order_by(Complaint.id.desc()).limit(200)).all()
    flagged = db.session.scalars(select(FlaggedMessage).where(FlaggedMessage.account_id == account.id)
                                 .order_by(FlaggedMessage.id.desc()).limit(50)).all()
    return render_template("ops/account.html", account=None, subject=account, form=form, error=error,
                           review=policy.open_review(account), current=rates.current_rates(account.id),
                           history_check=history.verify(account.id),
                           chart=chart.build(days, limits), days=days, complaints=complaints,
                           samples=samples.of_account(account.id), flagged=flagged), status


@bp.route("/accounts/<account_id>")
def account(account_id: str):
    try:
        subject = get_account(account_id)
    except PortalError:
        abort(404)
    return _account_page(subject, DecisionForm(formdata=None))


@bp.route("/accounts/<account_id>/decision", methods=["POST"])
@writes()
def decide(account_id: str):
    try:
        subject = get_account(account_id)
    except PortalError:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        current_app.logger.warning("ops decision refused: user=%s account=%s: %s", current_user.username,
                                   subject.id, "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items()))
        return _account_page(subject, form, 422)
    try:
        complaint_operations.decide_review(subject, form.decision.data, note=form.note.data,
                                           actor=current_user.actor, operator_id=current_user.id)
    except PortalError as error:
        db.session.rollback()
        current_app.logger.warning("ops decision refused: user=%s account=%s decision=%s: %s",
                                   current_user.username, subject.id, form.decision.data, error.message)
        return _account_page(db.session.get(Account, account_id), form, error.status, error.message)
    current_app.logger.info("ops decision: user=%s account=%s decision=%s", current_user.username,
                            subject.id, form.decision.data)
    flash(_("Decision recorded: the account is now %(status)s.", status=subject.status))
    return redirect(url_for("ops.account", account_id=subject.id), 303)


@bp.route("/flagged")
def flagged():
    rows = db.session.execute(select(FlaggedMessage, Account).join(Account, Account.id == FlaggedMessage.account_id)
                              .order_by(FlaggedMessage.id.desc()).limit(200)).all()
    return render_template("ops/flagged.html", rows=rows)
