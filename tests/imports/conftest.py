"""Helpers of the imports tests: upload a CSV through the API."""
import io

import pytest


@pytest.fixture
def upload(client, account_auth):
    """A function: POST a CSV (text or bytes) to a list's imports; returns the response."""
    def post(mailing_list, content, *, method="double_opt_in", attestation="Signed up on our shop's "
             "checkout with a confirmation email.", file_name="contacts.csv", headers=None, **fields):
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        form = {"file": (io.BytesIO(data), file_name), **fields}
        if method is not None:
            form["consent_method"] = method
        if attestation is not None:
            form["attestation"] = attestation
        return client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                           data=form, content_type="multipart/form-data",
                           headers=headers or account_auth(mailing_list.account))
    return post
