"""Imports point one way (issue 15): the domains' core modules import only the domains below them in
``portal.LAYERS``; the ledger (``consent``) and the ``outbox`` import no domain.

Read from the source by ``tools/domain_graph.py`` (lazy imports inside functions count as well). An
arrow that must still point the wrong way would be listed below with what must move; the list may only
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

#: (importer, imported): what is left to move (nothing now: double opt-in moved out of subscriptions into
#: its own domain, ``portal/signup``, above suppression and receipts, which it combines).
STILL_WRONG: set[tuple[str, str]] = set()


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


def test_the_outbox_imports_no_domain():
    """The worker records a sent mail through the hook subscriptions registers (outbox.on_sent), and
    the delivery's target check (outbox/targets.py) is the outbox's own."""
    graph = domain_graph.edges()  # its routes and commands included
    assert [arrow for arrow in graph if arrow[0] == "outbox"] == []


def test_the_core_modules_of_the_domains_form_no_cycle():
    assert domain_graph.cycles(domain_graph.edges(core_only=True)) == []


def test_the_committed_picture_shows_the_graph_of_the_source():
    """``docs/domain-graph.dot`` (and its ``.svg``) is the core graph the tool draws from the source
    today: after a change of the arrows, rebuild it with
    ``python tools/domain_graph.py --core --dot > docs/domain-graph.dot`` and
    ``dot -Tsvg docs/domain-graph.dot > docs/domain-graph.svg``."""
    import re

    drawn = set(re.findall(r'"(\w+)" -> "(\w+)"', (ROOT / "docs" / "domain-graph.dot").read_text()))
    assert drawn == set(domain_graph.edges(core_only=True))
    assert (ROOT / "docs" / "domain-graph.svg").read_text().count("<g id=\"edge") == len(drawn)
