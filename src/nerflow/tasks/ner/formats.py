"""The labelled files preprocess reads: CoNLL column files (.txt) or JSON lines (.jsonl), chosen by extension
(either may be compressed: train.txt.gz; nerflow.data.rawfiles names them).

A JSONL line is one sentence: {"tokens": [...], "tags": [...]} (other fields are ignored). An optional "doc"
field groups sentences into documents: a new document starts wherever its value changes.
"""

from dataclasses import dataclass

from nerflow.data.rawfiles import raw_format
from nerflow.data.textfiles import DataError, json_lines
from nerflow.tasks.ner import tags as tagging
from nerflow.tasks.ner.conll import read_conll, sentence_in_iob2


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files: the `dataset` keys of params.yaml that concern reading them, with defaults."""

    scheme: str = "iob2"
    repair: bool = False
    separator: str = None  # CoNLL only: None splits on any whitespace
    token_column: int = 0  # CoNLL only
    tag_column: int = -1  # CoNLL only
    unknown_labels: str = "error"  # a dev/test label train never shows: error, or O (read as O)

    @classmethod
    def from_params(cls, dataset: dict) -> "ReadOptions":
        """From the dataset block of params (checked by nerflow.params)."""
        return cls(**{key: dataset[key] for key in cls.__dataclass_fields__ if key in dataset})


def read_jsonl_sentences(path, scheme: str = "iob2", repair: bool = False, name: str = None):
    """Yield the Sentences (IOB2 tags) of a JSONL file, a line at a time; after the last, raise DataError listing
    every problem (by line), if any."""
    problems, sentences = [], 0
    doc, doc_value = 0, None
    for number, record in json_lines(path, problems):
        problem = record_problem(record, scheme)
        if problem:
            problems.append((number, *problem))
            continue
        if "doc" in record and sentences and record["doc"] != doc_value:
            doc += 1
        doc_value = record.get("doc")
        tokens = record["tokens"]
        yield sentence_in_iob2(tokens, record["tags"], [number] * len(tokens), scheme, repair, problems, doc)
        sentences += 1
    if not sentences and not problems:
        problems.append((1, "empty file", "no sentences: the file is empty or holds only blank lines"))
    if problems:
        raise DataError(name or str(path), sorted(problems, key=lambda p: p[0]))


def record_problem(record, scheme: str):
    """(kind, message) for the first thing wrong with one JSONL record, or None."""
    if not isinstance(record, dict) or not {"tokens", "tags"} <= record.keys():
        return "missing field", 'expected an object with "tokens" and "tags" lists'
    tokens, tags = record["tokens"], record["tags"]
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (tokens, tags)):
        return "not a list of strings", '"tokens" and "tags" must be lists of strings'
    if not tokens:
        return "no tokens", "a sentence with no tokens"
    if len(tokens) != len(tags):
        return "length mismatch", f"{len(tokens)} tokens but {len(tags)} tags"
    for i, (token, tag) in enumerate(zip(tokens, tags)):
        if not token.strip():
            return "empty token", f"token {i} is empty"
        if not tagging.is_valid_tag(tag, scheme):
            return "invalid tag", f"token {i}: invalid tag {tag!r}: expected {tagging.expected_tags(scheme)}"
    return None


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
