"""Every write of the preferences domain (issue 15): unsubscribing, its undo, rejoining, the
preference centre's save, mailed unsubscribes, the manage-link mails, the contacts the sending
platform's links need. What the pages read is in the named modules beside this package
(``centre``, ``undo``, ``recovery``, ``inbound``, ``headers``).
"""
from portal.preferences.operations.unsubscribe import (ACCOUNT, LIST, REASONS, SOURCES, UNSUBSCRIBE_REASON,
                                                       PreferenceOutcome, left_scope, person, record_event,
                                                       record_reason, restorable, suppress, unsubscribe,
                                                       unsubscribe_list)
from portal.preferences.operations.rejoin import request_rejoin
from portal.preferences.operations.centre import save
from portal.preferences.operations.undo import undo
from portal.preferences.operations.inbound import unsubscribe_by_mail
from portal.preferences.operations.recovery import queue_links
from portal.preferences.operations.headers import contact_ids, recipient_links

__all__ = ["ACCOUNT", "LIST", "REASONS", "SOURCES", "UNSUBSCRIBE_REASON", "PreferenceOutcome", "contact_ids",
           "left_scope", "person", "queue_links", "recipient_links", "record_event", "record_reason",
           "request_rejoin", "restorable", "save", "suppress", "undo", "unsubscribe", "unsubscribe_by_mail",
           "unsubscribe_list"]
