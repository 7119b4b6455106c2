"""JSON lines of tokens and tags: one sentence a line, {"tokens": [...], "tags": [...]} (other fields are
ignored). An optional "doc" field groups sentences into documents: a new document starts wherever its value
changes.
"""

from nerflow.data.textfiles import DataError, json_lines
from nerflow.tasks.ner import records as tagging
from nerflow.tasks.ner.preprocess.conll import sentence_in_iob2


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
