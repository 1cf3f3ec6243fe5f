"""``/api/v1/.../privacy-notices``: publish a privacy notice version (an account's, or the
platform's default) and list the versions."""
from __future__ import annotations

from portal import api
from portal.accounts.models import Account
from portal.notices import operations  # also registers the mailing's loader and producer
from portal.notices.models import PrivacyNotice
from portal.notices.schemas import NoticeIn, NoticeOut, NoticePage

TAG = "privacy notices"


def _publish(account: Account | None, body: NoticeIn) -> dict:
    notice = operations.publish(account, effective_at=body.effective_at,
                                content={locale: version.model_dump() for locale, version in body.content.items()},
                                published_by=f"api_key:{api.current_key().id}")
    return operations.serialize(notice)


@api.route("/accounts/<account_id>/privacy-notices", "POST", summary="Publish a new version of the account's "
           "privacy notice; its confirmed contacts are mailed before it takes effect", body=NoticeIn,
           response=NoticeOut, status=201, tag=TAG)
def publish_account_notice(account: Account, body: NoticeIn):
    return _publish(account, body)


@api.route("/accounts/<account_id>/privacy-notices", "GET", summary="The account's privacy notice versions, "
           "oldest first", query=api.PageQuery, response=NoticePage, tag=TAG)
def account_notices(account: Account, query: api.PageQuery):
    return api.paginate(operations.notices_of(account.id), PrivacyNotice.id, query, operations.serialize)


@api.route("/privacy-notices", "POST", summary="Publish a new version of the platform's privacy notice, the "
           "default of accounts without their own", scopes=api.PLATFORM, body=NoticeIn, response=NoticeOut,
           status=201, tag=TAG)
def publish_platform_notice(body: NoticeIn):
    return _publish(None, body)


@api.route("/privacy-notices", "GET", summary="The platform's privacy notice versions, oldest first",
           query=api.PageQuery, response=NoticePage, tag=TAG)
def platform_notices(query: api.PageQuery):
    return api.paginate(operations.notices_of(None), PrivacyNotice.id, query, operations.serialize)
