"""NER's records: a Sentence, what preprocess writes and tokenize and evaluate read (its words and their tags),
the tag schemes, and its offsets in the units the annotation tools count in. Internally every tag sequence is
IOB2: an entity starts with B-TYPE, continues with I-TYPE.

Files may use IOB1 (B- only between two adjacent entities of one type), IOB2, BIOES (E- ends an entity,
S- is a one-token entity) or BILOU (the same with L- and U-); `to_iob2` reads them, `from_iob2` writes them.
"""

import re
from dataclasses import dataclass, field
from itertools import accumulate

UNIT = "sentences"  # what a record is called in metrics and messages
DOCUMENT_COLUMN = "doc"  # the stored column numbering a sentence's document


@dataclass
class Sentence:
    tokens: list
    tags: list
    doc: int = 0
    line: int = 0  # 1-based line of the first token in the source file
    # Read from span files (text in, spans out): each word's character offsets in its text, and, on a text's first
    # sentence, the whole text and its record's shape and other fields (JSON), to write predictions back as spans.
    starts: list = None
    ends: list = None
    text: str = None
    source: str = None
    # Not written out: the source line of each token, and the tag errors repaired as (line, message).
    token_lines: list = field(default=None, repr=False, compare=False)
    repairs: list = field(default_factory=list, repr=False, compare=False)

    def to_record(self) -> dict:
        record = {"doc": self.doc, "line": self.line, "tokens": self.tokens, "tags": self.tags}
        if self.starts is not None:  # span files; the CoNLL and JSONL readers' records stay as they were
            record.update(starts=self.starts, ends=self.ends, text=self.text, source=self.source)
        return record

    def line_of(self, index: int) -> int:
        return self.token_lines[index] if self.token_lines else self.line + index

SCHEMES = ("iob1", "iob2", "bioes", "bilou")
PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES", "bilou": "BILU"}
# The prefixes that end an entity and make a one-token entity, for the schemes that mark entity ends.
END_SINGLE = {"bioes": ("E", "S"), "bilou": ("L", "U")}
TAG_PATTERNS = {scheme: re.compile(rf"^(?:O|[{prefixes}]-[^\s-]\S*)$") for scheme, prefixes in PREFIXES.items()}


def is_valid_tag(tag: str, scheme: str = "iob2") -> bool:
    return bool(TAG_PATTERNS[scheme].match(tag))


def expected_tags(scheme: str) -> str:
    """How an error message describes a valid tag of `scheme`."""
    return "O or " + "/".join(f"{p}-" for p in PREFIXES[scheme]) + "TYPE"


def entity_type(tag: str) -> str:
    return tag[2:] if tag != "O" else ""


def iob1_to_iob2(tags: list) -> list:
    """IOB1 marks B- only between two adjacent entities of one type; IOB2 marks every entity start."""
    converted = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and entity_type(previous) != tag[2:]:
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def to_iob2(tags: list, scheme: str) -> tuple:
    """Read `tags` (valid tag syntax for `scheme`) as IOB2; return (iob2_tags, errors).

    errors are (index, kind, message) for sequences that `scheme` forbids: a tag continuing an entity that is
    not open (I-X after O under IOB2; I-X or E-X/L-X after O, or after an ended entity, under BIOES/BILOU)
    and, under BIOES/BILOU, an entity that does not end with E-/S- (L-/U-). The returned tags are already
    repaired: a tag that continues nothing starts an entity; an unended entity ends where it stops. IOB1
    has no such errors (an I- after O starts an entity by definition).
    """
    if scheme == "iob1":
        return iob1_to_iob2(tags), []
    end, single = END_SINGLE.get(scheme, ("", ""))
    name = "strict IOB2" if scheme == "iob2" else scheme.upper()
    converted, errors = [], []
    open_type = ""  # type of the entity the previous tag leaves open, "" if none
    for i, tag in enumerate(tags):
        prefix, type_ = tag[0], entity_type(tag)
        continues = prefix in "I" + end and type_ == open_type
        if end and open_type and not continues:
            errors.append((i - 1, "entity not ended", f"{tags[i - 1]} ends the {open_type} entity ({name} ends an "
                           f"entity with {end}-{open_type}, or marks a one-token entity {single}-{open_type})"))
        if prefix in "I" + end and not continues:
            errors.append((i, "entity not started", f"{tag} does not continue an entity ({name})"))
        if tag == "O":
            converted.append(tag)
        else:
            converted.append(("I-" if continues else "B-") + type_)
        open_type = type_ if prefix in "BI" else ""  # E-/S-/L-/U- and O leave no entity open
    if end and open_type:
        errors.append((len(tags) - 1, "entity not ended", f"{tags[-1]} ends the {open_type} entity at the sentence "
                       f"end ({name} ends an entity with {end}-{open_type}, or marks a one-token entity "
                       f"{single}-{open_type})"))
    return converted, errors


def from_iob2(tags: list, scheme: str) -> list:
    """IOB2 tags (e.g. predictions) written in `scheme`, so output matches the input files' scheme.

    An I-X that continues no entity (a model may predict one) is first read as B-X, as conlleval does; for a
    valid IOB2 sequence, to_iob2(from_iob2(tags, scheme), scheme) gives `tags` back.
    """
    tags = iob1_to_iob2(tags)
    if scheme == "iob2":
        return tags
    written = []
    for i, tag in enumerate(tags):
        if tag == "O":
            written.append(tag)
            continue
        prefix, type_ = tag[0], tag[2:]
        if scheme == "iob1":  # B- only where the previous token is in an entity of the same type
            previous = tags[i - 1] if i else "O"
            prefix = "B" if prefix == "B" and entity_type(previous) == type_ else "I"
        else:
            end, single = END_SINGLE[scheme]
            next_continues = i + 1 < len(tags) and tags[i + 1] == "I-" + type_
            if not next_continues:
                prefix = single if prefix == "B" else end
        written.append(f"{prefix}-{type_}")
    return written


def label_list(tag_sequences) -> list:
    """All labels, ordered O first, then by entity type, B- before I- (stable across runs)."""
    types = sorted({entity_type(t) for tags in tag_sequences for t in tags} - {""})
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


# --- offsets in the annotation tools' units ---------------------------------------------------------------------
# A Sentence's offsets are Python's code points; doccano, and Label Studio before 2022, count JavaScript's UTF-16
# code units (the browser's selection offsets). They differ after a character outside the Basic Multilingual Plane
# (an emoji, a rare Han character), which UTF-16 counts as two. Each table is built once a text, and only for a text
# that holds such a character.

ASTRAL = re.compile("[\U00010000-\U0010FFFF]")  # the characters UTF-16 counts as two code units


def has_astral(text: str) -> bool:
    return ASTRAL.search(text) is not None


def to_utf16(text: str):
    """code point offset -> UTF-16 code unit offset in `text` (any offset from 0 to len(text))."""
    if not has_astral(text):
        return lambda offset: offset
    return list(accumulate((2 if ord(character) > 0xFFFF else 1 for character in text), initial=0)).__getitem__


def from_utf16(text: str):
    """UTF-16 code unit offset -> code point offset in `text`, or None for one inside a surrogate pair or outside
    the text."""
    if not has_astral(text):
        return lambda offset: offset if 0 <= offset <= len(text) else None
    table = {units: index for index, units in enumerate(
        accumulate((2 if ord(character) > 0xFFFF else 1 for character in text), initial=0))}
    return table.get
