"""Raw text split into sentences and words, in any script, as character offsets: preprocess splits annotated texts
with it (span files), and `nerflow predict` splits new texts with it, so that a model reads new text as it was
trained.

Sentences: a line break ends one; within a line, sentencex's rules for params' `language` (Wikimedia; rule-based,
abbreviation lists compiled in, no data files: a period after "Mr" or inside "U.S. on" ends no sentence; "。" ends
a Chinese or Japanese one). A sentence runs from its start to the next one's, so no character falls outside one.

Words: whitespace separates them, and the byte order mark (U+FEFF, which brat counts as a text's first character);
every other character is in exactly one word.
- Han characters (Chinese, Japanese kanji), kana, and CJK punctuation and fullwidth forms: one word each, the unit
  Chinese NER corpora (MSRA, OntoNotes Chinese) and Japanese character-level taggers use.
- Scripts written without spaces between words (Thai, Lao, Khmer, Myanmar): one word per character with its
  combining marks (a vowel or tone mark stays with its consonant); finding word boundaries would need a
  dictionary, and an entity's characters are what the model must find.
- Other text, by the Penn Treebank conventions CoNLL-2003 follows: punctuation stands apart (`(`, `,`, `"`, `$`,
  `%`, `;`, `?`, `!`, `--`, `...`), clitics split off ("Germany's" -> "Germany" "'s", "don't" -> "do" "n't"),
  hyphenated words, numbers (3.5, 1,000, 12:30) and abbreviations ("U.S.", "Mr.") stay whole, and only the period
  that ends a sentence is split off. Combining marks stay in their word (Devanagari vowel signs, NFD accents).

Why not nltk's NLTKWordTokenizer, which follows the same conventions: it took 2.2 s for the 14,041 sentences of
CoNLL-2003 train (156 us a sentence, 2-core CPU), where preprocessing the token version takes 1 s in all; this lexer
works on offsets directly and passes whole the words that hold only letters and digits (most of them).
"""

import re

import regex
from sentencex import get_sentence_boundaries

LINE = re.compile(r"[^\r\n]+")  # a line, without its line break
CHUNK = re.compile(r"[^\s\ufeff]+")
BLANK = re.compile(r"[\s\ufeff]*")  # what lies between words
# One word each: a Han character, a kana, CJK punctuation or a fullwidth form; a character of a script written
# without spaces, with its combining marks.
CHARACTER_WORDS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u30fc\u3000-\u303f\uff00-\uffef]"
                                r"|[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]\p{M}*")
# The blocks where those characters lie: a text without any is split without looking for them (re is faster).
MAYBE_CHARACTER_WORDS = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff\uf900-\ufaff"
                                   "\uff00-\uffef\U00020000-\U0003ffff]")
NUMBERED = re.compile(r"\d+\.")
LEADING = set("\"([{<`'‘“$#@")  # split off the start of a chunk
TRAILING = set("\")]}>,;:?!%'’”")  # split off its end
CLITIC = re.compile(r"(?i:n't|n’t|'s|'m|'d|'ll|'re|'ve|’s|’m|’d|’ll|’re|’ve)$")
# Inside what is left: these stand apart (a comma or colon between digits is part of a number).
SEPARATOR = re.compile(r"--|\.\.\.|[?!;@#%()\[\]{}<>\"“”]|(?<!\d)[,:]|[,:](?!\d)")  # "$" after letters: C$, US$


def is_blank(text: str) -> bool:
    """Whether `text` holds no character of a word."""
    return BLANK.fullmatch(text) is not None


def split_sentences(text: str, language: str = "en") -> list:
    """For each sentence of `text` that has a word, the (start, end) character offsets of its words, end
    exclusive: text[start:end] is the word."""
    sentences = []
    special = MAYBE_CHARACTER_WORDS.search(text) is not None
    for line in LINE.finditer(text):
        boundaries = get_sentence_boundaries(language, line.group())
        starts = [line.start()] + [line.start() + b["start_index"] for b in boundaries[1:]]
        for start, end in zip(starts, starts[1:] + [line.end()]):
            found = words(text, start, end, special)
            if found:
                sentences.append(found)
    return sentences


def words(text: str, start: int, end: int, special: bool = True) -> list:
    """The words of text[start:end] (one sentence), as (start, end) offsets into `text`; `special`: it may hold
    character words (MAYBE_CHARACTER_WORDS)."""
    chunks = [m.span() for m in CHUNK.finditer(text, start, end)]
    found = []
    special = special and CHARACTER_WORDS.search(text, start, end) is not None
    for k, (a, b) in enumerate(chunks):
        if not special and text[a:b].isalnum():  # a word of letters and digits alone: most are
            found.append((a, b))
            continue
        # The period that ends a sentence is split off, but for a sentence that is a number alone: an item of a list.
        final = k == len(chunks) - 1 and not (len(chunks) == 1 and NUMBERED.fullmatch(text, a, b))
        if special:
            found += _split_special(text, a, b, final)
        else:
            found += _split_chunk(text, a, b, final)
    return found


def _split_special(text: str, a: int, b: int, final: bool) -> list:
    """A chunk holding character words: each of them a word, the text between them split as usual."""
    found, position = [], a
    for m in CHARACTER_WORDS.finditer(text, a, b):
        if m.start() > position:
            found += _split_chunk(text, position, m.start(), False)
        found.append((m.start(), m.end()))
        position = m.end()
    if position < b:
        found += _split_chunk(text, position, b, final)
    return found


def _split_chunk(text: str, a: int, b: int, final: bool) -> list:
    """The words of the chunk text[a:b] (no whitespace in it); `final`: the last chunk of its sentence."""
    if text[a:b].isalnum():
        return [(a, b)]
    lead, trail = [], []
    while a < b and text[a] in LEADING and not (text[a] in "'‘" and CLITIC.match(text, a, b)
                                                 and CLITIC.match(text, a, b).end() == b):
        lead.append((a, a + 1))
        a += 1
    while a < b:
        clitic = CLITIC.search(text, a, b)
        if text.endswith("...", a, b) and b - 3 > a:
            trail.insert(0, (b - 3, b))
            b -= 3
        elif text[b - 1] in TRAILING and not (clitic and clitic.start() == a):
            trail.insert(0, (b - 1, b))
            b -= 1
        elif final and text[b - 1] == "." and b - 1 > a and text[b - 2] != ".":
            trail.insert(0, (b - 1, b))  # the period that ends the sentence (what comes after it is split off above)
            b -= 1
            final = False
        elif clitic and clitic.start() > a:
            trail.insert(0, (clitic.start(), b))
            b = clitic.start()
        else:
            break
    middle, position = [], a
    for m in SEPARATOR.finditer(text, a, b):
        if m.start() > position:
            middle.append((position, m.start()))
        middle.append((m.start(), m.end()))
        position = m.end()
    if position < b:
        middle.append((position, b))
    return lead + middle + trail
