"""Tags from a model: per-word scores gathered from windows (training's dev F1, evaluation), and the Tagger of raw
texts (`nerflow predict`, `nerflow.tools.predict.load`).

Tagger: the model was trained on CoNLL tokens, so text is split the same way, by nerflow.tasks.ner.text (the Penn
Treebank conventions that CoNLL-2003 follows: "Germany's" is "Germany" "'s", "U.S." and "well-known" stay whole,
punctuation stands apart). A text's sentences are tagged as one word sequence. Whitespace only separates words;
entity offsets never depend on it. Texts are windowed as in training (`max_length`, `window_overlap` and
`context` from the model folder's nerflow.json): long sentences are cut into overlapping windows and, with
`context: document`, the sentences of one text share windows as those of one document did in training. Every
word is predicted exactly once at its first piece, and the IOB2 word tags become entities the conlleval/seqeval
way (an I-X after O or after another type starts a new entity).

Entities: {"label", "start", "end", "text", "score"}, where start/end are character offsets into the input text
(end exclusive: text[start:end] == entity text) and score is the mean over the entity's words of the softmax
probability of the word's predicted tag.
"""

from dataclasses import dataclass

import numpy as np
import torch

from nerflow.data.store import Windows
from nerflow.tasks.ner.align import CONTEXTS, encode, words_from_windows
from nerflow.tasks.ner.decoding import decode
from nerflow.training.inference import predict_windows

# What a model folder without nerflow.json was trained and decoded with (folders written before it existed); a
# Tagger made without settings reads text the same way.
UNSET_SETTINGS = {"max_length": 128, "window_overlap": 32, "context": "sentence", "constrained_decoding": False}
EVAL_CHUNK = 16384  # windows predicted at a time when scoring a split: their per-position scores are what it holds


def predict_word_scores(model, windows, sentence_lengths: list, batch_size: int, pad_id: int,
                        progress: str = None, loss: bool = False, first_sentence: int = 0):
    """Per sentence, the [words, labels] log-probabilities read at each word's first piece (checked: no word
    missed or predicted twice), for windows whose sentences are numbered from `first_sentence`; with `loss`,
    (scores, summed cross-entropy, labelled positions) as in predict_windows."""
    per_position = predict_windows(model, windows, batch_size, pad_id, progress, loss=loss)
    per_position, *totals = per_position if loss else (per_position,)
    windows = Windows(windows, ["sentence", "word_index"])
    per_word = words_from_windows(windows.take(range(len(windows))), per_position, sentence_lengths, first_sentence)
    scores = [torch.stack(sentence) for sentence in per_word]
    return (scores, *totals) if loss else scores


def sentence_chunks(windows: Windows, sentences: int, limit: int = EVAL_CHUNK) -> list:
    """(first window, end window, first sentence, end sentence) of consecutive runs of about `limit` windows that
    own whole sentences: a run ends only where the next window starts a new sentence (windows of a sentence too
    long for one share its number), so every word's window is in its sentence's run."""
    numbers = np.asarray(Windows(windows, ["sentence"]).column("sentence"), dtype=np.int64)
    chunks, start = [], 0
    while start < len(numbers):
        end = min(start + limit, len(numbers))
        while end < len(numbers) and numbers[end] == numbers[end - 1]:
            end += 1
        chunks.append((start, end, int(numbers[start]), int(numbers[end]) if end < len(numbers) else sentences))
        start = end
    return chunks


def scored_chunks(model, windows, sentence_lengths: list, batch_size: int, pad_id: int, progress: str = None,
                  loss: bool = False):
    """Yield (first sentence, end sentence, their per-word scores, (summed cross-entropy, labelled positions) or
    None) a chunk of windows at a time (sentence_chunks), so that the scores of one chunk only are held."""
    windows = Windows(windows)
    for start, end, first, last in sentence_chunks(windows, len(sentence_lengths)):
        scores = predict_word_scores(model, windows.slice(start, end), sentence_lengths[first:last], batch_size,
                                     pad_id, progress, loss, first)
        scores, *totals = scores if loss else (scores,)
        yield first, last, scores, (totals or None)


def predict_tags(model, windows, sentence_lengths: list, labels: list, batch_size: int, pad_id: int,
                 constrained: bool = True, progress: str = None, loss: bool = False):
    """One predicted tag per word of every sentence: the best valid IOB2 sequence (constrained) or each word's
    most probable label; with `loss`, (tags, mean cross-entropy over the labelled positions)."""
    tags, loss_sum, labelled = [], 0.0, 0
    for _, _, scores, totals in scored_chunks(model, windows, sentence_lengths, batch_size, pad_id, progress, loss):
        if loss:
            loss_sum, labelled = loss_sum + totals[0], labelled + totals[1]
        tags += decode(scores, labels, constrained)
    return (tags, loss_sum / max(labelled, 1)) if loss else tags


@dataclass(frozen=True)
class TaggedWord:
    start: int  # character offsets of the word in its text, end exclusive
    end: int
    tag: str  # IOB2: O, B-X or I-X
    score: float  # probability of `tag`


def entities_from_words(text: str, words: list) -> list:
    """Entity dicts from IOB2-tagged words, grouped by seqeval (as evaluation scores them: an I-X after O or after
    another type starts an entity)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [
        {"label": label, "start": words[first].start, "end": words[last].end,
         "text": text[words[first].start:words[last].end],
         "score": round(sum(w.score for w in words[first:last + 1]) / (last + 1 - first), 4)}
        for label, first, last in get_entities([w.tag for w in words])
    ]


class Tagger:
    """A token-classification model and its (fast) tokenizer, tagging raw texts as `settings` (a model folder's
    nerflow.json; UNSET_SETTINGS for what it lacks) say."""

    def __init__(self, model, tokenizer, settings: dict = None, batch_size: int = 32):
        settings = {**UNSET_SETTINGS, **(settings or {})}
        if not tokenizer.is_fast:
            raise ValueError("nerflow needs a fast tokenizer (it maps pieces back to words)")
        if settings["context"] not in CONTEXTS:
            raise ValueError(f"context is {settings['context']!r}; expected document or sentence")
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size
        self.max_length = min(settings["max_length"], tokenizer.model_max_length)  # never past the position embeddings
        self.window_overlap, self.context = settings["window_overlap"], settings["context"]
        self.constrained = settings["constrained_decoding"]
        self.labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]

    def tag_words(self, texts: list, progress: bool = False) -> list:
        """For each text, its words (nerflow.tasks.ner.text) as TaggedWords, each predicted exactly once. With
        document context, each text is one document: its sentences share windows."""
        from nerflow.tasks.ner.text import split_sentences  # here: sentencex and nltk serve raw text only

        spans = [split_sentences(text) for text in texts]  # per text, per sentence, (start, end) of each word
        sentences = [[text[start:end] for start, end in sentence] for text, text_spans in zip(texts, spans)
                     for sentence in text_spans]
        if not sentences:  # texts with no word have nothing to predict
            return [[] for _ in texts]
        documents = [i for i, text_spans in enumerate(spans) for _ in text_spans]
        windows = encode(self.tokenizer, sentences, self.max_length, self.window_overlap,
                         documents=documents if self.context == "document" else None)
        word_scores = predict_word_scores(self.model, windows, [len(s) for s in sentences], self.batch_size,
                                          self.tokenizer.pad_token_id, "tagging" if progress else None)
        tags = iter(decode(word_scores, self.labels, self.constrained))
        scores = iter(word_scores)
        tagged = []
        for text_spans in spans:
            words = []
            for sentence in text_spans:
                sentence_tags, log_probs = next(tags), next(scores)
                words += [TaggedWord(start, end, tag, float(log_probs[j, self.labels.index(tag)].exp()))
                          for j, ((start, end), tag) in enumerate(zip(sentence, sentence_tags))]
            tagged.append(words)
        return tagged

    def __call__(self, texts, progress: bool = False) -> list:
        """Entity dicts for each text; a single str gives a single list."""
        if isinstance(texts, str):
            return self([texts], progress)[0]
        return [entities_from_words(text, words) for text, words in zip(texts, self.tag_words(texts, progress))]

    def predict_records(self, records: list, from_arguments: bool) -> tuple:
        """(records, results) for `nerflow predict`: {"entities": [...]} for each record's "text"."""
        return records, [{"entities": found} for found in self([r["text"] for r in records], progress=True)]
