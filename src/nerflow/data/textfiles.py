"""Line-oriented text files as every reader takes them (decompressed as their names say, UTF-8, a BOM dropped),
and DataError: all the problems found in one file, each with its line, reported together.

Files are read one line at a time (nerflow.data.rawfiles.open_raw), so that a file of any size is read in
constant memory.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

from nerflow.data.rawfiles import open_raw

MAX_REPORTED = 10  # problems listed in full in an error; the rest are counted
BOM = b"\xef\xbb\xbf"


@dataclass
class DataError(Exception):
    """Problems found in one file: each is (line, kind, message); the line may be a place of another kind, a string
    written after the file's name as it is (":record 4" of a JSON list, "/doc01.ann:3" of a folder)."""

    path: str
    problems: list = field(default_factory=list)

    def __str__(self):
        counts = Counter(kind for _, kind, _ in self.problems)
        lines = [f"{place(self.path, line)}: {message}" for line, _, message in self.problems[:MAX_REPORTED]]
        if len(self.problems) > MAX_REPORTED:
            lines.append(f"... and {len(self.problems) - MAX_REPORTED} more")
        summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
        return "\n".join(lines + [f"{self.path}: {len(self.problems)} problem(s) ({summary}); nothing was written."])


def place(name: str, line) -> str:
    """`name:line`, or a place of another kind (a string) written after the name as it is."""
    return f"{name}{line}" if isinstance(line, str) else f"{name}:{line}"


def text_lines(path, problems: list):
    """Yield (number, line) for each line of a UTF-8 file (decompressed if its name says so: train.txt.gz),
    without BOM or line end; a line that is not UTF-8 is added to `problems` instead."""
    with open_raw(path) as raw:
        for number, raw_line in enumerate(raw, start=1):
            if number == 1 and raw_line.startswith(BOM):
                raw_line = raw_line[len(BOM):]
            try:
                yield number, raw_line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                problems.append((number, "not UTF-8", f"bytes that are not UTF-8 at column {e.start + 1}; "
                                                      "re-encode the file as UTF-8"))


def json_lines(path, problems: list):
    """Yield (number, value) for each non-blank line of a JSON-lines file (through text_lines); a line that is
    not JSON is added to `problems` instead."""
    for number, line in text_lines(path, problems):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as e:
            problems.append((number, "not JSON", f"not JSON ({e.msg} at column {e.colno})"))
        except (ValueError, RecursionError) as e:  # a number of more digits than Python converts, nesting too deep
            problems.append((number, "not JSON", f"not JSON that can be read ({e})"))
