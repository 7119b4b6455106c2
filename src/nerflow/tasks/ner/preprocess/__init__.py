"""NER's preprocess part: the labelled files read into Sentences with IOB2 tags, checked line by line: CoNLL
column files (.txt, conll.py), JSON lines of tokens and tags (.jsonl, jsonl.py), either of them compressed, or span
files, the annotation tools' texts with character spans (dataset.format spans: spans.py, split into sentences and
words by text.py)."""

from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from nerflow.data.rawfiles import raw_format
from nerflow.data.textfiles import MAX_REPORTED, place
from nerflow.tasks import preprocess
from nerflow.tasks.ner import records as tagging
from nerflow.tasks.ner.preprocess.conll import read_conll
from nerflow.tasks.ner.preprocess.jsonl import read_jsonl_sentences
from nerflow.tasks.ner.preprocess.spans import SpanOptions, read_span_file
from nerflow.tasks.ner.records import DOCUMENT_COLUMN, UNIT, Sentence


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files: the `dataset` keys of params.yaml that concern reading them."""

    scheme: str = "iob2"
    repair: bool = False
    separator: str = None  # CoNLL only: None splits on any whitespace
    token_column: int = 0  # CoNLL only
    tag_column: int = -1  # CoNLL only
    unknown_labels: str = "error"  # a dev/test label train never shows: error, or O (read as O)
    format: str = "conll"  # spans: span files; the others by the raw file's name
    spans: SpanOptions = SpanOptions()

    @classmethod
    def from_params(cls, dataset: dict) -> "ReadOptions":
        """From the dataset block of params (checked by nerflow.params)."""
        spans = SpanOptions(**dataset["spans"], language=dataset["language"])
        return cls(**{key: dataset[key] for key in cls.__dataclass_fields__ if key != "spans"}, spans=spans)


def read_split_file(path, options: ReadOptions, name: str = None):
    """The Sentences (IOB2 tags) of one .txt (CoNLL) or .jsonl file, yielded one at a time; DataError on any
    problem, after the last."""
    fmt = raw_format(path)
    if fmt == "jsonl":
        return read_jsonl_sentences(path, options.scheme, options.repair, name)
    if fmt != "conll":
        raise ValueError(f"{name or path} is {fmt}: entity tagging reads conll (.txt) or jsonl (.jsonl) files; "
                         "check dataset.format")
    return read_conll(path, options.tag_column, options.separator, options.scheme, name,
                      options.token_column, options.repair)


class Preprocess(preprocess.Preprocess):
    unit = UNIT
    document_column = DOCUMENT_COLUMN
    unknown_labels_hint = "Set dataset.unknown_labels: O to read them as O, or fix the files. Nothing was written."

    def read_options(self, dataset: dict) -> ReadOptions:
        return ReadOptions.from_params(dataset)

    def read_file(self, path: Path, options: ReadOptions, name: str, counts):
        if options.format == "spans":
            yield from read_span_file(path, options.spans, name, counts)
            return
        repairs = []
        for sentence in read_split_file(path, options, name):
            counts.records += 1
            repairs += [f"{name}:{line}: {message}" for line, message in sentence.repairs]
            yield sentence
        if options.repair:
            counts.extra["repairs"] = len(repairs)
        if repairs:
            more = f"\n  ... and {len(repairs) - MAX_REPORTED} more" if len(repairs) > MAX_REPORTED else ""
            print(f"preprocess: {name}: repaired {len(repairs)} tag sequence error(s) (repair: true):\n  "
                  + "\n  ".join(repairs[:MAX_REPORTED]) + more)

    def labels_of(self, sentence: Sentence) -> list:
        return sentence.tags

    def label_list(self, seen: set) -> list:
        return tagging.label_list([seen])

    def unknown_labels(self, sentence: Sentence, known: set, name: str) -> list:
        return [(tag, place(name, sentence.line_of(i))) for i, tag in enumerate(sentence.tags) if tag not in known]

    def on_unknown_labels(self, options: ReadOptions) -> str:
        return options.unknown_labels

    def without(self, sentence: Sentence, unknown: set) -> Sentence:
        sentence.tags = ["O" if tag in unknown else tag for tag in sentence.tags]
        return sentence

    def stats(self, table, labels: list, options: ReadOptions) -> dict:
        """Tokens, documents and entities (B- tags) of a split, counted on the stored columns."""
        if not table.num_rows:
            return {"tokens": 0, "documents": 0, "entities": {}}
        tags = pc.value_counts(pc.list_flatten(table.column("tags")))
        entities = {tag.as_py()[2:]: count.as_py() for tag, count in zip(tags.field("values"), tags.field("counts"))
                    if tag.as_py().startswith("B-")}
        return {"tokens": pc.sum(pc.list_value_length(table.column("tokens"))).as_py(),
                "documents": pc.count_distinct(table.column(DOCUMENT_COLUMN)).as_py(),
                "entities": dict(sorted(entities.items()))}
