"""Raw text into sentences and words (nerflow.tasks.ner.preprocess.text): as CoNLL-2003 splits them, and in any
script, as character spans of the original text."""

import random
import unicodedata

import pytest

from nerflow.tasks.ner.preprocess.text import split_sentences


def words(text: str) -> list:
    return [[text[a:b] for a, b in sentence] for sentence in split_sentences(text)]


def test_possessives_split_off_abbreviations_kept_two_sentences():
    text = "Germany's Angela Merkel met Tim Cook in the U.S. on Monday. O'Neil's team won."
    assert words(text) == [
        ["Germany", "'s", "Angela", "Merkel", "met", "Tim", "Cook", "in", "the", "U.S.", "on", "Monday", "."],
        ["O'Neil", "'s", "team", "won", "."]]


@pytest.mark.parametrize("text, expected", [
    ("A well-known co-worker of Smith-Jones, 1996-08-30.",
     ["A", "well-known", "co-worker", "of", "Smith-Jones", ",", "1996-08-30", "."]),
    ("It paid $3.5 million (12%) to Mr. Smith; don't ask!",
     ["It", "paid", "$", "3.5", "million", "(", "12", "%", ")", "to", "Mr.", "Smith", ";", "do", "n't", "ask", "!"]),
    # Penn Treebank writes quotes as `` and '': the spans still slice the original characters.
    ('He said "Bonn is calm" and \'left\'.', ["He", "said", '"', "Bonn", "is", "calm", '"', "and", "'", "left", "'", "."]),
    ("Tabs\tand  runs   of\u00a0spaces", ["Tabs", "and", "runs", "of", "spaces"]),
])
def test_words_follow_penn_treebank(text, expected):
    assert [w for sentence in words(text) for w in sentence] == expected


def test_combining_marks_stay_in_their_word():
    # Devanagari vowel signs and virama, NFD accents: marks that \w of Python's `re` does not count as letters.
    for text, expected in (("हिन्दी भाषा", ["हिन्दी", "भाषा"]), (unicodedata.normalize("NFD", "Café René"), ["Café", "René"])):
        assert words(text) == [[unicodedata.normalize("NFD", w) for w in expected]]


def test_no_words_no_sentences():
    assert split_sentences("") == []
    assert split_sentences(" \t\n ") == []


def test_every_non_space_character_is_in_exactly_one_word():
    pool = list("aZ09 .,'\"`()-–$%?!:;/@…“”’\t\n") + ["é", "ि", "न्", "日", "😀", "\u00a0", "''", "``", "n't", "'s", "...", "U.S."]
    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 40)))
        spans = [span for sentence in split_sentences(text) for span in sentence]
        assert spans == sorted(spans) and all(a < b for a, b in spans), text
        assert all(not c.isspace() for a, b in spans for c in text[a:b]), text
        covered = [i for a, b in spans for i in range(a, b)]
        assert covered == [i for i, c in enumerate(text) if not c.isspace()], text


@pytest.mark.parametrize("text, language, expected", [
    ("张三在北京工作。他喜欢北京！", "zh", [["张", "三", "在", "北", "京", "工", "作", "。"], ["他", "喜", "欢", "北", "京", "！"]]),
    ("東京で田中さんにコーヒーを買った。元気でした。", "ja",
     [["東", "京", "で", "田", "中", "さ", "ん", "に", "コ", "ー", "ヒ", "ー", "を", "買", "っ", "た", "。"],
      ["元", "気", "で", "し", "た", "。"]]),
    ("Apple在北京开了店。", "zh", [["Apple", "在", "北", "京", "开", "了", "店", "。"]]),
    ("「東京」へ行く", "ja", [["「", "東", "京", "」", "へ", "行", "く"]]),
    ("서울에 갔다.", "ko", [["서울에", "갔다", "."]]),  # Korean is written with spaces between words
])
def test_cjk_characters_are_words_and_sentences_follow_the_language(text, language, expected):
    assert [[text[a:b] for a, b in sentence] for sentence in split_sentences(text, language)] == expected


def test_scripts_without_spaces_split_into_characters_with_their_marks():
    text = "สวัสดีครับ"  # Thai: vowel and tone marks stay with their consonant
    assert [text[a:b] for a, b in split_sentences(text, "th")[0]] == ["ส", "วั", "ส", "ดี", "ค", "รั", "บ"]


def test_a_line_break_ends_a_sentence():
    assert words("Headline without a period\r\nThe story. It goes on.") == [
        ["Headline", "without", "a", "period"], ["The", "story", "."], ["It", "goes", "on", "."]]
