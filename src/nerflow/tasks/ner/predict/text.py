"""Raw text split into sentences and words the way the training data was (CoNLL-2003 follows the Penn Treebank).

Words: nltk's NLTKWordTokenizer (the Penn Treebank tokenizer that nltk.word_tokenize uses, without its punkt
sentence model, which is a download): clitics split off ("Germany's" -> "Germany" "'s", "don't" -> "do" "n't"),
punctuation apart ("(", ",", "$" "3.5"), hyphenated words and abbreviations kept ("well-known", "U.S."). It
writes quotes as `` and '', so only its span_tokenize is used: spans slice the original text, where a `"` stays
a `"` as in CoNLL-2003. It splits off only the period that ends its input, hence one call per sentence.

Sentences: sentencex (Wikimedia; rule-based, with its abbreviation lists compiled in, no data files): a period
after "Mr" or inside "U.S. on" ends no sentence. Its sentences are used by their start offsets alone, the first
from 0 and each running to the next one's start, so that no character of the text can fall outside a sentence.

Whitespace only separates words: every other character is in exactly one word, and combining marks stay in
theirs (Devanagari vowel signs, NFD accents), since the tokenizer splits at spaces and punctuation only.
"""

import functools

from sentencex import get_sentence_boundaries

LANGUAGE = "en"  # sentencex's rules for English, the language of CoNLL-2003


@functools.cache
def word_tokenizer():
    """Imported on first use: `import nltk` imports most of nltk, scipy.stats and scikit-learn included where
    they are installed (3 to 6 s on a busy 2-core CPU), which `nerflow predict --help` need not wait for."""
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


def split_sentences(text: str) -> list:
    """For each sentence of `text` that has a word, the (start, end) character offsets of its words, end
    exclusive: text[start:end] is the word."""
    starts = [0] + [boundary["start_index"] for boundary in get_sentence_boundaries(LANGUAGE, text)[1:]]
    sentences = []
    for start, end in zip(starts, starts[1:] + [len(text)]):
        words = [(start + a, start + b) for a, b in word_tokenizer().span_tokenize(text[start:end])]
        if words:
            sentences.append(words)
    return sentences
