"""Atomic file and directory writes, and sha256 checks.

A stage that fails must leave no half-written output: everything is written under a temporary name in the
same folder and renamed into place only when complete (a rename is atomic on one filesystem).
"""

import contextlib
import csv
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

def sha256_of(path) -> str:
    """The file's sha256, read once per process while it is unchanged (the train stage hashes the base weights
    for the checkpoint and again for the model card); a folder's, that of the `sha256sum` lines of its files
    sorted by path, as `cd FOLDER && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum` prints it."""
    if Path(path).is_dir():
        files = sorted((p for p in Path(path).rglob("*") if p.is_file()),
                       key=lambda p: p.relative_to(path).as_posix().encode())
        lines = "".join(f"{sha256_of(p)}  ./{p.relative_to(path).as_posix()}\n" for p in files)
        return hashlib.sha256(lines.encode()).hexdigest()
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path, expected: str, what: str = "") -> None:
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ValueError(
            f"{what or path}: sha256 mismatch\n  expected {expected}\n  actual   {actual}\n"
            "The file is not the one params.yaml pins: fix the source or update the sha256 there."
        )


@contextlib.contextmanager
def atomic_dir(target):
    """Yield a temporary folder beside `target`; on success it replaces `target`, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the output is an ordinary folder
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text_atomic(path, text: str) -> None:
    """Write `text` with '\\n' line ends (DVC hashes bytes) under a temporary name, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the output is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_csv_atomic(path, records: list) -> None:
    """Records (dicts with the same keys) as CSV: a sixth of the JSON's size for long, narrow tables."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(records[0]) if records else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(path, text.getvalue())


def write_jsonl(path, records) -> None:
    """Write one JSON object per line (call inside an atomic_dir)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
