"""Every write of the suppression domain (issue 15): entries (``entries``) and the feed of their
changes in commit order (``feed``), deliveries and bounces the sending platform reports (``deliveries``), and what
the API's keys ask, with their scope rules, recorded in the ledger (``actions``, called as
``operations.actions.add``: its names are the API's verbs, beside the entries' own).

The entries' lookups (find, entries_for, check_many, ...) still live in ``entries`` beside the
writes they guard, and are re-exported here for the many modules that read them.
"""
from portal.suppression.operations import actions, deliveries, feed
from portal.suppression.operations.deliveries import DeliveryOutcome, count_delivered, record_events
from portal.suppression.operations.entries import (add, add_many, check_many, entries_for, entries_for_hashes, find,
                                                   global_entries, remove, where_in)
from portal.suppression.operations.feed import (FEED_LOCK, LAST_SEQ, PROVISIONAL, changes_for, last_seq, last_seq_on,
                                                link, lock_feed)

__all__ = ["FEED_LOCK", "LAST_SEQ", "PROVISIONAL", "DeliveryOutcome", "actions", "add", "add_many", "changes_for",
           "check_many", "count_delivered", "deliveries", "entries_for", "entries_for_hashes", "feed", "find",
           "global_entries", "last_seq", "last_seq_on", "link", "lock_feed", "record_events", "remove", "where_in"]
