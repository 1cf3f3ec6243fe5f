"""Every write of the notices domain (issue 15): publishing a privacy notice version, and its
paced mailing (the producer the outbox worker runs before each pass, and the context loader
its mails are rendered with when sent: importing this package registers both).
"""
from portal.notices.operations.mailing import KIND, load_context, recipients_count, release_due
from portal.notices.operations.publishing import notice_url, notices_of, publish, serialize

__all__ = ["KIND", "load_context", "notice_url", "notices_of", "publish", "recipients_count", "release_due",
           "serialize"]
