"""The development pages: the dev inbox and the demo customer site (registered by :func:`portal.dev.init_app`)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request

from portal.demo import demo_form
from portal.dev import mail, site
from portal.subscriptions.operations import embed_html, origin_of

mail_bp = Blueprint("dev_mail", __name__, url_prefix="/_dev/mail")
site_bp = Blueprint("dev_site", __name__, url_prefix="/_dev/site")

#: The policy of a mail's HTML in its frame: no script, no form, nothing fetched but inline
#: styles and data images; links may only open the top window or a new one.
FRAMED_MAIL_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; "
                   "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
                   "frame-ancestors 'self'")


@mail_bp.before_request
@site_bp.before_request
def this_machine_only():
    """Refuse other machines unless PORTAL_DEV_ALLOW_REMOTE: the inbox shows every link it mails."""
    from flask_babel import gettext

    from portal import dev
    from portal.errors import Forbidden

    if not dev.allowed():
        raise Forbidden(gettext("The development pages answer this machine only: set "
                                "PORTAL_DEV_ALLOW_REMOTE=1 to open them to other machines."),
                        code="dev_pages_local_only")


@mail_bp.get("")
def inbox():
    """Every mail in the outbox, newest first."""
    return render_template("dev/inbox.html", mails=mail.newest())


@mail_bp.get("/<int:message_id>")
def show(message_id: int):
    """One mail: its headers, its text part and its HTML part in a sandboxed frame."""
    found = mail.get(message_id) or abort(404)
    g.csp_sources = {"frame-src": ["'self'"]}
    return render_template("dev/mail.html", mail=found, text=found.part("plain"), linkify=mail.linkify,
                           has_html=found.part("html") is not None, sent_copy=mail.SENT_COPY)


@mail_bp.get("/<int:message_id>/html")
def show_html(message_id: int):
    """The HTML part alone, for the frame of :func:`show`."""
    found = mail.get(message_id) or abort(404)
    body = found.part("html") or abort(404)
    response = make_response(mail.framed_html(body))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = FRAMED_MAIL_CSP
    return response


@site_bp.get("")
def shop():
    """The pretend shop with the demo form embedded, always on the demo site's own origin."""
    if origin_of(request.host_url) != site.origin():
        return redirect(site.url(), code=302)
    form = demo_form()  # the demo account's, or None before `flask demo` ran: a GET creates nothing
    snippet = embed_html(form) if form is not None else ""
    g.form_action = [site.portal_origin()]
    g.csp_sources = {"style-src": site.style_hashes(snippet)}
    response = make_response(render_template("dev/site.html", snippet=snippet, inbox_url=_inbox_url()))
    # A customer's site has the browsers' default policy, so its form posts carry its Origin
    # (the portal's own no-referrer would make them "Origin: null").
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


@site_bp.get("/thanks")
def thanks():
    """Where the demo form sends the browser after a signup."""
    return render_template("dev/site_thanks.html", inbox_url=_inbox_url())


def _inbox_url() -> str | None:
    """The dev inbox on the portal's origin, when there is one."""
    if current_app.config.get("MAIL_SERVER"):
        return None
    return current_app.config["PORTAL_BASE_URL"] + "/_dev/mail"
