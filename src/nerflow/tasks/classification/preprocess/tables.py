"""CSV and TSV files read exactly: every physical line is the header, part of one record, or blank, and a record
holds exactly the fields its line holds, or the file is refused with `file:line`.

Why not pandas: its default quoting reads a `"` that opens a TSV field as a quoted field running to the next `"`,
however many lines later. A file of 3,610 reviews, a few starting with a quote they never close, read as 3,456
examples with 154 rows swallowed into 4, and no error. Python's csv module reads one record at a time,
counts physical lines (`line_num`), and in strict mode refuses a closing quote followed by anything but a
delimiter or a line end; the checks it does not make (NUL bytes, the number of fields, line breaks in TSV fields)
are made here.

Quoting (`dataset.quoting`):
  auto     the convention of the format: none for TSV, rfc4180 for CSV
  none     a field is the text between two delimiters, quotes included; no field can hold a delimiter or a line
           break (the TSV convention)
  rfc4180  a field may be quoted ("a, b"), a quote inside written twice (""); a quoted CSV field may hold line
           breaks (RFC 4180), a TSV field may not (a tab or line break inside one is refused)

Files are opened with newline="\\n": CRLF line ends are read as line ends, and a carriage return alone inside a
line is refused rather than read as a line break the user's editor does not show.
"""

import csv
import io
from pathlib import Path

from nerflow.data.textfiles import DataError
from nerflow.data.rawfiles import open_raw, raw_format

DELIMITERS = {"csv": ",", "tsv": "\t"}  # dataset.format -> field delimiter


def effective_quoting(fmt: str, quoting: str) -> str:
    return ("none" if fmt == "tsv" else "rfc4180") if quoting == "auto" else quoting


class _Lines:
    """The file's lines for csv.reader, refusing a NUL byte where it occurs (the csv module reads it as text)."""

    def __init__(self, text, name: str):
        self.text, self.name, self.number = text, name, 0

    def __iter__(self):
        for line in self.text:
            self.number += 1
            if "\0" in line:
                raise DataError(self.name, [(self.number, "NUL byte", "a NUL byte: the file is not text (or not "
                                                                      "UTF-8); save it as UTF-8 text")])
            yield line


def first_bad_utf8_line(path) -> tuple:
    """(line number, message) of the first line of a raw file that is not UTF-8."""
    with open_raw(path) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, f"not UTF-8 ({error.reason} at byte {error.start} of the line); save the file as UTF-8"
    return 1, "not UTF-8; save the file as UTF-8"


def read_rows(path: Path, quoting: str = "auto", name: str = None):
    """Yield (header, None) once, then (line, fields) for each record: `line` is where the record starts (the
    header is line 1), `fields` its values, as many as the header's. Blank lines are skipped (they hold no
    record). DataError names the first line that breaks the rules above; nothing is yielded past it."""
    name = name or str(path)
    fmt = raw_format(path)
    if fmt not in DELIMITERS:
        raise DataError(name, [(1, "format", f"{fmt} is not a table (csv or tsv)")])
    mode = effective_quoting(fmt, quoting)
    options = dict(delimiter=DELIMITERS[fmt], strict=True)
    options.update(quoting=csv.QUOTE_NONE) if mode == "none" else options.update(quotechar='"', doublequote=True)
    with open_raw(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="\n") as text:
        lines = _Lines(text, name)
        reader = csv.reader(lines, **options)
        header, previous_end = None, 0
        try:
            for fields in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not fields:  # a blank line
                    continue
                if header is None:
                    header = fields
                    yield header, None
                    continue
                problem = _field_problem(fields, header, fmt, mode)
                if problem:
                    raise DataError(name, [(start, *problem)])
                yield start, fields
        except csv.Error as error:
            raise DataError(name, [_parse_problem(str(error), previous_end + 1, reader.line_num)]) from None
        except UnicodeDecodeError:
            line, message = first_bad_utf8_line(path)
            raise DataError(name, [(line, "not UTF-8", message)]) from None
    if header is None:
        raise DataError(name, [(1, "empty file", "no header and no rows")])


def _field_problem(fields: list, header: list, fmt: str, mode: str):
    if len(fields) != len(header):
        return ("wrong field count", f"{len(fields)} fields, expected {len(header)} as in the header"
                + ("; under quoting none a quote is text and a delimiter always ends a field" if mode == "none" else
                   "; a field holding the delimiter must be quoted"))
    if fmt == "tsv" and mode == "rfc4180" and any("\n" in f or "\r" in f or "\t" in f for f in fields):
        return ("line break in a field", "a quoted field holds a tab or a line break, which a TSV field cannot "
                "(a quote that opens here and closes on a later line?); fix the quotes, or set dataset.quoting: none")
    return None


def _parse_problem(message: str, start: int, end: int) -> tuple:
    """(line, kind, message) for the csv module's error on the record that starts at line `start` and was read
    up to line `end`: the line named is where the record starts, where a quote that runs on opened."""
    plain = "or set dataset.quoting: none if quotes are plain text"
    if message == "unexpected end of data":
        return (start, "unclosed quote", f"a quoted field opens in this record and never closes; close it, {plain}")
    if "expected after" in message:
        where = "its closing quote" if start == end else f"the quote that closes it on line {end}"
        return (start, "unclosed quote", f"a quoted field opens in this record and {where} is followed by text, "
                f"not by a delimiter or a line end (a quote inside a quoted field is written \"\"); {plain}")
    if "new-line character seen in unquoted field" in message:
        return (end, "carriage return", "a carriage return (\\r) inside a line; save the file with LF or CRLF "
                "line ends")
    return (start, "malformed", message)
