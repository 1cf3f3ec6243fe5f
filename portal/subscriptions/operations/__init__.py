"""Every write of the subscriptions domain (issue 15): lists and the translations they share with
forms (``lists``), signup forms, their origins and versioned consent texts (``forms``), contacts and
their row lock (``contacts``), the subscription state machine (``states``), and the ledger event of
a mail that left (``sent``: importing this package registers it with the outbox).
"""
from portal.subscriptions.operations.lists import (FORM_FIELDS, LIST_FIELDS, clean_translations, create_list,
                                                   get_list, merged_translations, update_list)
from portal.subscriptions.operations.forms import (check_redirect_url, clean_origins, create_form,
                                                   default_consent_text, embed_html, form_translations,
                                                   get_account_form, get_form, hosted_url, origin_of,
                                                   set_consent_text, set_consent_texts, update_form)
from portal.subscriptions.operations.contacts import find_contact, get_or_create_contact, lock_contact, retire_erased
from portal.subscriptions.operations.states import (TRANSITIONS, TransitionRefused, apply, can,
                                                    get_or_create_subscription)
from portal.subscriptions.operations.sent import record_sent

__all__ = ["FORM_FIELDS", "LIST_FIELDS", "TRANSITIONS", "TransitionRefused", "apply", "can", "check_redirect_url",
           "clean_origins", "clean_translations", "create_form", "create_list", "default_consent_text", "embed_html",
           "find_contact", "form_translations", "get_account_form", "get_form", "get_list", "get_or_create_contact",
           "get_or_create_subscription", "hosted_url", "lock_contact", "merged_translations", "origin_of",
           "record_sent", "retire_erased", "set_consent_text", "set_consent_texts", "update_form", "update_list"]
