"""Double opt-in: a signup request, its confirmation mail, confirming or declining it (operations.py).

A domain of its own above subscriptions, suppression and receipts, which it combines: a signup
lifts or adds suppressions and a confirmation queues the consent receipt. Its pages are the
subscriptions domain's (``/f/<form_id>``, ``/confirm/<token>``).
"""
