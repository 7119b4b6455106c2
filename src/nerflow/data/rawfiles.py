"""The names of the raw files in data/raw: the download stage writes them, the readers find them here.

A raw file is a byte copy of its source, named {split}{format suffix}{compression} (the suffixes: paths.RAW_SUFFIX):
train.txt, dev.jsonl, train.csv.bz2; a folder of span files (BRAT) is copied whole, train.spans/. A source whose
name ends in a compression suffix is not decompressed (its sha256 pin is of the compressed bytes) and its raw file
keeps that suffix, from which readers (open_raw) infer how to decompress it. This module alone decides the names,
so that readers do not re-derive them.
"""

import bz2
import gzip
import io
import lzma
from pathlib import Path, PurePosixPath

from nerflow.paths import RAW_SUFFIX

COMPRESSIONS = (".bz2", ".gz", ".xz", ".zst")  # the compressions open_raw reads


def raw_name(split: str, fmt: str, source: str) -> str:
    """The raw file name of `split` in format `fmt`, copied from `source` (a path, archive member or URL path)."""
    compression = PurePosixPath(source).suffix.lower()
    return f"{split}{RAW_SUFFIX[fmt]}{compression if compression in COMPRESSIONS else ''}"


def raw_file(folder, split: str):
    """The raw file (or folder of span files) holding `split` in `folder` (any format, compressed or not), or None
    if there is none."""
    found = [path for suffix in RAW_SUFFIX.values() for compression in ("", *COMPRESSIONS)
             if (path := Path(folder) / f"{split}{suffix}{compression}").exists()]
    if len(found) > 1:
        raise ValueError(f"both {found[0]} and {found[1]} exist: which one holds {split} is ambiguous; "
                         "remove the stale one (or rerun the download stage)")
    return found[0] if found else None


def raw_format(path) -> str:
    """The dataset.format of a raw file, from its name (train.csv.bz2 -> csv)."""
    for fmt, suffix in RAW_SUFFIX.items():
        if any(Path(path).name.endswith(suffix + compression) for compression in ("", *COMPRESSIONS)):
            return fmt
    raise ValueError(f"{path}: not a raw file name (expected a suffix of {', '.join(RAW_SUFFIX.values())}, "
                     f"optionally followed by {', '.join(COMPRESSIONS)})")


def open_raw(path):
    """The raw file as a buffered binary stream, decompressed as its suffix says: read a line or a block at a
    time, a file of any size is read in constant memory. Damage (bad data, cut short) is a ValueError naming the
    file, raised where it is read."""
    path, compression = Path(path), Path(path).suffix.lower()
    if compression not in COMPRESSIONS:
        return open(path, "rb")
    if compression == ".zst":
        try:
            import zstandard  # not in the standard library before Python 3.14
        except ImportError:
            raise ValueError(f"{path} is zstd-compressed: reading it needs the zstandard package "
                             "(pip install zstandard)") from None
        # A stream reader: frames written by a stream (zstd -c) do not record their size.
        stream = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    else:
        stream = {".bz2": bz2.open, ".gz": gzip.open, ".xz": lzma.open}[compression](path, "rb")
    return io.BufferedReader(_Decompressed(stream, path, compression), buffer_size=1 << 20)


class _Decompressed(io.RawIOBase):
    def __init__(self, stream, path, compression):
        self.stream, self.path, self.compression = stream, path, compression

    def readable(self):
        return True

    def readinto(self, buffer):
        try:
            data = self.stream.read(len(buffer))
        except (OSError, EOFError, lzma.LZMAError) as error:  # bad data: OSError (bz2, gzip), cut short: EOFError
            raise ValueError(self.damaged(error)) from None
        except Exception as error:  # zstandard.ZstdError (the module may not be imported)
            if type(error).__name__ != "ZstdError":
                raise
            raise ValueError(self.damaged(error)) from None
        buffer[:len(data)] = data
        return len(data)

    def damaged(self, error) -> str:
        return (f"{self.path}: damaged {self.compression} file ({error or 'cut short'}); fetch it again "
                "(dvc repro -f download) or fix the source")

    def close(self):
        self.stream.close()
        super().close()
