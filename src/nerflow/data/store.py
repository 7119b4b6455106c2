"""The records and windows the stages pass on, as Arrow: each split of data/processed and data/tokenized is a
folder of Arrow IPC files (part-00000.arrow, ...), written in record batches and read back memory-mapped, so that
no stage holds a corpus in Python lists.

Why pyarrow's IPC files and not `datasets.Dataset.save_to_disk`: the stages need shards that end at document
boundaries (document context reads a document's sentences together) and bytes that do not depend on how many
processes wrote them (DVC hashes the outputs); save_to_disk shards by size and writes through a cache. An IPC file
is what datasets itself memory-maps; reading a split is pyarrow's zero-copy concatenation of its parts.

Streaming passes (preprocess, tokenize) read record batch by batch into ordinary memory (`batches`); random access
(training, scoring) maps the files (`read_split`): the pages a process touches are the file's, which the kernel
drops under memory pressure, not the process's own memory.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BATCH_ROWS = 8192  # rows in one record batch of a written file


class SplitWriter:
    """Writes one part file of a split, record batch by record batch (call inside an atomic_dir); rows are dicts
    of the same keys, each value a number, a string, a bool or a list of numbers or strings (None where absent)."""

    def __init__(self, path: Path, batch_rows: int = None):
        self.path, self.batch_rows = Path(path), batch_rows or BATCH_ROWS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.pending, self.writer, self.schema, self.rows = [], None, None, 0

    def __enter__(self):
        return self

    def add(self, row: dict) -> None:
        self.pending.append(row)
        if len(self.pending) >= self.batch_rows:
            self.flush()

    def add_table(self, table: pa.Table) -> None:
        self.flush()
        if table.num_rows:
            self._write(table)

    def flush(self) -> None:
        if self.pending:
            self._write(rows_to_table(self.pending, self.schema))
            self.pending = []

    def _write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.schema = table.schema
            self.writer = pa.ipc.new_file(str(self.path), self.schema)
        self.writer.write_table(table.cast(self.schema), max_chunksize=self.batch_rows)
        self.rows += table.num_rows

    def __exit__(self, kind, *_):
        if kind is None:
            self.flush()
            if self.writer is None:  # no rows: an empty file of no columns, so that the split exists
                self.writer = pa.ipc.new_file(str(self.path), pa.schema([]))
        if self.writer is not None:
            self.writer.close()


def rows_to_table(rows: list, schema: pa.Schema = None) -> pa.Table:
    """Column by column, typed as the first rows say: lists of ints as int32 (token ids, labels), ints as int64."""
    if schema is not None:
        return pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in schema.names}, schema=schema)
    columns = {}
    for name in rows[0]:
        values = [row.get(name) for row in rows]
        columns[name] = pa.array(values, type=_type_of(next((v for v in values if v is not None), None)))
    return pa.table(columns)


def _type_of(value):
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, (list, tuple)):
        first = next(iter(value), 0)
        return pa.list_(pa.string() if isinstance(first, str) else pa.int32())
    return pa.string() if isinstance(value, str) or value is None else None


def part_name(index: int) -> str:
    return f"part-{index:05d}.arrow"


def split_files(folder: Path, split: str) -> list:
    """The part files of split `split` of `folder`, in order (to read or to hash them)."""
    return sorted((Path(folder) / split).glob("part-*.arrow"))


def read_split(folder: Path, split: str) -> pa.Table:
    """Split `split` of `folder` as one table over its memory-mapped part files (nothing copied)."""
    files = split_files(folder, split)
    if not files:
        raise FileNotFoundError(f"{Path(folder) / split}: no part files; run the stage that writes it first")
    tables = [pa.ipc.open_file(pa.memory_map(str(f))).read_all() for f in files]
    tables = [t for t in tables if t.num_columns] or tables[:1]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def count_rows(folder: Path, split: str) -> int:
    """Rows of a split (its files' record batch headers; no data read)."""
    return read_split(folder, split).num_rows


def batches(folder: Path, split: str, columns: list = None):
    """The record batches of a split, in order, each read into memory and dropped once the caller moves on."""
    for f in split_files(folder, split):
        with pa.OSFile(str(f)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield batch.select(columns) if columns else batch


def rows(folder: Path, split: str, columns: list = None):
    """The rows of a split as dicts, in order, a record batch in memory at a time."""
    for batch in batches(folder, split, columns):
        yield from batch.to_pylist()


class Windows:
    """Model windows by index, each a dict of lists (at least "input_ids"): the rows of a memory-mapped split, as
    the stages read them, or a list of dicts, as `nerflow predict` makes them from raw text. A row becomes Python
    values only when it is taken, a batch at a time."""

    def __init__(self, windows, columns: list = None):
        self._lengths = None  # the same rows have the same lengths, whichever columns are kept
        if isinstance(windows, Windows):
            windows, self._lengths = (windows.table if windows.table is not None else windows.rows), windows._lengths
        if isinstance(windows, pa.Table):
            self.table, self.rows = (windows.select(columns) if columns else windows), None
        else:
            self.table, self.rows = None, [{k: w[k] for k in columns} for w in windows] if columns else list(windows)

    def __len__(self):
        return self.table.num_rows if self.table is not None else len(self.rows)

    @property
    def lengths(self) -> np.ndarray:
        """Pieces in each window (int64), from the input_ids column's offsets: no window is read."""
        if self._lengths is None:
            if self.table is not None:
                lengths = pc.list_value_length(self.table.column("input_ids"))
                self._lengths = lengths.to_numpy().astype(np.int64) if len(self) else np.zeros(0, np.int64)
            else:
                self._lengths = np.array([len(w["input_ids"]) for w in self.rows], dtype=np.int64)
        return self._lengths

    def __getitem__(self, i: int) -> dict:
        return self.take([i])[0]

    def take(self, indices) -> list:
        """The windows at `indices` as dicts of Python values, in that order. Row by row: Arrow's take on a table
        of several part files first concatenates each column, that is copies the whole split."""
        if self.table is None:
            return [self.rows[i] for i in indices]
        return [row for i in indices for row in self.table.slice(int(i), 1).to_pylist()]

    __getitems__ = take  # torch's DataLoader fetches a whole batch through it

    def slice(self, start: int, end: int) -> "Windows":
        """Windows [start, end), nothing copied."""
        return Windows(self.table.slice(start, end - start) if self.table is not None else self.rows[start:end])

    def column(self, name: str) -> list:
        """One field of every window, as Python values (for the small splits scoring reads whole)."""
        return self.table.column(name).to_pylist() if self.table is not None else [w[name] for w in self.rows]
