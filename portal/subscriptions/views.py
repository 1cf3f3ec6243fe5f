"""Signup pages (``/f/<form_id>``) and double opt-in confirmation (``/confirm/<token>``)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_timedelta, get_locale, gettext
from werkzeug.exceptions import BadRequest

from portal import links
from portal.addresses import InvalidAddress, mask, normalise, try_normalise
from portal.consent.evidence import RequestEvidence
from portal.errors import FormUnverified, TokenExpired, TokenInvalid, ValidationFailed, error_body
from portal.extensions import csrf, db, limiter
from portal.fields import address_message
from portal.signup import operations as doi
from portal.subscriptions.forms import ConfirmForm, ResendForm, SignupForm
from portal.preferences.forms import manage_form
from portal.subscriptions.models import Form, SignupRequest
from portal.subscriptions.operations import get_form, origin_of
from portal.web import config_limit, private, use_account, writes

#: What the "check your inbox" link's ``to`` is sealed for (see :func:`portal.links.seal`).
INBOX_SEAL = b"check-inbox"

bp = Blueprint("subscriptions", __name__)


def _ip_limit() -> str:
    return current_app.config["PORTAL_SIGNUP_IP_LIMIT"]


def _address_limit() -> str:
    return current_app.config["PORTAL_SIGNUP_ADDRESS_LIMIT"]


def _posted() -> dict:
    """The signup fields, from a JSON body or a form body; a NUL in any of them is a 400, and so
    is a form body that is not UTF-8."""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # JSON nested too deep: treated as no fields, like invalid JSON
            body = None
        fields = {k: v for k, v in body.items() if isinstance(v, str)} if isinstance(body, dict) else {}
    else:
        _refuse_bad_utf8()
        fields = request.form.to_dict()
    if any("\0" in value for value in fields.values()):
        raise BadRequest("The request contains a NUL character.")
    return fields


def _refuse_bad_utf8() -> None:
    """A form body whose percent-encoded bytes are not UTF-8 is a 400 (werkzeug would keep them
    as ``%FF`` text, and ``%FF@example.org`` is an address of its own). The body is bounded."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return
    try:
        parse_qsl(request.get_data(cache=True).decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("The request is not valid UTF-8.") from None


def _address_key() -> str:
    """The per-address rate-limit key: the hash-free normalised address, lower-cased."""
    raw = _posted().get("email", "")
    try:
        return "signup-address:" + normalise(raw).lower()
    except InvalidAddress:
        return "signup-address:" + raw.strip().lower()[:320]


def _evidence(signup_form: Form, form: SignupForm) -> RequestEvidence:
    page_url = (doi.trusted_page_url(signup_form, form.page_url.data)
                or doi.trusted_page_url(signup_form, request.referrer))
    return RequestEvidence(ip=request.remote_addr, user_agent=request.user_agent.string or None,
                           page_url=page_url)


@bp.after_request
def _cors(response):
    """CORS for the signup endpoint, only for the form's allowed origins."""
    origin = request.headers.get("Origin")
    if request.endpoint not in ("subscriptions.signup", "subscriptions.signup_page") or not origin:
        return response
    signup_form = db.session.get(Form, (request.view_args or {}).get("form_id"))
    if signup_form is None or origin_of(origin) != origin or origin not in (signup_form.allowed_origins or []):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _embeddable(signup_form: Form) -> None:
    """Let the form's allowed origins frame its pages, and its form post (and redirect) there."""
    g.frame_ancestors = list(signup_form.allowed_origins or [])
    redirect_origin = origin_of(signup_form.redirect_url) if signup_form.redirect_url else None
    if redirect_origin in g.frame_ancestors:
        g.form_action = [redirect_origin]


@bp.get("/f/<form_id>")
def signup_page(form_id: str):
    """The hosted signup page."""
    signup_form = get_form(form_id)
    use_account(signup_form.account)
    _embeddable(signup_form)
    return render_template("subscriptions/signup.html", form=SignupForm(), signup_form=signup_form,
                           account=signup_form.account)


@bp.post("/f/<form_id>")
@csrf.exempt
@limiter.limit(_ip_limit)
@limiter.limit(_address_limit, key_func=_address_key)
@writes(min_seconds="PORTAL_SIGNUP_MIN_SECONDS")
def signup(form_id: str):
    """A signup: the same answer, in the same time, for every address that is valid (SPEC section 3)."""
    signup_form = get_form(form_id)
    use_account(signup_form.account)
    _embeddable(signup_form)
    form = SignupForm(formdata=_formdata())
    # Where to send the browser, read before the commit (``writes``, once this returns): nothing
    # after it touches the database, so a committed signup is always answered as one.
    target = signup_form.redirect_url
    if not target or origin_of(target) not in (signup_form.allowed_origins or []):
        target = _check_inbox_url(signup_form, form)
    if not form.website.data:
        if not form.validate():
            return _invalid(signup_form, form)
        try:
            doi.request_signup(signup_form, email=form.email.data, name=form.name.data,
                                  evidence=_evidence(signup_form, form), locale=str(get_locale() or "en"))
        except InvalidAddress:
            form.email.errors = [address_message(form.email.data)]
            return _invalid(signup_form, form)
    if request.is_json:
        return jsonify(status="pending_confirmation"), 202
    return redirect(target, code=303)


def _check_inbox_url(signup_form: Form, form: SignupForm) -> str:
    """The "check your inbox" page of this signup: the address masked and sealed (no one who sees
    the URL reads even that), and the site the signup came from when it is one of the form's."""
    masked = mask(try_normalise(form.email.data or ""))
    page = (doi.trusted_page_url(signup_form, form.page_url.data)
            or doi.trusted_page_url(signup_form, request.referrer))
    site = origin_of(page) if page and origin_of(page) in (signup_form.allowed_origins or []) else None
    return url_for("subscriptions.check_inbox", form_id=signup_form.id,
                   to=links.seal(masked, INBOX_SEAL) if masked else None, site=site, lang=request.args.get("lang"))


def _formdata():
    from werkzeug.datastructures import MultiDict

    return MultiDict(_posted())


def _invalid(signup_form, form: SignupForm):
    """The form again with each error on its own field (422); for JSON, the API's error shape
    with the first message, translated, and every field's in ``details``."""
    db.session.rollback()
    if request.is_json:
        return jsonify(_json_error(form)), 422
    return render_template("subscriptions/signup.html", form=form, signup_form=signup_form,
                           account=signup_form.account), 422


def _json_error(form: SignupForm) -> dict:
    """``invalid_email`` when the address is wrong, else ``validation_failed``; ``details`` names
    each field (``loc``) with its message (``msg``)."""
    invalid = [field for field in (form.email, form.name) if field.errors]
    code = InvalidAddress.code if form.email.errors else ValidationFailed.code
    details = [{"loc": [field.name], "msg": str(field.errors[0])} for field in invalid]
    return error_body(code, details[0]["msg"], details)


@bp.get("/f/<form_id>/thanks")
def check_inbox(form_id: str):
    """"Check your inbox": shown after every signup, whatever happened."""
    signup_form = get_form(form_id)
    use_account(signup_form.account)
    _embeddable(signup_form)
    masked, site = _unsealed(request.args.get("to")), site_of(signup_form, request.args.get("site"))
    checked = {"to": request.args.get("to") if masked else None,
               "site": site if site == request.args.get("site") else None}
    return render_template("subscriptions/check_inbox.html", account=signup_form.account, signup_form=signup_form,
                           masked=masked, site=site, switch_state=checked,
                           lasts=format_timedelta(current_app.config["PORTAL_CONFIRM_MAX_AGE"], threshold=1.5))


def _unsealed(value: str | None) -> str | None:
    """The masked address a "check your inbox" link carries, or None (absent, or not sealed by us)."""
    try:
        return links.unseal(value, INBOX_SEAL) if value else None
    except TokenInvalid:
        return None


def site_of(signup_form: Form, origin: str | None) -> str | None:
    """The customer's site to go back to: ``origin`` when it is one of the form's allowed origins,
    else the form's first allowed origin; None for a form that names none (never an unchecked URL)."""
    allowed = list(signup_form.allowed_origins or [])
    if origin in allowed:
        return origin
    return allowed[0] if allowed else None


def _expired(error: TokenExpired, token: str):
    """The 410 page with a way to ask for a new link."""
    request_id = _request_id(error.payload)
    account = doi.account_of_request(request_id) if request_id else None
    use_account(account)
    return render_template("subscriptions/expired.html", account=account, token=token,
                           form=ResendForm(token, "resend"), manage_form=manage_form(account)), 410


def _request_id(payload) -> int | None:
    if isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], int):
        return payload[0]
    return None


@bp.get("/confirm/<token>")
@private
def confirm_page(token: str):
    """The link's current state: the question while pending, else what came of it (issue 20);
    a GET (or HEAD, or prefetch) changes nothing."""
    try:
        request_id = links.load_confirm(token)
        outcome = doi.current(request_id)
    except TokenExpired as error:
        return _expired(error, token)
    use_account(outcome.account)
    if outcome.status != "pending":
        return _state(outcome, request_id)
    return render_template("subscriptions/confirm.html", account=outcome.account, lists=outcome.lists,
                           form=ConfirmForm(token, "confirm"), token=token, address=outcome.address)


def _state(outcome: doi.SignupOutcome, request_id: int):
    """The page of a used link: subscribed (with the receipt, the preferences and the site),
    declined (with a way to sign up again) or left since (with "send me a link to manage")."""
    extra: dict = {}
    if outcome.status == "subscribed":
        extra = {"receipt_url": receipt_url(request_id), **next_steps(request_id)}
    elif outcome.status == "declined":
        extra = {"again_url": signup_again(request_id)}
    elif outcome.status == "left":
        extra = {"manage_form": manage_form(outcome.account)}
    return render_template("subscriptions/confirm_done.html", account=outcome.account, lists=outcome.lists,
                           status=outcome.status, address=outcome.address, **extra)


def signup_again(request_id: int) -> str | None:
    """Where a person who said "no" may sign up again: the form's hosted page, else none."""
    signup_request = db.session.get(SignupRequest, request_id)
    form = db.session.get(Form, signup_request.form_id) if signup_request.form_id else None
    return url_for("subscriptions.signup_page", form_id=form.id) if form else None


def next_steps(request_id: int) -> dict[str, str | None]:
    """Where the subscribed page leads: the person's preference centre, and back to the customer's
    site (the origin the signup came from, when it is one of the form's; else the form's own)."""
    signup_request = db.session.get(SignupRequest, request_id)
    form = db.session.get(Form, signup_request.form_id) if signup_request.form_id else None
    page_host = (signup_request.evidence or {}).get("page_host")
    origins = list(form.allowed_origins or []) if form else []
    site = next((origin for origin in origins if urlsplit(origin).hostname == page_host), None)
    return {"preferences_url": links.preferences_url(links.Target(signup_request.contact_id)),
            "site": site or (origins[0] if origins else None)}


@bp.post("/confirm/<token>")
@csrf.exempt
@limiter.limit(config_limit("PORTAL_CONFIRM_IP_LIMIT"))
@private
@writes()
def confirm(token: str):
    """Confirm (or, with "No thanks", decline) the signup request the link is bound to, then
    answer 303 to the link's GET page, which shows the result (Post/Redirect/Get)."""
    try:
        request_id = links.load_confirm(token)
    except TokenExpired as error:
        return _expired(error, token)
    form = ConfirmForm(token, "confirm")
    if not form.validate_on_submit():
        raise FormUnverified(gettext("This form could not be checked, so nothing was changed."))
    evidence = RequestEvidence(ip=request.remote_addr, user_agent=request.user_agent.string or None)
    operation = doi.decline if form.decline.data else doi.confirm
    operation(request_id, evidence=evidence)
    return redirect(_state_url(token), code=303)


def _state_url(token: str) -> str:
    """The GET page of the link (Post/Redirect/Get), in the language the form was posted in."""
    lang = request.args.get("lang")
    return url_for("subscriptions.confirm_page", token=token,
                   lang=lang if lang in current_app.config["PORTAL_LOCALES"] else None)


def receipt_url(request_id: int) -> str | None:
    """The consent receipt link of the request's contact."""
    from portal.receipts.operations import receipt_token
    from portal.subscriptions.models import SignupRequest

    signup_request = db.session.get(SignupRequest, request_id)
    return url_for("receipts.receipt_page", token=receipt_token(signup_request.contact_id)) if signup_request else None


def _resend_limit() -> str:
    return current_app.config["PORTAL_RESEND_IP_LIMIT"]


@bp.post("/confirm/<token>/resend")
@csrf.exempt
@private
@limiter.limit(_resend_limit)
@writes()
def resend(token: str):
    """Send a new link for an expired one, then answer 303 to the GET page of its result
    (Post/Redirect/Get); the same answer whatever was done."""
    request_id = _any_request_id(token)
    if not ResendForm(token, "resend").validate_on_submit():
        raise FormUnverified(gettext("This form could not be checked, so nothing was changed."))
    doi.resend(request_id, locale=str(get_locale() or "en"))
    return redirect(url_for("subscriptions.resent", token=token, lang=request.args.get("lang")), code=303)


@bp.get("/confirm/<token>/resent")
@private
def resent(token: str):
    """The resend's answer: the same page whether or not a link was due; changes nothing."""
    account = doi.account_of_request(_any_request_id(token))
    use_account(account)
    return render_template("subscriptions/resent.html", account=account)


def _any_request_id(token: str) -> int:
    """The request a confirmation link names, expired or not; :class:`TokenInvalid` for anything else."""
    try:
        request_id = links.load_confirm(token)
    except TokenExpired as error:
        request_id = _request_id(error.payload)
    if request_id is None:
        raise TokenInvalid()
    return request_id
