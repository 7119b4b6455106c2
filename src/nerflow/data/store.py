"""The processed records and tokenized windows of each split, as the stages write and read them: one JSON object
a line in {folder}/{split}.jsonl."""

from pathlib import Path

from nerflow.data.files import read_jsonl, write_jsonl


def write_split(folder: Path, split: str, records) -> None:
    """Write `records` (dicts) as split `split` of `folder` (call inside an atomic_dir)."""
    write_jsonl(Path(folder) / f"{split}.jsonl", records)


def read_split(folder: Path, split: str) -> list:
    return read_jsonl(Path(folder) / f"{split}.jsonl")


def split_files(folder: Path, split: str) -> list:
    """The files that hold split `split` of `folder` (to hash them)."""
    return [Path(folder) / f"{split}.jsonl"]
