"""Dev and test split off train when the data has none, the train_examples limit, and the count of where every
record went. Plans work on sizes alone (records per document), so that a corpus of any size is split without
holding its records.
"""

import random

import numpy as np

def plan_split(document_sizes: list, missing, fractions: dict, seed: int, unit: str = "sentences") -> tuple:
    """(split of each record in file order, how it was split: "documents" or `unit`), for train's records grouped
    in consecutive documents of `document_sizes` records.

    Each missing split takes round(fraction * records) records, at least one, in SPLITS order: whole documents
    drawn in a seeded random order until the split has its share (no document is then shared with train), or,
    when documents are too few or too uneven for that (a split would be off its share by more than half), single
    records. Every split keeps file order, so the same records, fractions and seed always give the same split.
    """
    total = sum(document_sizes)
    targets = {split: max(1, round(fractions[split] * total)) for split in missing}
    if sum(targets.values()) >= total:
        raise ValueError(f"train has {total} {unit}: too few to split off {' and '.join(missing)} "
                         "and keep some for train")
    chosen = _draw(document_sizes, targets, seed)
    if chosen is not None:
        owner = [None] * len(document_sizes)
        for split, units in chosen.items():
            for u in units:
                owner[u] = split
        return [split for split, size in zip(owner, document_sizes) for _ in range(size)], "documents"
    chosen = _draw([1] * total, targets, seed)
    owner = [None] * total
    for split, units in chosen.items():
        for u in units:
            owner[u] = split
    return owner, unit


def _draw(sizes: list, targets: dict, seed: int):
    """Units in seeded random order, each split taking them until it has its target of records; None when a
    split would be off its target by more than half or train would be left with nothing."""
    order = list(range(len(sizes)))
    random.Random(seed).shuffle(order)
    chosen, position = {}, 0
    for split, target in targets.items():
        chosen[split], size = [], 0
        while size < target and position < len(order):
            chosen[split].append(order[position])
            size, position = size + sizes[order[position]], position + 1
        if abs(size - target) > target / 2:
            return None
    if position == len(order):
        return None
    chosen["train"] = order[position:]
    return chosen


def document_starts(documents) -> np.ndarray:
    """Where each document starts, as record indices, for records whose documents are runs of equal consecutive
    values of `documents` (an array of document numbers)."""
    documents = np.asarray(documents)
    return np.flatnonzero(np.r_[True, documents[1:] != documents[:-1]]) if len(documents) else np.zeros(0, np.int64)


def document_sizes(documents) -> list:
    """The records of each document, in file order (see document_starts)."""
    return np.diff(np.append(document_starts(documents), len(documents))).tolist()


class Counts:
    """Where the records of one split's file went: records read = kept + dropped (by reason) + split off to dev
    and test (train only). Written to metrics/data.json, so that no record is lost without a word."""

    def __init__(self):
        self.records, self.kept, self.dropped, self.split_off = 0, 0, {}, {}
        self.extra = {}  # what else the reader counts in the file (NER: tag sequence repairs)

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def as_dict(self, unit: str) -> dict:
        counts = {"records": self.records, unit: self.kept, "dropped": dict(self.dropped)}
        if self.split_off:
            counts["split_off"] = dict(self.split_off)
        return {**counts, **self.extra}
