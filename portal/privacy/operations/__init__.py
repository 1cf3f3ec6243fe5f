"""Every write of the privacy domain (issue 15): erasure (its confirmation mail, the erasure
itself), retention's purge, and the redaction both share. The data download reads
(:mod:`portal.privacy.export`).
"""
from portal.privacy.export import export_contact  # a read, kept here for its callers' one import
from portal.privacy.operations.erasure import MAX_ERASE_MAILS_PER_DAY, erase_contact, queue_erasure_link
from portal.privacy.operations.redaction import redact_contact
from portal.privacy.operations.retention import LOCK_KEY, PurgeReport, purge

__all__ = ["LOCK_KEY", "MAX_ERASE_MAILS_PER_DAY", "PurgeReport", "erase_contact", "export_contact", "purge",
           "queue_erasure_link", "redact_contact"]
