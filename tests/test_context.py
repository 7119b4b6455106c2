"""Document context (nerflow.tasks.ner.tokenize.windows.plan_document, encode's `documents`): the sentences of a document share windows,
every word is still labelled and predicted by exactly one window, and no window reaches into another document."""

import hashlib
import json
import random

from conftest import FIXTURES

from nerflow.tasks.ner.tokenize.windows import Span, encode, plan_document, plan_windows
from nerflow.tasks.ner.train.scoring import words_from_windows
from nerflow.training import IGNORE
from nerflow.tasks.ner.preprocess.conll import read_conll

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
LETTERS = "abcdefghijklmnopqrstuvwx"  # document d is written with LETTERS[3 * (d % 8):][:3] only


def test_plan_owns_every_word_once_within_the_document_and_fits():
    rng = random.Random(2)
    for _ in range(3000):
        sentences = [[rng.randint(1, 6) for _ in range(rng.randint(1, 25))] for _ in range(rng.randint(1, 8))]
        capacity, overlap = rng.randint(1, 40), rng.randint(0, 12)
        counts = [min(c, capacity) for sentence in sentences for c in sentence]
        spans = plan_document(sentences, capacity, overlap)
        owned = [w for s in spans for w in range(s.own_start, s.own_end)]
        assert owned == list(range(len(counts))), (sentences, capacity, overlap, spans)
        for s in spans:
            assert 0 <= s.start <= s.own_start < s.own_end <= s.end <= len(counts)
            assert sum(counts[s.start:s.end]) <= capacity


def test_short_sentences_are_packed_and_the_room_left_is_context():
    # Sentences of 3, 4, 5 and 2 words, one piece each: [0, 7) fits 8 pieces, [7, 14) too.
    spans = plan_document([[1] * 3, [1] * 4, [1] * 5, [1] * 2], 8, 2)
    assert [(s.own_start, s.own_end) for s in spans] == [(0, 7), (7, 14)]
    assert [(s.start, s.end) for s in spans] == [(0, 8), (6, 14)]  # one word after, then two before
    # A sentence longer than a window is windowed alone, as in sentence context; its neighbours keep theirs.
    long_sentence = [1] * 20
    spans = plan_document([[1, 1], long_sentence, [1]], 8, 2)
    assert spans[1:-1] == [Span(2 + s.start, 2 + s.end, 2 + s.own_start, 2 + s.own_end)
                           for s in plan_windows(long_sentence, 8, 2)]
    assert (spans[0].own_start, spans[0].own_end, spans[-1].own_start, spans[-1].own_end) == (0, 2, 22, 23)


def random_documents(rng: random.Random, documents: int):
    """Sentences of random letter words, each document in its own three letters (so a window's pieces show which
    documents it reads), with random tags and the document id of each sentence."""
    sentences, tags, ids = [], [], []
    for d in range(documents):
        letters = LETTERS[3 * (d % 8):][:3]
        for _ in range(rng.randint(1, 6)):
            length = rng.choice([rng.randint(1, 12), rng.randint(1, 12), rng.randint(20, 60)])  # some need windowing
            sentences.append(["".join(rng.choice(letters) for _ in range(rng.randint(1, 7))) for _ in range(length)])
            tags.append([rng.choice(LABELS) for _ in range(length)])
            ids.append(d)
    return sentences, tags, ids


def test_document_windows_own_every_word_once_and_never_cross_documents(tiny_tokenizer):
    rng = random.Random(3)
    for _ in range(40):
        sentences, tags, ids = random_documents(rng, rng.randint(1, 6))
        max_length, overlap = rng.randint(6, 40), rng.randint(0, 8)
        windows = encode(tiny_tokenizer, sentences, max_length, overlap, tags=tags, label2id=LABEL2ID, documents=ids)
        starts = [sum(map(len, sentences[:i])) for i in range(len(sentences))]
        for w in windows:
            assert len(w["input_ids"]) <= max_length
            pieces = tiny_tokenizer.convert_ids_to_tokens(w["input_ids"])[1:-1]  # between [CLS] and [SEP]
            letters = set("".join(p.removeprefix("##") for p in pieces))
            document = ids[w["sentence"]]
            assert letters <= set(LETTERS[3 * (document % 8):][:3]), (document, pieces)
        # Read each position's word number as its prediction: every word must get its own number back, once
        # (words_from_windows raises on a word predicted twice or not at all).
        predicted = [[starts[w["sentence"]] + k if k >= 0 else -1 for k in w["word_index"]] for w in windows]
        gathered = words_from_windows(windows, predicted, [len(s) for s in sentences])
        assert gathered == [list(range(start, start + len(s))) for start, s in zip(starts, sentences)]
        # Each word is labelled once, at its first piece, in the window that predicts it.
        labelled = [LABELS[label] for w in windows for label in w["labels"] if label != IGNORE]
        assert labelled == [tag for sentence_tags in tags for tag in sentence_tags]
        assert all((k >= 0) == (label != IGNORE) for w in windows for k, label in zip(w["word_index"], w["labels"]))
        # A sentence is windowed when it does not fit one window, and only then.
        first_owned = [w["sentence"] for w in windows]
        capacity = max_length - 2  # a word longer than a window counts as a window (its first pieces are kept)
        fits = [sum(min(len(tiny_tokenizer.tokenize(word)), capacity) for word in s) <= capacity for s in sentences]
        assert [first_owned.count(i) > 1 for i in range(len(sentences))] == [not f for f in fits]


def test_windows_are_shared_and_read_neighbouring_sentences(tiny_tokenizer):
    sentences = [["london", "a", "b"], ["berlin", "anna"], ["xyz", "c", "d"]]  # xyz: x ##y ##z
    windows = encode(tiny_tokenizer, sentences, 16, 4, documents=[7, 7, 7])
    assert [(w["sentence"], w["word_index"]) for w in windows] == [(0, [-1, 0, 1, 2, 3, 4, 5, -1, -1, 6, 7, -1])]
    # Room for four pieces a window: each owns one sentence and reads what fits of its neighbours, half of the
    # free room before it, the rest after it (or before it, at the end of the document).
    windows = encode(tiny_tokenizer, [["london", "a", "b"], ["berlin", "anna"], ["john", "c", "d"]], 6, 2,
                     documents=[7, 7, 7])
    assert [tiny_tokenizer.convert_ids_to_tokens(w["input_ids"])[1:-1] for w in windows] == [
        ["london", "a", "b", "berlin"], ["b", "berlin", "anna", "john"], ["anna", "john", "c", "d"]]
    assert [(w["sentence"], w["word_index"]) for w in windows] == [
        (0, [-1, 0, 1, 2, -1, -1]), (1, [-1, -1, 0, 1, -1, -1]), (2, [-1, -1, 0, 1, 2, -1])]
    # Another document is never read: each sentence alone, as in sentence context.
    windows = encode(tiny_tokenizer, sentences, 16, 4, documents=[1, 2, 3])
    assert windows == encode(tiny_tokenizer, sentences, 16, 4)
    assert [w["sentence"] for w in windows] == [0, 1, 2]


def test_sentence_context_writes_the_windows_it_wrote_before_document_context(tiny_tokenizer):
    """The fixture's windows in sentence context, byte for byte as the code before document context wrote them
    (their sha256, with and without label_all_tokens); also checked on all of CoNLL-2003 with MiniLM's tokenizer."""
    sentences = [s for split in ("train", "dev", "test") for s in list(read_conll(FIXTURES / "tiny" / f"{split}.txt"))]
    expected = {False: "3557c9a8b1344b8e84b664c14377b03b490157d5a572b639552095a45c471f02",
                True: "fafe462c0a9e2fd076ed932461bf9bc36413a07d6fbd83894ed54c1bd70b3a7f"}
    for label_all_tokens, digest in expected.items():
        windows = encode(tiny_tokenizer, [s.tokens for s in sentences], 16, 4, tags=[s.tags for s in sentences],
                         label2id=LABEL2ID, label_all_tokens=label_all_tokens)
        assert hashlib.sha256(json.dumps(windows).encode()).hexdigest() == digest
        assert windows == encode(tiny_tokenizer, [s.tokens for s in sentences], 16, 4, tags=[s.tags for s in sentences],
                                 label2id=LABEL2ID, label_all_tokens=label_all_tokens,
                                 documents=list(range(len(sentences))))  # one sentence a document: the same
