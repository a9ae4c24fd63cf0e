"""Length counted each network's way, checked as properties over generated text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chorus.networks.base import PostContent
from chorus.networks.bluesky import facets_for
from chorus.networks.text import grapheme_length, mastodon_length, x_weighted_length
from chorus.networks.validation import validate

EMOJI = [
    "👍",
    "👍🏽",  # skin tone modifier
    "👨‍👩‍👧‍👦",  # ZWJ family
    "🏳️‍🌈",  # flag with VS16 and ZWJ
    "🇫🇷",  # regional indicators
    "1️⃣",  # keycap
    "❤️",
]
latin = st.text(alphabet=st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")))
hebrew = st.text(alphabet=st.characters(min_codepoint=0x05D0, max_codepoint=0x05EA), min_size=1)
arabic = st.text(alphabet=st.characters(min_codepoint=0x0627, max_codepoint=0x064A), min_size=1)
cjk = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF))
combining = st.text(alphabet=st.characters(min_codepoint=0x0300, max_codepoint=0x036F), max_size=5)
emoji_runs = st.lists(st.sampled_from(EMOJI))
paths = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-_", max_size=200)


@given(emoji_runs)
def test_each_emoji_sequence_is_one_grapheme_and_weighs_two_on_x(run):
    text = "".join(run)
    assert grapheme_length(text) == len(run)
    assert x_weighted_length(text) == 2 * len(run)


@given(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), combining)
def test_combining_marks_stay_in_their_letter_s_grapheme(base, marks):
    assert grapheme_length(base + marks) == 1


@given(latin)
def test_latin_letters_weigh_one_everywhere(text):
    assert grapheme_length(text) == x_weighted_length(text) == mastodon_length(text) == len(text)


@given(cjk)
def test_cjk_characters_weigh_two_on_x(text):
    assert x_weighted_length(text) == 2 * len(text)


@given(st.one_of(hebrew, arabic), latin)
def test_right_to_left_letters_count_one_each_even_with_direction_marks(rtl, ltr):
    mixed = f"\u200f{rtl} {ltr}"
    assert grapheme_length(mixed) == len(mixed)
    # Hebrew and Arabic sit below U+10FF and weigh 1; the RLM mark (U+200F) is outside
    # twitter-text's light ranges and weighs 2.
    assert x_weighted_length(mixed) == len(mixed) + 1


@given(paths, latin)
def test_a_url_counts_23_on_x_and_mastodon_whatever_its_length(path, words):
    text = f"{words} https://example.com/{path}"
    prefix = len(words) + 1
    assert x_weighted_length(text) == prefix + 23
    assert mastodon_length(text) == prefix + 23


def test_a_bare_domain_is_a_url_on_x_but_not_on_mastodon():
    assert x_weighted_length("see example.com") == 4 + 23
    assert mastodon_length("see example.com") == len("see example.com")


def test_a_remote_mention_counts_only_its_local_part_on_mastodon():
    assert mastodon_length("@alice@social.example.org hi") == len("@alice hi")


@given(st.lists(st.one_of(st.sampled_from(EMOJI), hebrew, latin, cjk)).map(" ".join))
def test_bluesky_facets_point_at_utf8_bytes_of_their_text(prefix):
    text = f"{prefix} #spring https://example.com @bob.test"
    encoded = text.encode()

    facets = facets_for(text, resolve_handle=lambda handle: "did:plc:bob")

    spans = [encoded[f.index.byte_start : f.index.byte_end].decode() for f in facets]
    assert spans[-3:] == ["#spring", "https://example.com", "@bob.test"]


def test_an_unresolvable_mention_stays_plain_text():
    assert facets_for("hi @nobody.test", resolve_handle=lambda handle: None) == []


@given(st.integers(min_value=0, max_value=20))
def test_bluesky_counts_graphemes_against_300(extra):
    text = "👨‍👩‍👧‍👦" * (300 + extra)  # 7 code points, 25 UTF-8 bytes, one grapheme each

    issues = validate("bluesky", PostContent(text=text))

    assert [(i.rule, i.limit, i.actual) for i in issues] == (
        [("text_length", 300, 300 + extra)] if extra else []
    )
