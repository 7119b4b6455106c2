"""CoNLL column files: one token a line, columns split on whitespace (or a given separator), the token and the
tag in chosen columns, a blank line between sentences, optional `-DOCSTART-` lines between documents.

Also what the NER readers share: the tag-sequence check (sentence_in_iob2).
"""

from nerflow.data.textfiles import DataError, text_lines
from nerflow.tasks.ner import records as tagging
from nerflow.tasks.ner.records import Sentence


def sentence_in_iob2(tokens, tags, token_lines, scheme: str, repair: bool, problems: list, doc: int) -> Sentence:
    """A Sentence with `tags` (of `scheme`) in IOB2. Sequence errors go to `problems`, or with `repair` are
    repaired and kept in Sentence.repairs."""
    iob2, errors = tagging.to_iob2(tags, scheme)
    found = [(token_lines[i], kind, message) for i, kind, message in errors]
    if found and not repair:
        hint = "; set dataset.repair: true to repair it"
        if scheme == "iob2":
            hint += ", or dataset.scheme: iob1 if the file is IOB1"
        problems.extend((line, kind, message + hint) for line, kind, message in found)
    sentence = Sentence(tokens, iob2, doc, token_lines[0], token_lines=token_lines)
    sentence.repairs = [(line, message) for line, _, message in found] if repair else []
    return sentence


def read_conll(path, tag_column: int = -1, separator=None, scheme: str = "iob2", name: str = None,
               token_column: int = 0, repair: bool = False):
    """Yield the Sentences (IOB2 tags) of a CoNLL file, reading it a line at a time; after the last, raise
    DataError listing every problem, if any.

    Accepts CRLF line ends, runs of blank lines, a missing final newline and a UTF-8 BOM. `separator` None
    splits on any run of whitespace; a given one (e.g. "\\t") splits on exactly it, so tokens may hold
    spaces. `scheme` is the tag scheme of the file (see tags.to_iob2); `repair` accepts sequence errors
    (repaired). `name` is how errors call the file (default: its path).
    """
    if scheme not in tagging.SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(tagging.SCHEMES)}")
    problems, sentences = [], 0
    tokens, tags, lines = [], [], []
    doc, columns = 0, None
    seen_docstart = False

    for number, line in text_lines(path, problems):
        if not line.strip() or line.split(maxsplit=1)[0] == "-DOCSTART-":
            if tokens:  # the end of a sentence
                yield sentence_in_iob2(tokens, tags, lines, scheme, repair, problems, doc)
                sentences += 1
                tokens, tags, lines = [], [], []
            if line.strip():  # -DOCSTART-
                if seen_docstart or sentences:
                    doc += 1
                seen_docstart = True
            continue
        fields = line.split(separator) if separator else line.split()
        if columns is None:
            columns = len(fields)
            if columns < 2:
                problems.append((number, "column count", "one column only: expected a token and a tag"))
                columns = None  # the next token line sets the count (and is checked against the columns used)
                continue
            used = {token_column % columns if -columns <= token_column < columns else None,
                    tag_column % columns if -columns <= tag_column < columns else None}
            if None in used or len(used) < 2:
                problems.append((number, "column count", f"{columns} columns: token_column {token_column} and "
                                 f"tag_column {tag_column} must be two different columns of them"))
                raise DataError(name or str(path), problems)
        if len(fields) != columns:
            problems.append((number, "column count", f"{len(fields)} columns, expected {columns} as on the first token line"))
            continue
        token, tag = fields[token_column].strip(), fields[tag_column].strip()  # spaces around a tab are noise
        if not token.strip():
            problems.append((number, "empty token", "empty token"))
            continue
        if not tagging.is_valid_tag(tag, scheme):
            problems.append((number, "invalid tag", f"invalid tag {tag!r}: expected {tagging.expected_tags(scheme)}"))
            continue
        tokens.append(token)
        tags.append(tag)
        lines.append(number)
    if tokens:
        yield sentence_in_iob2(tokens, tags, lines, scheme, repair, problems, doc)
        sentences += 1
    if not sentences and not problems:
        problems.append((1, "empty file", "no sentences: the file is empty or holds only -DOCSTART- and blank lines"))
    if problems:
        raise DataError(name or str(path), sorted(problems, key=lambda p: p[0]))
