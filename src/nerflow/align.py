"""Sub-word alignment and windowing.

A word's label goes on its first piece; its other pieces get IGNORE (-100, skipped by the loss) unless
`label_all_tokens`, which gives them the I- form of the label. Sentences longer than the model's window are
cut into overlapping windows at word boundaries; each word is *owned* by exactly one window (the overlap is
split in the middle), so every word is predicted exactly once and keeps context on both sides.

Words come pre-split (`is_split_into_words=True`), so tokenizers that mark a word start by the space before it
need `add_prefix_space` (see load_tokenizer).
"""

from dataclasses import dataclass

from tokenizers.pre_tokenizers import ByteLevel, Metaspace, Sequence

IGNORE = -100


def load_tokenizer(folder):
    """The fast tokenizer of a model folder, set up to mark the start of every pre-split word.

    Byte-level BPE (RoBERTa, DeBERTa, Longformer, BART, GPT-2, ModernBERT, ...) reads "Ġword" as a word start and
    "word" as the inside of one; pre-split words have lost their spaces, so without add_prefix_space each would
    be read as the inside of a word. This is detected on the tokenizer's own pre-tokenizer, not on model names,
    so any model family with such a tokenizer is covered.
    """
    from transformers import AutoTokenizer  # imported here: the rest of this module does not need transformers

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if not tokenizer.is_fast:
        raise ValueError(f"{folder}: {type(tokenizer).__name__} is not a fast tokenizer; nerflow maps pieces back "
                         "to words (word_ids), which needs one: use a model whose folder has a tokenizer.json")
    if _unmarked_word_starts(tokenizer):
        # The tokenizer's own option first, so that save_pretrained records it in tokenizer_config.json...
        tokenizer = AutoTokenizer.from_pretrained(folder, add_prefix_space=True)
        # ...then the pre-tokenizer itself, for classes that ignore the option (a generic tokenizer.json).
        for part in _unmarked_word_starts(tokenizer):
            if isinstance(part, ByteLevel):
                part.add_prefix_space = True
            else:
                part.prepend_scheme = "always"
    return tokenizer


def _unmarked_word_starts(tokenizer) -> list:
    """The parts of the tokenizer's pre-tokenizer that give a pre-split word no word-start marker."""
    pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
    parts = list(pre_tokenizer) if isinstance(pre_tokenizer, Sequence) else [pre_tokenizer]
    return [part for part in parts
            if isinstance(part, ByteLevel) and not part.add_prefix_space  # "Ġ"
            or isinstance(part, Metaspace) and part.prepend_scheme == "never"]  # sentencepiece's "▁"


@dataclass(frozen=True)
class Span:
    start: int  # first word in the window
    end: int  # one past the last word in the window
    own_start: int  # words [own_start, own_end) are labelled and predicted by this window
    own_end: int


def plan_windows(piece_counts: list, capacity: int, overlap: int) -> list:
    """Cover words 0..n-1 with windows of at most `capacity` pieces sharing up to `overlap` pieces."""
    if capacity < 1:
        raise ValueError("max_length leaves no room for word pieces")
    n = len(piece_counts)
    counts = [min(c, capacity) for c in piece_counts]  # a word longer than a window keeps its first pieces
    spans, start, own_start = [], 0, 0
    while True:
        end, used = start, 0
        while end < n and used + counts[end] <= capacity:
            used += counts[end]
            end += 1
        if end == n:
            spans.append(Span(start, end, own_start, n))
            return spans
        # Step back from `end` over at most `overlap` pieces, leaving the next window room for word `end`.
        limit = min(overlap, capacity - counts[end])
        next_start, shared = end, 0
        while next_start - 1 > start and shared + counts[next_start - 1] <= limit:
            next_start -= 1
            shared += counts[next_start]
        middle = (next_start + end + 1) // 2  # the previous window owns the first half of the overlap
        spans.append(Span(start, end, own_start, middle))
        start, own_start = next_start, middle


def _inside_label(label: str) -> str:
    return "I-" + label[2:] if label.startswith("B-") else label


def encode(tokenizer, sentences: list, max_length: int, overlap: int, tags: list = None, label2id: dict = None,
           label_all_tokens: bool = False) -> list:
    """Turn sentences (lists of words) into model windows.

    Each window is a dict: `sentence` (index), `input_ids`, `word_index` (for each position, the index of the
    word whose prediction is read there, else -1) and, when `tags` are given, `labels`.
    """
    capacity = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    # Pass 1 counts pieces per word to plan the windows; pass 2 encodes each window with the tokenizer's own
    # special tokens ([CLS] x [SEP], <s> x </s>, ...).
    counted = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    plans, window_words = [], []
    for i, words in enumerate(sentences):
        counts = [0] * len(words)
        for word in counted.word_ids(i):
            counts[word] += 1
        # A word the normaliser deletes entirely (e.g. a lone zero-width space) is read as unknown, so that it
        # still gets a prediction.
        words = [w if n else tokenizer.unk_token for w, n in zip(words, counts)]
        for span in plan_windows([max(n, 1) for n in counts], capacity, overlap):
            plans.append((i, span))
            window_words.append(words[span.start:span.end])
    # Truncation only ever shortens a single word longer than a whole window (its first piece stays).
    encoded = tokenizer(window_words, is_split_into_words=True, truncation=True, max_length=max_length)
    windows = []
    for j, (i, span) in enumerate(plans):
        word_index, labels, previous = [], [], None
        for word in encoded.word_ids(j):
            if word is None:  # a special token
                word_index.append(-1)
                labels.append(IGNORE)
                continue
            w = span.start + word
            owned, first_piece, previous = span.own_start <= w < span.own_end, word != previous, word
            word_index.append(w if owned and first_piece else -1)
            if tags is not None:
                tag = tags[i][w]
                if not owned or not (first_piece or label_all_tokens):
                    labels.append(IGNORE)
                else:
                    labels.append(label2id[tag] if first_piece else label2id.get(_inside_label(tag), label2id[tag]))
        window = {"sentence": i, "input_ids": encoded["input_ids"][j], "word_index": word_index}
        if tags is not None:
            window["labels"] = labels
        windows.append(window)
    return windows


def words_from_windows(windows: list, predicted: list, sentence_lengths: list) -> list:
    """Gather per-position predictions back into one prediction per word; check every word got exactly one."""
    by_sentence = [[None] * n for n in sentence_lengths]
    for window, window_predictions in zip(windows, predicted, strict=True):
        words = by_sentence[window["sentence"]]
        for word, prediction in zip(window["word_index"], window_predictions):
            if word >= 0:
                if words[word] is not None:
                    raise AssertionError(f"sentence {window['sentence']}: word {word} predicted twice")
                words[word] = prediction
    missing = sum(p is None for words in by_sentence for p in words)
    if missing:
        raise AssertionError(f"{missing} word(s) got no prediction; the windows do not cover every word")
    return by_sentence
