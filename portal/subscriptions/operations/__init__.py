"""Every write of the subscriptions domain (issue 15), in ``forms`` while the package is cut."""
from portal.subscriptions.operations.forms import (FORM_FIELDS, LIST_FIELDS, TRANSITIONS, TransitionRefused, apply,
                                                   can, check_redirect_url, clean_origins, clean_translations,
                                                   create_form, create_list, default_consent_text, embed_html,
                                                   find_contact, form_translations, get_account_form, get_form,
                                                   get_list, get_or_create_contact, get_or_create_subscription,
                                                   hosted_url, lock_contact, merged_translations, origin_of,
                                                   retire_erased, set_consent_text, set_consent_texts, update_form,
                                                   update_list)

__all__ = ["FORM_FIELDS", "LIST_FIELDS", "TRANSITIONS", "TransitionRefused", "apply", "can", "check_redirect_url",
           "clean_origins", "clean_translations", "create_form", "create_list", "default_consent_text", "embed_html",
           "find_contact", "form_translations", "get_account_form", "get_form", "get_list", "get_or_create_contact",
           "get_or_create_subscription", "hosted_url", "lock_contact", "merged_translations", "origin_of",
           "retire_erased", "set_consent_text", "set_consent_texts", "update_form", "update_list"]
