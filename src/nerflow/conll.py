"""CoNLL column files: one token a line, columns split on whitespace (or a given separator), the tag in one
column, a blank line between sentences, `-DOCSTART-` lines between documents."""

from collections import Counter
from dataclasses import dataclass, field

from nerflow import tags as tagging

MAX_REPORTED = 10  # problems listed in full in an error; the rest are counted


@dataclass
class Sentence:
    tokens: list
    tags: list
    doc: int = 0
    line: int = 0  # 1-based line of the first token in the source file

    def to_record(self) -> dict:
        return {"doc": self.doc, "line": self.line, "tokens": self.tokens, "tags": self.tags}


@dataclass
class ConllError(Exception):
    """Problems found in one file: each is (line, kind, message)."""

    path: str
    problems: list = field(default_factory=list)

    def __str__(self):
        counts = Counter(kind for _, kind, _ in self.problems)
        lines = [f"{self.path}:{line}: {message}" for line, _, message in self.problems[:MAX_REPORTED]]
        if len(self.problems) > MAX_REPORTED:
            lines.append(f"... and {len(self.problems) - MAX_REPORTED} more")
        summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
        return "\n".join(lines + [f"{self.path}: {len(self.problems)} problem(s) ({summary}); nothing was written."])


def read_conll(path, tag_column: int = -1, separator=None, scheme: str = "iob2", name: str = None) -> list:
    """Parse a CoNLL file into Sentences with IOB2 tags, or raise ConllError listing every problem.

    Accepts CRLF line ends, runs of blank lines, a missing final newline and a UTF-8 BOM. `scheme` is the tag
    scheme of the file: "iob2" is validated strictly, "iob1" is converted to IOB2. `name` is how errors call
    the file (default: its path).
    """
    if scheme not in tagging.SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(tagging.SCHEMES)}")
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    problems = []
    sentences = []
    tokens, tags, lines = [], [], []
    doc, columns = 0, None
    seen_docstart = False

    def end_sentence():
        nonlocal tokens, tags, lines
        if tokens:
            if scheme == "iob1":
                tags = tagging.iob1_to_iob2(tags)
            elif (bad := tagging.first_iob2_violation(tags)) is not None:
                problems.append((lines[bad], "I- without B-", f"{tags[bad]} does not continue an entity (strict "
                                 "IOB2); if the file is IOB1, set the dataset scheme to iob1"))
            sentences.append(Sentence(tokens, tags, doc, lines[0]))
        tokens, tags, lines = [], [], []

    for number, raw_line in enumerate(raw.split(b"\n"), start=1):
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            problems.append((number, "not UTF-8", f"bytes that are not UTF-8 at column {e.start + 1}; re-encode the file as UTF-8"))
            continue
        if not line.strip():
            end_sentence()
            continue
        fields = line.split(separator) if separator else line.split()
        if fields[0] == "-DOCSTART-":
            end_sentence()
            if seen_docstart or sentences:
                doc += 1
            seen_docstart = True
            continue
        if columns is None:
            columns = len(fields)
            if columns < 2:
                problems.append((number, "column count", "one column only: expected a token and a tag"))
                columns = 2
                continue
        if len(fields) != columns:
            problems.append((number, "column count", f"{len(fields)} columns, expected {columns} as on the first token line"))
            continue
        token, tag = fields[0], fields[tag_column]
        if not token.strip():
            problems.append((number, "empty token", "empty token"))
            continue
        if not tagging.is_valid_tag(tag):
            problems.append((number, "invalid tag", f"invalid tag {tag!r}: expected O, B-TYPE or I-TYPE"))
            continue
        tokens.append(token)
        tags.append(tag)
        lines.append(number)
    end_sentence()

    if not sentences and not problems:
        problems.append((1, "empty file", "no sentences: the file is empty or holds only -DOCSTART- and blank lines"))
    if problems:
        raise ConllError(name or str(path), sorted(problems, key=lambda p: p[0]))
    return sentences


def write_conll(path, sentences, predictions) -> None:
    """Write `word gold predicted` lines (the conlleval input format), documents separated by -DOCSTART-."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        doc = None
        for sentence, predicted in zip(sentences, predictions, strict=True):
            if sentence.doc != doc:
                f.write("-DOCSTART- O O\n\n")
                doc = sentence.doc
            for token, gold, tag in zip(sentence.tokens, sentence.tags, predicted, strict=True):
                f.write(f"{token} {gold} {tag}\n")
            f.write("\n")
