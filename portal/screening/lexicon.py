"""The restricted-content lexicon and its matcher: words, never a regular expression over the text.

The text is cut into words once (a single pass with a character class: no backtracking), and each
word is looked up in a table of the phrases that start with it, so matching takes time linear in
the text, times the few phrases sharing a first word.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

#: The lexicon shipped with the portal; an operator's file (PORTAL_RESTRICTED_LEXICON_PATH) adds to it.
BUILTIN = Path(__file__).resolve().parents[1] / "data" / "restricted_lexicon.txt"
CATEGORIES = ("offensive", "illegal_goods", "violence", "gambling")
_WORD = re.compile(r"[^\W_]+")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]{0,39}")


class LexiconError(ValueError):
    """A line of a lexicon file that is not ``<category>: <phrase>``."""


def words(text: str) -> list[str]:
    """The words of ``text``, compatibility-normalised and case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


@dataclass
class Lexicon:
    """Phrases by their first word: ``word -> [(words, category, phrase)]``."""

    starts: dict[str, list[tuple[tuple[str, ...], str, str]]] = field(default_factory=dict)

    def add(self, category: str, phrase: str) -> None:
        tokens = tuple(words(phrase))
        if tokens:
            self.starts.setdefault(tokens[0], []).append((tokens, category, " ".join(tokens)))

    def match(self, text: str) -> dict[str, list[str]]:
        """``category -> phrases`` found in ``text`` (each phrase once, sorted)."""
        tokens = words(text)
        found: dict[str, set[str]] = {}
        for at, token in enumerate(tokens):
            for phrase, category, label in self.starts.get(token, ()):
                if tuple(tokens[at:at + len(phrase)]) == phrase:
                    found.setdefault(category, set()).add(label)
        return {category: sorted(phrases) for category, phrases in sorted(found.items())}


def read(path: Path | str, lexicon: Lexicon) -> Lexicon:
    """Add the phrases of one lexicon file; :class:`LexiconError` names a bad line."""
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        category, sep, phrase = line.partition(":")
        category = category.strip()
        if not sep or not _CATEGORY.fullmatch(category) or not words(phrase):
            raise LexiconError(f"{path}:{number}: expected '<category>: <phrase>'")
        lexicon.add(category, phrase)
    return lexicon


_cache: dict[tuple, Lexicon] = {}


def load(extra: str | None = None) -> Lexicon:
    """The built-in lexicon plus the operator's file; re-read when a file changes."""
    paths = [BUILTIN, *([Path(extra)] if extra else [])]
    key = tuple((str(path), os.stat(path).st_mtime_ns) for path in paths)
    if key not in _cache:
        lexicon = Lexicon()
        for path in paths:
            read(path, lexicon)
        _cache.clear()
        _cache[key] = lexicon
    return _cache[key]
