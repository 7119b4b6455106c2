import random

import pytest

from nerflow.tasks.ner.tokenize.windows import encode, plan_windows
from nerflow.tasks.ner.train.scoring import words_from_windows
from nerflow.training import IGNORE

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
LABEL2ID = {label: i for i, label in enumerate(LABELS)}


def test_first_piece_carries_the_label(tiny_tokenizer):
    # "xyz" is not in the tiny vocabulary: it splits into x ##y ##z.
    [window] = encode(tiny_tokenizer, [["a", "xyz"]], 16, 4, tags=[["O", "B-LOC"]], label2id=LABEL2ID)
    assert tiny_tokenizer.convert_ids_to_tokens(window["input_ids"]) == ["[CLS]", "a", "x", "##y", "##z", "[SEP]"]
    assert window["labels"] == [IGNORE, LABEL2ID["O"], LABEL2ID["B-LOC"], IGNORE, IGNORE, IGNORE]
    assert window["word_index"] == [-1, 0, 1, -1, -1, -1]


def test_label_all_tokens_gives_later_pieces_the_inside_label(tiny_tokenizer):
    [window] = encode(tiny_tokenizer, [["xyz", "qq"]], 16, 4, tags=[["B-LOC", "I-LOC"]], label2id=LABEL2ID,
                      label_all_tokens=True)
    b, i = LABEL2ID["B-LOC"], LABEL2ID["I-LOC"]
    assert window["labels"] == [IGNORE, b, i, i, i, i, IGNORE]
    assert window["word_index"] == [-1, 0, -1, -1, 1, -1, -1]  # predictions are still read at first pieces


def test_words_the_normaliser_deletes_still_get_a_prediction(tiny_tokenizer):
    [window] = encode(tiny_tokenizer, [["a", "\u200b", "b"]], 16, 4)
    assert window["word_index"] == [-1, 0, 1, 2, -1]
    assert window["input_ids"][2] == tiny_tokenizer.unk_token_id


def test_700_word_sentence_gets_exactly_one_prediction_per_word(tiny_tokenizer):
    rng = random.Random(0)
    words = [rng.choice(["a", "paris", "xyz", "berlin", "qwertyuiop", ".", "zz"]) for _ in range(700)]
    tags = [rng.choice(LABELS[:2]) for _ in words]
    windows = encode(tiny_tokenizer, [words, ["a"]], 32, 8, tags=[tags, ["O"]], label2id=LABEL2ID)
    assert len(windows) > 20 and all(len(w["input_ids"]) <= 32 for w in windows)
    # Each labelled position is a word's first piece in the one window that owns it: labels in window order
    # are exactly the sentence's tags.
    labelled = [LABELS[label] for w in windows if w["sentence"] == 0 for label in w["labels"] if label != IGNORE]
    assert labelled == tags
    # Read "the word index" as each position's prediction: gathering must put every word's own index back.
    predicted = [[max(k, 0) for k in w["word_index"]] for w in windows]
    assert words_from_windows(windows, predicted, [700, 1]) == [list(range(700)), [0]]


def test_700_word_sentence_through_a_model(tiny_model_dir, tiny_tokenizer):
    from transformers import AutoModelForTokenClassification

    from nerflow.tasks.ner.train.scoring import predict_tags

    model = AutoModelForTokenClassification.from_pretrained(tiny_model_dir, num_labels=len(LABELS))
    sentences = [["paris"] * 700, ["a", "b"], ["xyz"] * 40]
    windows = encode(tiny_tokenizer, sentences, 32, 8)
    predicted = predict_tags(model, windows, [700, 2, 40], LABELS, batch_size=4,
                             pad_id=tiny_tokenizer.pad_token_id)
    assert [len(p) for p in predicted] == [700, 2, 40]
    assert all(tag in LABELS for sentence in predicted for tag in sentence)


def test_gathering_rejects_missing_or_double_predictions():
    windows = [{"sentence": 0, "word_index": [-1, 0, 1, -1]}, {"sentence": 0, "word_index": [-1, 1, -1]}]
    with pytest.raises(AssertionError, match="predicted twice"):
        words_from_windows(windows, [[0, 0, 0, 0], [0, 0, 0]], [2])
    with pytest.raises(AssertionError, match="no prediction"):
        words_from_windows(windows[:1], [[0, 0, 0, 0]], [3])


def test_windows_own_every_word_once_and_fit():
    rng = random.Random(1)
    for _ in range(3000):
        counts = [rng.randint(1, 8) for _ in range(rng.randint(1, 60))]
        capacity, overlap = rng.randint(1, 24), rng.randint(0, 12)
        spans = plan_windows(counts, capacity, overlap)
        owned = [w for s in spans for w in range(s.own_start, s.own_end)]
        assert owned == list(range(len(counts))), (counts, capacity, overlap, spans)
        for s in spans:
            assert s.start <= s.own_start < s.own_end <= s.end
            assert sum(min(c, capacity) for c in counts[s.start:s.end]) <= capacity


def test_short_sentence_is_one_window_and_overlap_gives_context():
    assert len(plan_windows([1] * 10, 126, 32)) == 1
    first, second = plan_windows([1] * 10, 6, 2)[:2]
    assert (first.start, first.end, first.own_end) == (0, 6, 5)  # word 5 is in both; the next window owns it
    assert (second.start, second.own_start) == (4, 5)
