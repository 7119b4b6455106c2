"""Sub-word alignment and windowing.

A word's label goes on its first piece; its other pieces get IGNORE (-100, skipped by the loss) unless
`label_all_tokens`, which gives them the I- form of the label. Sentences longer than the model's window are
cut into overlapping windows at word boundaries; each word is *owned* by exactly one window (the overlap is
split in the middle), so every word is predicted exactly once and keeps context on both sides.

Document context: consecutive sentences of one document share windows (plan_document), so a sentence is read
with its neighbours for little more compute than reading it alone (1.16x the pieces on CoNLL-2003 train, see
README): a window owns a run of whole sentences, packed up to `max_length` pieces, and fills the room left with
the words just before and after them as unowned context. Owned words are still each labelled and predicted by
exactly one window, and no window reaches into another document.

Words come pre-split (`is_split_into_words=True`), so tokenizers that mark a word start by the space before it
need `add_prefix_space` (nerflow.training.tokenizer.load_tokenizer sets it).
"""

from bisect import bisect_right
from dataclasses import dataclass

from nerflow.training import IGNORE

CONTEXTS = ("document", "sentence")  # what a sentence is read with: its document's neighbouring sentences, or nothing


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


def plan_document(sentence_counts: list, capacity: int, overlap: int) -> list:
    """Windows over one document: Spans over the concatenation of its sentences' words (pieces per word given
    sentence by sentence). Whole sentences are packed greedily, in order, into windows of at most `capacity`
    pieces, and each such window takes the words around it as unowned context while it fits (_widen), so the
    room packing leaves is not wasted. A sentence longer than a window is windowed alone, as plan_windows does.
    """
    if capacity < 1:
        raise ValueError("max_length leaves no room for word pieces")
    counts = [min(c, capacity) for sentence in sentence_counts for c in sentence]
    spans, run_start, run_pieces, position = [], 0, 0, 0  # run: the whole sentences packed so far
    for sentence in sentence_counts:
        pieces = sum(min(c, capacity) for c in sentence)
        if run_pieces and run_pieces + pieces > capacity:
            spans.append(_widen(Span(run_start, position, run_start, position), counts, capacity))
            run_start, run_pieces = position, 0
        if pieces > capacity:
            spans += [Span(position + s.start, position + s.end, position + s.own_start, position + s.own_end)
                      for s in plan_windows(sentence, capacity, overlap)]
            run_start = position + len(sentence)
        else:
            run_pieces += pieces
        position += len(sentence)
    if run_pieces:
        spans.append(_widen(Span(run_start, position, run_start, position), counts, capacity))
    return spans


def _widen(span: Span, counts: list, capacity: int) -> Span:
    """`span` with the words next to it added as context while it fits in `capacity` pieces: half the free
    room before it, the rest after it, and what the end of the document leaves unused before it again."""
    start, end = span.start, span.end
    free = capacity - sum(counts[start:end])
    before = free // 2
    while start > 0 and counts[start - 1] <= before:
        start -= 1
        before -= counts[start]
        free -= counts[start]
    while end < len(counts) and counts[end] <= free:
        free -= counts[end]
        end += 1
    while start > 0 and counts[start - 1] <= free:
        start -= 1
        free -= counts[start]
    return Span(start, end, span.own_start, span.own_end)


def _inside_label(label: str) -> str:
    return "I-" + label[2:] if label.startswith("B-") else label


def encode(tokenizer, sentences: list, max_length: int, overlap: int, tags: list = None, label2id: dict = None,
           label_all_tokens: bool = False, documents: list = None) -> list:
    """Turn sentences (lists of words) into model windows.

    `documents`, one id per sentence, reads consecutive sentences with the same id as one document, whose
    sentences share windows (plan_document); None reads every sentence alone (sentence context).

    Each window is a dict: `sentence` (the index of the first sentence it owns words of), `input_ids`,
    `word_index` (for each position, the word whose prediction is read there, else -1) and, when `tags` are
    given, `labels`. A word is numbered from the first word of `sentence` on, through the sentences after it
    (sentence + 1's first word follows sentence's last), so that a window owning several sentences needs no
    more than one number per position; with one sentence a window, it is the word's index in its sentence.
    """
    capacity = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    # Pass 1 counts pieces per word to plan the windows; pass 2 encodes each window with the tokenizer's own
    # special tokens ([CLS] x [SEP], <s> x </s>, ...). No separator between the sentences of a window: BERT-style
    # encoders read running text with no mark at sentence ends (pre-training packed whole documents the same way).
    counted = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    words, counts, starts = [], [], []  # all sentences' words in one sequence; starts: where each sentence begins
    for i, sentence in enumerate(sentences):
        n = [0] * len(sentence)
        for word in counted.word_ids(i):
            n[word] += 1
        starts.append(len(words))
        # A word the normaliser deletes entirely (e.g. a lone zero-width space) is read as unknown, so that it
        # still gets a prediction.
        words += [w if k else tokenizer.unk_token for w, k in zip(sentence, n)]
        counts.append([max(k, 1) for k in n])
    flat_tags = None if tags is None else [tag for sentence_tags in tags for tag in sentence_tags]
    spans = []  # over the whole sequence; a document's spans never leave it
    first = 0
    for last in range(1, len(sentences) + 1):  # sentences[first:last] is one document
        if last == len(sentences) or documents is None or documents[last] != documents[first]:
            spans += [Span(starts[first] + s.start, starts[first] + s.end, starts[first] + s.own_start,
                           starts[first] + s.own_end) for s in plan_document(counts[first:last], capacity, overlap)]
            first = last
    # Truncation only ever shortens a single word longer than a whole window (its first piece stays).
    encoded = tokenizer([words[s.start:s.end] for s in spans], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    windows = []
    for j, span in enumerate(spans):
        i = bisect_right(starts, span.own_start) - 1  # the sentence of the window's first owned word
        word_index, labels, previous = [], [], None
        for word in encoded.word_ids(j):
            if word is None:  # a special token
                word_index.append(-1)
                labels.append(IGNORE)
                continue
            w = span.start + word
            owned, first_piece, previous = span.own_start <= w < span.own_end, word != previous, word
            word_index.append(w - starts[i] if owned and first_piece else -1)
            if tags is not None:
                tag = flat_tags[w]
                if not owned or not (first_piece or label_all_tokens):
                    labels.append(IGNORE)
                else:
                    labels.append(label2id[tag] if first_piece else label2id.get(_inside_label(tag), label2id[tag]))
        window = {"sentence": i, "input_ids": encoded["input_ids"][j], "word_index": word_index}
        if tags is not None:
            window["labels"] = labels
        windows.append(window)
    return windows
