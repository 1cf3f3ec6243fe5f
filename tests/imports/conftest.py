"""Helpers of the imports tests: upload a CSV through the API, then let a worker run it."""
import io

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart


@pytest.fixture
def post_import(client, account_auth):
    """A function: POST a CSV (text or bytes) to a list's imports; returns the response (202 or an error)."""
    def post(mailing_list, content, *, method="double_opt_in", attestation="Signed up on our shop's "
             "checkout with a confirmation email.", file_name="contacts.csv", headers=None, **fields):
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        form = {"file": FileStorage(io.BytesIO(data), filename=file_name, content_type="text/csv"), **fields}
        if method is not None:
            form["consent_method"] = method
        if attestation is not None:
            form["attestation"] = attestation
        # Encoded in memory: the test client would spool a big body to a file it never closes.
        boundary, body = encode_multipart(form)
        return client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                           data=body, content_type=f"multipart/form-data; boundary={boundary}",
                           headers=headers or account_auth(mailing_list.account))
    return post


@pytest.fixture
def upload(post_import, client, account_auth):
    """A function: POST a CSV, run the import worker, and answer the report (``GET``, 200) once it is over.

    An upload refused at once (422, 413, 404...) answers that refusal instead.
    """
    from portal.imports.operations import worker

    def post(mailing_list, content, *, headers=None, **options):
        posted = post_import(mailing_list, content, headers=headers, **options)
        if posted.status_code != 202:
            return posted
        assert posted.json["status"] == "queued" and posted.headers["Location"] == posted.json["report_url"]
        worker.run_once()
        return client.get(posted.json["report_url"], headers=headers or account_auth(mailing_list.account))
    return post
