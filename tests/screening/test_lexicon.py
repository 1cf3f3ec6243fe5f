"""The restricted-content lexicon: its file format, whole-word matching, operator additions, linearity."""
import pytest

from portal.screening import lexicon
from tests.timing import assert_linear


def test_the_builtin_lexicon_covers_every_category_in_both_languages():
    built = lexicon.load()
    found = built.match("Main judi online di kasino kami, free spins! Jual sabu-sabu dan paspor palsu. "
                        "Cocaine delivered. Akan kami bunuh kamu. You bastard, dasar bangsat.")
    assert found == {"gambling": ["free spins", "judi", "judi online", "kasino"],
                     "illegal_goods": ["cocaine", "paspor palsu", "sabu sabu"],
                     "offensive": ["bangsat", "bastard"],
                     "violence": ["akan kami bunuh", "bunuh kamu"]}
    assert set(found) == set(lexicon.CATEGORIES)


def test_phrases_match_whole_words_in_any_case_and_spacing():
    built = lexicon.load()
    assert built.match("SABU   SABU") == {"illegal_goods": ["sabu sabu"]}
    assert built.match("Judi\nOnline!") == {"gambling": ["judi", "judi online"]}
    assert built.match("occasional casinos, prejudice, skilled, Scunthorpe, classic") == {}
    assert built.match("Ｃａｓｉｎｏ") == {"gambling": ["casino"]}  # full-width letters, NFKC


def test_an_operator_file_adds_phrases_and_categories(tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("# ours\ntobacco: rokok murah\ngambling: sabung ayam\n", encoding="utf-8")
    built = lexicon.load(str(extra))
    assert built.match("Rokok murah dan sabung ayam") == {"gambling": ["sabung ayam"], "tobacco": ["rokok murah"]}
    assert lexicon.load().match("rokok murah") == {}


@pytest.mark.parametrize("line", ["no separator", "Bad Category: x", ": phrase", "gambling:   ", "a b: c"])
def test_a_bad_line_is_named(tmp_path, line):
    extra = tmp_path / "bad.txt"
    extra.write_text(f"gambling: ok\n{line}\n", encoding="utf-8")
    with pytest.raises(lexicon.LexiconError, match=r"bad.txt:2: expected"):
        lexicon.load(str(extra))


def test_matching_time_grows_linearly_with_the_text():
    """Compared with a baseline in the same run (this thread's CPU time, tests/timing.py): 8 times
    the text costs well under the 64 times a quadratic matcher would."""
    built = lexicon.load()
    hostile = "judi " * 2000 + "sabu-" * 2000 + "<" * 5000 + "a" * 20000
    assert_linear(built.match, lambda times: hostile * times, 1)
