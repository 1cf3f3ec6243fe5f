"""The imports API: every refusal reason, confirmed and pending rows, reports, refused rows."""
import csv
import io
from datetime import timedelta

from sqlalchemy import func, select

from portal.db import utcnow
from portal.imports.models import Import
from portal.subscriptions.models import Contact, Subscription
from portal.suppression import operations as suppression
from tests.reliability.support import row_counts
from tests.pagetools import refusal


def day(days_ago: int) -> str:
    return (utcnow() - timedelta(days=days_ago)).date().isoformat()


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_refusal_reason_is_reported_with_its_row(upload, client, create_list, create_contact,
                                                       create_subscription, account_auth, db):
    mailing_list = create_list()
    account = mailing_list.account
    on_list = create_subscription(create_contact(account, "kept@example.org"), mailing_list)
    assert on_list.status == "confirmed"
    suppression.add("global@example.org", scope="global", reason="hard_bounce")
    suppression.add("acct@example.org", scope="account", reason="complaint", account_id=account.id)
    suppression.add("lst@example.org", scope="list", reason="unsubscribed", account_id=account.id,
                    list_id=mailing_list.id)
    db.session.commit()
    content = "\n".join([
        "email,name,consented_at,last_contacted_at,source",
        f"ann@example.org,Ann,{day(10)},,shop",                  # 2 accepted
        f"not-an-email,Bob,{day(10)},,shop",                     # 3 invalid
        f"cat@example.org,Cat,last tuesday,,shop",               # 4 invalid (date)
        f"info@example.org,,{day(10)},,shop",                    # 5 role_address
        f"old@example.org,Old,{day(800)},{day(760)},shop",       # 6 stale
        f"never@example.org,Never,,,shop",                       # 7 stale (no dates at all)
        f"global@example.org,,{day(10)},,shop",                  # 8 suppressed
        f"acct@example.org,,{day(10)},,shop",                    # 9 suppressed
        f"lst@example.org,,{day(10)},,shop",                     # 10 suppressed
        f"ANN@Example.org,Ann again,{day(5)},,shop",             # 11 duplicate in the file
        f"kept@example.org,,{day(5)},,shop",                     # 12 duplicate: already confirmed
        f"nodate@example.org,,,{day(30)},shop",                  # 13 no_consent_date
        f"future@example.org,,{(utcnow() + timedelta(days=30)).date()},,shop",  # 14 invalid
        f"throwaway@mailinator.com,,{day(10)},,shop",            # 15 disposable
        f"bell@example.org,Ding\x07,{day(10)},,shop",            # 16 invalid (a control character)
    ]) + "\n"
    response = upload(mailing_list, content)
    assert response.status_code == 200, response.json
    report = response.json
    assert report["rows"] == 15 and report["accepted"] == 1 and report["confirmed"] == 1
    assert report["status"] == "finished" and report["percent"] == 100.0 and report["error"] is None
    assert report["bytes_read"] == report["file_bytes"] == len(content.encode())
    assert report["refused_by_reason"] == {"invalid": 4, "role_address": 1, "stale": 2, "suppressed": 3,
                                           "duplicate": 2, "no_consent_date": 1, "disposable": 1}
    reasons = {row["row"]: row["reason"] for row in report["refused_rows"]}
    assert reasons == {3: "invalid", 4: "invalid", 5: "role_address", 6: "stale", 7: "stale", 8: "suppressed",
                       9: "suppressed", 10: "suppressed", 11: "duplicate", 12: "duplicate",
                       13: "no_consent_date", 14: "invalid", 15: "disposable", 16: "invalid"}
    details = {row["row"]: row["detail"] for row in report["refused_rows"]}
    assert details[15] == "a disposable-address domain" and details[16] == "name holds a control character"
    refused = client.get(report["refused_url"], headers=account_auth(account))
    assert refused.status_code == 200 and refused.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(refused.get_data(as_text=True))))
    assert [(int(line["row"]), line["reason"]) for line in lines] == sorted(reasons.items())
    assert lines[0]["email"] == "not-an-email" and lines[8]["email"] == "ANN@Example.org"
    # Suppressed addresses are never added; the existing subscription is untouched.
    assert count(db, Contact) == 2
    db.session.refresh(on_list)
    assert on_list.status == "confirmed"


def test_double_opt_in_rows_are_confirmed_with_their_consent_date(upload, create_list, db):
    mailing_list = create_list()
    response = upload(mailing_list, f"email,name,consented_at\nann@example.org,Ann,{day(3)}\n")
    assert response.status_code == 200
    subscription = db.session.scalars(select(Subscription)).one()
    assert subscription.status == "confirmed" and subscription.signup_request_id is None
    assert subscription.confirmed_at.date().isoformat() == day(3)
    assert db.session.scalars(select(Contact)).one().name == "Ann"
    from portal.outbox.models import OutboxMessage
    assert count(db, OutboxMessage) == 0


def test_single_opt_in_rows_are_pending_and_get_a_repermission_mail(upload, create_list, db):
    from portal.links import load_confirm
    from portal.outbox.models import OutboxMessage
    from portal.subscriptions.models import SignupRequest

    mailing_list = create_list(name="Weekly deals")
    response = upload(mailing_list, f"email,consented_at\nann@example.org,{day(3)}\n", method="single_opt_in")
    assert response.json["pending"] == 1 and response.json["confirmed"] == 0
    subscription = db.session.scalars(select(Subscription)).one()
    request = db.session.scalars(select(SignupRequest)).one()
    assert subscription.status == "pending" and subscription.signup_request_id == request.id
    assert request.source == "import" and request.form_id is None and request.list_ids == [mailing_list.id]
    assert request.evidence == {"import_id": response.json["id"]}
    from portal.outbox.operations import render_message

    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.kind == "repermission" and message.recipient == "ann@example.org"
    # Stored as a reference (ids, no text), rendered when the outbox sends it.
    assert "text" not in message.payload and message.context["signup_request_id"] == request.id
    payload = render_message(message)
    account = mailing_list.account
    for part in (payload["text"], payload["html"]):
        assert account.name in part and "Weekly deals" in part and "Bandung" in part
        assert "nothing more" in part
    token, _, query = payload["text"].split("https://portal.test/confirm/")[1].split()[0].partition("?")
    assert load_confirm(token) == request.id and query == "lang=en"  # the link opens in the mail's language
    assert f'href="https://portal.test/confirm/{token}?lang=en"' in payload["html"]
    assert payload["message_id"].startswith("<") and account.name in payload["subject"]
    # From the account, sent by the platform; answers go to the account.
    assert payload["sender"] == {"name": f"{account.name} via Consent Portal", "address": "no-reply@localhost",
                                 "reply_to": account.contact_email}


def test_the_repermission_mail_names_the_platform_that_sends_it(upload, create_list, db, app):
    """The mail says who the importer put the address into: the platform's configured name."""
    from portal.outbox.models import OutboxMessage
    from portal.outbox.operations import render_message

    app.config["PORTAL_PLATFORM_NAME"] = "Kirim Mail"
    upload(create_list(), f"email,consented_at\nann@example.org,{day(3)}\n", method="single_opt_in")
    payload = render_message(db.session.scalars(select(OutboxMessage)).one())
    for part in (payload["text"], payload["html"]):
        assert "imported your address into Kirim Mail, which sends" in part and "Consent Portal" not in part


def test_repermission_mails_are_spread_over_minutes(upload, create_list, app, db):
    from portal.outbox.models import OutboxMessage

    app.config["PORTAL_IMPORT_MAILS_PER_MINUTE"] = 2
    mailing_list = create_list()
    rows = "".join(f"p{i}@example.org,{day(3)}\n" for i in range(5))
    assert upload(mailing_list, "email,consented_at\n" + rows, method="other").json["pending"] == 5
    times = [m.next_attempt_at for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    minutes = [round((t - times[0]).total_seconds() / 60) for t in times]
    assert minutes == [0, 0, 1, 1, 2]


def test_ledger_shows_each_imported_contacts_origin(upload, client, create_list, account_auth, runner):
    mailing_list = create_list()
    response = upload(mailing_list, f"Email,Consented_At,Source\nann@example.org,{day(3)},webinar 2026\n")
    ledger = client.get(f"/api/v1/accounts/{mailing_list.account_id}/ledger?email=ann@example.org",
                        headers=account_auth(mailing_list.account)).json
    (event,) = ledger["events"]
    assert event["type"] == "imported" and event["source"] == f"import:{response.json['id']}"
    assert event["list_id"] == mailing_list.id
    evidence = event["evidence"]
    assert evidence["import_id"] == response.json["id"] and evidence["consent_method"] == "double_opt_in"
    assert evidence["source"] == "webinar 2026" and evidence["consented_at"].startswith(day(3))
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "ledger intact" in result.output


def test_existing_contact_gets_the_event_on_its_own_chain(upload, create_list, create_contact,
                                                          create_subscription, runner, db):
    from portal.consent.models import ConsentEvent

    mailing_list = create_list()
    other = create_list(mailing_list.account)
    contact = create_contact(mailing_list.account, "ann@example.org")
    create_subscription(contact, other)  # one "confirmed" event on ann's chain already
    assert upload(mailing_list, f"email,consented_at\nAnn@example.org,{day(3)}\n").json["accepted"] == 1
    events = list(db.session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)
                                     .order_by(ConsentEvent.seq)))
    assert [(e.seq, e.type) for e in events] == [(1, "confirmed"), (2, "imported")]
    assert events[1].prev_hash == events[0].hash
    assert count(db, Contact) == 1
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_left_the_list_or_erased_counts_as_suppressed(upload, create_list, create_contact, create_subscription, db):
    mailing_list = create_list()
    gone = create_contact(mailing_list.account, "gone@example.org")
    create_subscription(gone, mailing_list, status="unsubscribed")
    erased = create_contact(mailing_list.account, "erased@example.org")
    erased.erased_at = utcnow()
    db.session.commit()
    report = upload(mailing_list, f"email,consented_at\ngone@example.org,{day(3)}\nerased@example.org,{day(3)}\n").json
    assert report["refused_by_reason"]["suppressed"] == 2 and report["accepted"] == 0
    assert {r["detail"] for r in report["refused_rows"]} == {"unsubscribed from this list",
                                                             "erased at the person's request"}


def test_duplicates_are_found_across_chunks(upload, create_list, monkeypatch):
    from portal.imports.operations import jobs

    monkeypatch.setattr(jobs, "CHUNK_SIZE", 2)
    mailing_list = create_list()
    content = (f"email,consented_at\nann@example.org,{day(3)}\nsales@example.org,{day(3)}\n"
               f"bob@example.org,{day(3)}\nann@example.org,{day(3)}\nsales@example.org,{day(3)}\n"
               f"old@example.org,{day(900)}\nx@example.org,{day(1)}\nold@example.org,{day(1)}\n")
    report = upload(mailing_list, content).json
    assert report["accepted"] == 3
    assert [(r["row"], r["reason"]) for r in report["refused_rows"]] == [
        (3, "role_address"), (5, "duplicate"), (6, "role_address"), (7, "stale"), (9, "duplicate")]


def test_encodings_separators_quotes_and_header_case(upload, create_list, db):
    mailing_list = create_list()
    name = "Zoë, \"the\" Ångström\nsecond line"
    quoted = '"' + name.replace('"', '""') + '"'
    files = [
        ("\ufeffEMAIL,Name\r\nbom@example.org,Zoë\r\n".encode("utf-8"), "bom@example.org", "Zoë"),
        ("email;name\nsemi@example.org;Zoë\n".encode(), "semi@example.org", "Zoë"),
        ("  E-Mail \tNAME\ntab@example.org\tZoë\n".encode(), "tab@example.org", "Zoë"),
        (f"name,email\n{quoted},quoted@example.org\n".encode(), "quoted@example.org", name),
        ("email,name\nutf16@example.org,Zoë\n".encode("utf-16"), "utf16@example.org", "Zoë"),
    ]
    for data, address, expected_name in files:
        response = upload(mailing_list, data, method="single_opt_in")
        assert response.status_code == 200 and response.json["refused_by_reason"]["stale"] == 1, (address, response.json)
        # no dates: refused as stale, which proves the row was read as one address
    report = upload(mailing_list, f"name,email,consented_at\n{quoted},quoted@example.org,{day(1)}\n").json
    assert report["accepted"] == 1
    assert db.session.scalars(select(Contact)).one().name == name


def test_latin1_is_refused_clearly_and_changes_nothing(upload, create_list, db):
    mailing_list = create_list()
    response = upload(mailing_list, f"email,name,consented_at\nann@example.org,Zoë,{day(1)}\n".encode("latin-1"))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "not_utf8" and "line 2" in response.json["error"]["message"]
    assert count(db, Import) == 0 and count(db, Contact) == 0


def test_unreadable_files_are_422(upload, create_list, db):
    mailing_list = create_list()
    for content, code in [("", "empty_file"), ("\n\n", "empty_file"), ("\ufeff", "empty_file"),
                          ("name,consented_at\nAnn,2026-01-01\n", "missing_email_column")]:
        response = upload(mailing_list, content)
        assert response.status_code == 422 and response.json["error"]["code"] == code, content
    assert count(db, Import) == 0
    header_only = upload(mailing_list, "email\n")
    assert header_only.status_code == 200 and header_only.json["rows"] == 0


def test_bad_requests_are_clear_and_change_nothing(upload, client, create_list, account_auth, db):
    mailing_list = create_list()
    content = f"email,consented_at\nann@example.org,{day(1)}\n"
    assert upload(mailing_list, content, attestation=None).status_code == 422
    assert upload(mailing_list, content, attestation="   ").status_code == 422
    assert upload(mailing_list, content, method="bought_it").status_code == 422
    assert upload(mailing_list, content, method=None).status_code == 422
    url = f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports"
    headers = account_auth(mailing_list.account)
    assert client.post(url, data=content, content_type="text/csv", headers=headers).status_code == 415
    no_file = client.post(url, data={"attestation": "x", "consent_method": "other"}, headers=headers,
                          content_type="multipart/form-data")
    assert no_file.status_code == 422
    assert count(db, Import) == 0 and count(db, Contact) == 0


def test_other_accounts_cannot_import_or_read(upload, client, create_list, create_account, account_auth):
    mailing_list = create_list()
    stranger = account_auth(create_account())
    assert refusal(upload(mailing_list, "email\nann@example.org\n", headers=stranger)) == (404, "not_found")
    report = upload(mailing_list, "email\nann@example.org\n").json
    assert refusal(client.get(report["report_url"], headers=stranger)) == (404, "not_found")
    assert refusal(client.get(report["refused_url"], headers=stranger)) == (404, "not_found")
    other_list = create_list()
    url = report["report_url"].replace(mailing_list.id, other_list.id).replace(
        mailing_list.account_id, other_list.account_id)
    assert refusal(client.get(url, headers=account_auth(other_list.account))) == (404, "not_found")


def test_suspended_account_cannot_import(upload, create_list, db):
    from portal.accounts.operations import change_status

    mailing_list = create_list()
    change_status(mailing_list.account, "suspended", reason="test")
    db.session.commit()
    response = upload(mailing_list, "email\nann@example.org\n")
    assert response.status_code == 409 and response.json["error"]["code"] == "account_suspended"


def test_report_is_recorded_and_readable(upload, client, create_list, account_auth, platform_auth):
    import hashlib

    mailing_list = create_list()
    content = f"email,consented_at\nann@example.org,{day(1)}\n=cmd|' /C calc'!A0,{day(1)}\n"
    posted = upload(mailing_list, content, file_name="shop export.csv", headers=platform_auth).json
    assert posted["file_name"] == "shop export.csv"
    assert posted["file_sha256"] == hashlib.sha256(content.encode()).hexdigest()
    assert posted["file_bytes"] == len(content.encode())
    got = client.get(posted["report_url"], headers=account_auth(mailing_list.account))
    assert got.status_code == 200 and got.json == posted
    listed = client.get(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                        headers=platform_auth).json
    assert [item["id"] for item in listed["items"]] == [posted["id"]]
    refused = client.get(posted["refused_url"], headers=platform_auth).get_data(as_text=True)
    assert "\r\n3,'=cmd|' /C calc'!A0,invalid," in refused  # a formula never reaches a spreadsheet


def test_upload_size_limit_is_the_imports_own(upload, create_list, account_auth, app):
    mailing_list = create_list()
    key = account_auth(mailing_list.account)
    content = "email,consented_at\n" + "".join(f"p{i}@example.org,{day(1)}\n" for i in range(200))
    app.config["MAX_CONTENT_LENGTH"] = 1000
    assert upload(mailing_list, content, headers=key).status_code == 200
    app.config["PORTAL_IMPORT_MAX_BYTES"] = 1000
    before = row_counts()
    refused = upload(mailing_list, content, headers=key)
    assert refused.status_code == 413
    error = refused.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"max_bytes": 1000}
    assert row_counts() == before  # no import, no stored chunk, no contact, no ledger event


def test_openapi_documents_the_multipart_upload(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    post = paths["/api/v1/accounts/{account_id}/lists/{list_id}/imports"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "/api/v1/accounts/{account_id}/lists/{list_id}/imports/{import_id}/refused.csv" in paths


def test_each_repermission_mail_carries_its_own_link(upload, create_list, db):
    from portal.links import load_confirm
    from portal.outbox.models import OutboxMessage
    from portal.subscriptions.models import SignupRequest

    mailing_list = create_list()
    upload(mailing_list, f"email,consented_at\nann@example.org,{day(3)}\nbob@example.org,{day(3)}\n",
           method="single_opt_in")
    requests = {r.contact_id: r.id for r in db.session.scalars(select(SignupRequest))}
    contacts = {c.email: c.id for c in db.session.scalars(select(Contact))}
    from portal.outbox.operations import render_message

    for message in db.session.scalars(select(OutboxMessage)):
        payload = render_message(message)
        token = payload["text"].split("https://portal.test/confirm/")[1].split()[0].split("?")[0]
        assert load_confirm(token) == requests[contacts[message.recipient]]
        assert payload["html"].count(token) == 3 and "invalid" not in payload["html"]


def test_who_left_everything_of_the_account_is_refused_into_any_list(upload, create_list, create_contact,
                                                                     create_subscription, db):
    mailing_list = create_list()
    account = mailing_list.account
    first, second, new_list = create_list(account), create_list(account), create_list(account)
    left_all = create_contact(account, "left@example.org")
    create_subscription(left_all, first, status="unsubscribed")
    create_subscription(left_all, second, status="complained")
    stayed = create_contact(account, "stayed@example.org")
    create_subscription(stayed, first, status="unsubscribed")
    create_subscription(stayed, second)
    suppression.add("everything@example.org", scope="account", reason="unsubscribed", account_id=account.id)
    suppression.add("erased@example.org", scope="global", reason="erased")
    db.session.commit()
    content = "email,consented_at\n" + "".join(f"{name}@example.org,{day(3)}\n"
                                               for name in ("left", "stayed", "everything", "erased"))
    report = upload(new_list, content).json
    assert report["accepted"] == 1 and report["refused_by_reason"]["suppressed"] == 3
    details = {row["email"]: row["detail"] for row in report["refused_rows"]}
    assert details == {"left@example.org": "unsubscribed from every list of this account",
                       "everything@example.org": "account suppression: unsubscribed",
                       "erased@example.org": "global suppression: erased"}


def test_nul_and_control_characters_are_refused_clearly(upload, create_list, db):
    mailing_list = create_list()
    content = f"email,name,consented_at\nann@example.org,A\x00nn,{day(1)}\n"
    response = upload(mailing_list, content)
    assert response.status_code == 422 and response.json["error"]["code"] == "nul_character"
    assert "line 2" in response.json["error"]["message"]
    utf16 = upload(mailing_list, f"email,name\nann@example.org,A\x00nn\n".encode("utf-16"))
    assert utf16.status_code == 422 and utf16.json["error"]["code"] == "nul_character"
    good = f"email,consented_at\nann@example.org,{day(1)}\n"
    for fields in ({"attestation": "Signed up\x00 online"}, {"file_name": "a\x00b.csv"},
                   {"attestation": "bell\x07"}):
        response = upload(mailing_list, good, **fields)
        assert response.status_code == 422 and response.json["error"]["code"] == "control_character", fields
    assert count(db, Import) == 0 and count(db, Contact) == 0


def test_repermission_mails_are_recorded_in_the_ledger_when_they_leave(upload, create_list, db, app, runner):
    import glob

    from portal.consent.models import ConsentEvent
    from portal.outbox import worker as outbox_worker
    from portal.outbox.models import OutboxMessage

    mailing_list = create_list(name="Weekly deals")
    report = upload(mailing_list, f"email,consented_at\nann@example.org,{day(3)}\nbob@example.org,{day(3)}\n",
                    method="single_opt_in").json
    sent_events = select(ConsentEvent).where(ConsentEvent.type == "confirmation_sent")
    assert db.session.scalars(sent_events).all() == []  # nothing has left yet
    bob = db.session.scalars(select(Subscription).join(Contact).where(Contact.email == "bob@example.org")).one()
    bob.status = "unsubscribed"  # bob says no before his mail leaves
    db.session.commit()
    result = outbox_worker.run_once()
    assert len(result.sent) == 1 and len(result.failed) == 1
    messages = {m.recipient: m for m in db.session.scalars(select(OutboxMessage))}
    assert messages["ann@example.org"].status == "sent"
    assert messages["bob@example.org"].status == "failed"
    assert messages["bob@example.org"].last_error.startswith("cancelled: ")
    (event,) = db.session.scalars(sent_events).all()
    assert event.email == "ann@example.org" and event.list_id == mailing_list.id
    assert event.source == f"import:{report['id']}" and event.evidence["import_id"] == report["id"]
    assert event.message_ref == messages["ann@example.org"].payload["message_id"]
    (eml,) = glob.glob(app.config["PORTAL_OUTBOX_DIR"] + "/*.eml")
    with open(eml, encoding="utf-8", errors="replace") as sent:
        assert "Weekly deals" in sent.read()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
