"""Tag schemes. Internally every tag sequence is IOB2: an entity starts with B-TYPE, continues with I-TYPE."""

import re

TAG_PATTERN = re.compile(r"^(?:O|[BI]-[^\s-][^\s]*)$")
SCHEMES = ("iob1", "iob2")


def is_valid_tag(tag: str) -> bool:
    return bool(TAG_PATTERN.match(tag))


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


def first_iob2_violation(tags: list):
    """Index of the first I-X that does not continue an X entity, or None if `tags` is valid IOB2."""
    previous = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and entity_type(previous) != tag[2:]:
            return i
        previous = tag
    return None


def label_list(tag_sequences) -> list:
    """All labels, ordered O first, then by entity type, B- before I- (stable across runs)."""
    types = sorted({entity_type(t) for tags in tag_sequences for t in tags} - {""})
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def entity_counts(tag_sequences) -> dict:
    """Number of entities per type (counting B- tags of IOB2 sequences)."""
    counts = {}
    for tags in tag_sequences:
        for tag in tags:
            if tag.startswith("B-"):
                counts[tag[2:]] = counts.get(tag[2:], 0) + 1
    return dict(sorted(counts.items()))
