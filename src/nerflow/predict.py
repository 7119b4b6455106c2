"""Tag new text with a trained model: `nerflow predict` on the command line, `nerflow.predict.load` in Python.

    tagger = nerflow.predict.load("models/ner")
    tagger(["Angela Merkel visited Paris."])
    # [[{"label": "PER", "start": 0, "end": 13, "text": "Angela Merkel", "score": 0.98},
    #   {"label": "LOC", "start": 22, "end": 27, "text": "Paris", "score": 0.97}]]

Words: the model was trained on CoNLL tokens, so text is split the same way, by nerflow.text (the Penn
Treebank conventions that CoNLL-2003 follows: "Germany's" is "Germany" "'s", "U.S." and "well-known" stay
whole, punctuation stands apart). A text's sentences are tagged as one word sequence. Whitespace only
separates words; entity offsets never depend on it.

Tags: texts are windowed as in training (nerflow.align; `max_length`, `window_overlap` and `context` from
MODEL_DIR/nerflow.json, else 128, 32 and sentence): long sentences are cut into overlapping windows and, with
`context: document`, the sentences of one text share windows as those of one document did in training. Every
word is predicted exactly once at its first piece, and the IOB2 word tags become entities the conlleval/seqeval
way (an I-X after O or after another type starts a new entity).

Entities: {"label", "start", "end", "text", "score"}, where start/end are character offsets into the input
text (end exclusive: text[start:end] == entity text) and score is the mean over the entity's words of the
softmax probability of the word's predicted tag.
"""

import argparse
import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification
from transformers.utils import logging as transformers_logging

from nerflow.align import CONTEXTS, encode, load_tokenizer, words_from_windows
from nerflow import classification
from nerflow.decoding import decode
from nerflow.inference import default_device, predict_classes, predict_windows, stack_words
from nerflow.text import split_sentences

SETTINGS_FILE = "nerflow.json"  # written by the train stage next to the model
# For model folders from before these settings: as they were trained and decoded then.
DEFAULT_SETTINGS = {"max_length": 128, "window_overlap": 32, "context": "sentence", "constrained_decoding": False}


@dataclass(frozen=True)
class TaggedWord:
    start: int  # character offsets of the word in its text, end exclusive
    end: int
    tag: str  # IOB2: O, B-X or I-X
    score: float  # probability of `tag`


def entities_from_words(text: str, words: list) -> list:
    """Entity dicts from IOB2-tagged words, grouped by seqeval (as evaluation scores them: an I-X after O or after
    another type starts an entity)."""
    return [
        {"label": label, "start": words[first].start, "end": words[last].end,
         "text": text[words[first].start:words[last].end],
         "score": round(sum(w.score for w in words[first:last + 1]) / (last + 1 - first), 4)}
        for label, first, last in get_entities([w.tag for w in words])
    ]


class Tagger:
    """A token-classification model and its (fast) tokenizer, tagging raw texts."""

    def __init__(self, model, tokenizer, max_length: int = 128, window_overlap: int = 32, batch_size: int = 32,
                 context: str = "sentence", constrained: bool = True):
        if not tokenizer.is_fast:
            raise ValueError("nerflow needs a fast tokenizer (it maps pieces back to words)")
        if context not in CONTEXTS:
            raise ValueError(f"context is {context!r}; expected document or sentence")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.max_length, self.window_overlap, self.batch_size = max_length, window_overlap, batch_size
        self.context, self.constrained = context, constrained
        self.labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]

    def tag_words(self, texts: list, progress: bool = False) -> list:
        """For each text, its words (nerflow.text) as TaggedWords, each predicted exactly once. With document
        context, each text is one document: its sentences share windows."""
        spans = [split_sentences(text) for text in texts]  # per text, per sentence, (start, end) of each word
        sentences = [[text[start:end] for start, end in sentence] for text, text_spans in zip(texts, spans)
                     for sentence in text_spans]
        if not sentences:  # texts with no word have nothing to predict
            return [[] for _ in texts]
        documents = [i for i, text_spans in enumerate(spans) for _ in text_spans]
        windows = encode(self.tokenizer, sentences, self.max_length, self.window_overlap,
                         documents=documents if self.context == "document" else None)
        per_position = predict_windows(self.model, windows, self.batch_size, self.tokenizer.pad_token_id,
                                       "tagging" if progress else None)
        word_scores = stack_words(words_from_windows(windows, per_position, [len(s) for s in sentences]))
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


class Classifier:
    """A sequence-classification model and its tokenizer, labelling raw texts (or pairs of texts)."""

    def __init__(self, model, tokenizer, max_length: int = 128, batch_size: int = 32, pair: bool = False):
        self.model, self.tokenizer, self.pair = model.eval(), tokenizer, pair
        self.max_length, self.batch_size = max_length, batch_size
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    def __call__(self, texts, text_pairs=None) -> list:
        """{"label", "score"} for each text (and its pair); a single str gives a single dict."""
        if isinstance(texts, str):
            return self([texts], None if text_pairs is None else [text_pairs])[0]
        pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
        examples = [classification.Example(text=t, line=i + 1, text_pair=p) for i, (t, p) in enumerate(zip(texts, pairs))]
        windows = classification.encode(self.tokenizer, examples, self.max_length)
        probabilities = predict_classes(self.model, windows, self.batch_size, self.tokenizer.pad_token_id)
        best = probabilities.max(-1)
        return [{"label": self.labels[i], "score": round(float(p), 4)} for p, i in zip(best.values, best.indices)]


@contextlib.contextmanager
def no_progress_bars():
    """transformers' own bars off for the block: from_pretrained draws a "Loading weights" bar on stderr, even
    for a one-line `nerflow predict`. Off through transformers' switch and back on only if it was on."""
    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


def load(path, device=None, batch_size: int = 32):
    """The Tagger (NER) or Classifier (task text- or pair-classification in nerflow.json) of a saved model folder,
    as the train stage writes models/ner; CUDA if available."""
    device = device or default_device()
    tokenizer = load_tokenizer(path)
    settings_file = Path(path) / SETTINGS_FILE
    settings = {**DEFAULT_SETTINGS, **(json.loads(settings_file.read_text()) if settings_file.exists() else {})}
    max_length = min(settings["max_length"], tokenizer.model_max_length)  # never past the position embeddings
    if settings.get("task", "ner") != "ner":
        with no_progress_bars():
            model = AutoModelForSequenceClassification.from_pretrained(path).to(device)
        return Classifier(model, tokenizer, max_length, batch_size, pair=settings["task"] == "pair-classification")
    with no_progress_bars():
        model = AutoModelForTokenClassification.from_pretrained(path).to(device)
    return Tagger(model, tokenizer, max_length, settings["window_overlap"], batch_size, settings["context"],
                  settings["constrained_decoding"])


# --- command line -------------------------------------------------------------------------------------------

class InputError(ValueError):
    """Bad input, with its place (file:line)."""


def read_records(binary_lines, name: str, jsonl: bool) -> list:
    """Plain text: one document per line, blank lines included (so output line n answers input line n).
    JSON lines: one object with a "text" field per line; blank lines are skipped."""
    records = []
    for number, raw in enumerate(binary_lines, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError as error:
            raise InputError(f"{name}:{number}: not UTF-8 ({error.reason} at byte {error.start})") from None
        if not jsonl:
            records.append({"text": line})
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}:{number}: bad JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict) or "text" not in record:
            raise InputError(f'{name}:{number}: expected a JSON object with a "text" field')
        if not isinstance(record["text"], str):
            raise InputError(f'{name}:{number}: "text" must be a string')
        records.append(record)
    return records


def read_input(args) -> list:
    if args.texts and args.file:
        raise InputError("give TEXT arguments or --file, not both")
    if args.texts:
        if args.jsonl:
            raise InputError("--jsonl applies to --file or stdin; TEXT arguments are plain text")
        return [{"text": text} for text in args.texts]
    if args.file in (None, "-"):
        if args.file is None and sys.stdin.isatty():
            raise InputError("nothing to tag: give TEXT arguments, --file PATH, or pipe text to stdin")
        return read_records(sys.stdin.buffer, "<stdin>", args.jsonl)
    try:
        with open(args.file, "rb") as f:
            return read_records(f, args.file, args.jsonl)
    except OSError as error:
        raise InputError(f"{args.file}: {error.strerror}") from None


def run(args) -> int:
    try:
        if args.batch_size < 1:
            raise InputError("--batch-size must be at least 1")
        records = read_input(args)
        if not Path(args.model_dir).is_dir():
            raise InputError(f"{args.model_dir}: no such model folder")
        tagger = load(args.model_dir, batch_size=args.batch_size)
    except (InputError, OSError, ValueError) as error:  # OSError: no loadable model; ValueError: not a fast tokenizer
        print(f"nerflow predict: error: {error}", file=sys.stderr)
        return 1
    if isinstance(tagger, Classifier):
        try:
            results = classify(tagger, records, from_arguments=bool(args.texts))
        except InputError as error:
            print(f"nerflow predict: error: {error}", file=sys.stderr)
            return 1
    else:
        results = [{"entities": found} for found in tagger([record["text"] for record in records], progress=True)]
    lines = (json.dumps({**record, **result}, ensure_ascii=False) + "\n" for record, result in zip(records, results))
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
    else:
        sys.stdout.reconfigure(encoding="utf-8")  # JSON is UTF-8, whatever the terminal's locale
        sys.stdout.writelines(lines)
    return 0


def classify(classifier: Classifier, records: list, from_arguments: bool) -> list:
    """{"label", "score"} for each record. A pair model reads each record's pair: TEXT arguments two at a time
    (the records become pairs), a "text_pair" field in JSON lines, or two texts split by a tab in a plain line."""
    if not classifier.pair:
        return classifier([r["text"] for r in records])
    if from_arguments:
        if len(records) % 2:
            raise InputError("a pair model takes TEXT arguments two at a time (premise, hypothesis)")
        records[:] = [{"text": a["text"], "text_pair": b["text"]} for a, b in zip(records[::2], records[1::2])]
    for number, record in enumerate(records, 1):
        if "text_pair" not in record:
            first, tab, second = record["text"].partition("\t")
            if not tab:
                raise InputError(f"input record {number}: a pair model needs two texts: a tab between them, "
                                 'or a "text_pair" field in JSON lines')
            record["text"], record["text_pair"] = first, second
    return classifier([r["text"] for r in records], [r["text_pair"] for r in records])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a trained model folder, e.g. models/ner")
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="texts to tag, one document each")
    parser.add_argument("--file", metavar="PATH", help="read documents from PATH ('-': stdin); without TEXT "
                        "or --file, documents are read from stdin when it is not a terminal")
    parser.add_argument("--jsonl", action="store_true", help='input is JSON lines with a "text" field; other '
                        "fields are copied to the output (blank lines skipped)")
    parser.add_argument("--output", metavar="PATH", help="write JSON lines to PATH instead of stdout")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per batch (default 32)")
    parser.description = "Tag texts with a trained model and write their entities as JSON lines."
    parser.epilog = HELP_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the epilog's line breaks
    parser.set_defaults(run=run)


HELP_EPILOG = """\
Plain-text input is one document per line. Every line, blank ones included,
gives one output line, so output line n answers input line n. Output is JSON
lines, one per document:
  {"text": ..., "entities": [{"label": "PER", "start": 0, "end": 5,
                              "text": "Alice", "score": 0.97}, ...]}
start/end are character offsets into text (end exclusive); score is the mean
over the entity's words of the probability of the predicted tag.

Words are split as in CoNLL-2003 (Penn Treebank conventions, nltk's
tokenizer): "Germany's" is two words, "Germany" and "'s"; "U.S." and
"well-known" are one; punctuation stands apart. Texts longer than
max_length pieces are windowed (MODEL_DIR/nerflow.json: max_length,
window_overlap and context; else 128, 32 and sentence). Tags are decoded as
in evaluation (constrained_decoding in nerflow.json; else the best valid
IOB2 sequence).
"""
