"""Imports point one way (issue 15): the domains' core modules import only the domains below them in
``portal.LAYERS``; the ledger (``consent``) and the ``outbox`` import no domain.

Read from the source by ``tools/domain_graph.py`` (lazy imports inside functions count as well). The
arrows that still point the wrong way are listed below, each with what must move; the list may only
shrink: a new wrong arrow fails, and so does a listed one that is gone (remove it from the list).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import portal

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("domain_graph", ROOT / "tools" / "domain_graph.py")
domain_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(domain_graph)

#: Packages of portal/ that hold data files, not code of a domain.
NOT_DOMAINS = {"data"}
#: Leaves: they import no other domain.
LEAVES = ("consent", "outbox")

#: (importer, imported): what is left to move.
STILL_WRONG = {
    # The worker records "confirmation_sent" in the ledger when a mail leaves; the ledger should be
    # told through a hook the consent domain registers, not imported by the outbox.
    ("outbox", "consent"),
    # The worker renders reference-stored mails (re-permission, confirmation) by asking subscriptions.
    ("outbox", "subscriptions"),
    # The outbox delivers webhooks with the endpoint's secret, read from the webhooks domain.
    ("outbox", "webhooks"),
    # Signup queues the consent receipt mail after a confirmation.
    ("subscriptions", "receipts"),
    # Signup and confirm ask whether the address is suppressed.
    ("subscriptions", "suppression"),
}


def wrong_arrows() -> dict[tuple[str, str], list[str]]:
    rank = {domain: position for position, domain in enumerate(portal.LAYERS)}
    wrong = {}
    for (importer, imported), places in domain_graph.edges(core_only=True).items():
        if importer in LEAVES or rank[imported] >= rank[importer]:
            wrong[(importer, imported)] = places
    return wrong


def test_every_domain_has_a_place_in_the_order():
    assert set(domain_graph.domains()) - NOT_DOMAINS == set(portal.LAYERS)
    assert set(portal.DOMAINS) <= set(portal.LAYERS)


def test_the_graph_sees_the_imports():
    graph = domain_graph.edges(core_only=True)
    assert ("subscriptions", "accounts") in graph and ("suppression", "subscriptions") in graph
    assert len(graph) > 30


def test_no_new_arrow_points_down_the_wrong_way():
    wrong = wrong_arrows()
    new = {arrow: places for arrow, places in wrong.items() if arrow not in STILL_WRONG}
    assert new == {}, "core imports against portal.LAYERS (move the code, or import the other way)"


def test_an_arrow_that_was_fixed_leaves_the_list():
    assert sorted(STILL_WRONG - set(wrong_arrows())) == []


def test_the_complaint_mails_and_erasure_share_the_person_finder_from_below_both():
    """complaints <-> privacy was a cycle: the person finder moved to subscriptions."""
    graph = domain_graph.edges(core_only=True)
    assert ("complaints", "privacy") not in graph
