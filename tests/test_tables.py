"""Tables read exactly (nerflow.tables): every record of a CSV or TSV file read as its line holds it, or a
`file:line` error naming the first line that breaks the format; and a review file like the one where rows were found
rows lost in, counted record by record against its physical lines."""

import bz2
import random
import shutil

import pytest
from conftest import data_metrics, fails, project, records, succeeds

from nerflow.data.textfiles import DataError
from nerflow.tasks.classification.preprocess.tables import read_rows


def rows(path, quoting="auto"):
    found = list(read_rows(path, quoting, path.name))
    return found[0][0], found[1:]


def write(path, text: str):
    path.write_bytes(text.encode("utf-8"))
    return path


def error_of(path, quoting="auto") -> str:
    with pytest.raises(DataError) as error:
        list(read_rows(path, quoting, path.name))
    return str(error.value)


def test_tsv_reads_quotes_as_text_by_default_and_crlf_as_line_ends(tmp_path):
    path = write(tmp_path / "train.tsv", 'text\tlabel\r\n"an opening quote, never closed\tpos\r\n'
                                         'said "fine" twice\tneg\r\n\r\n"quoted whole"\tpos\r\n')
    header, records_ = rows(path)
    assert header == ["text", "label"]
    assert records_ == [(2, ['"an opening quote, never closed', "pos"]), (3, ['said "fine" twice', "neg"]),
                        (5, ['"quoted whole"', "pos"])]  # line 4 is blank: no record


def test_csv_follows_rfc4180_quoting_and_keeps_each_records_first_line(tmp_path):
    path = write(tmp_path / "train.csv", 'text,label\n"a, b",pos\n"say ""hi""\nover two lines",neg\nplain,pos\n')
    assert rows(path)[1] == [(2, ["a, b", "pos"]), (3, ['say "hi"\nover two lines', "neg"]), (5, ["plain", "pos"])]


@pytest.mark.parametrize("name, content, quoting, line, says", [
    # A quote that opens and never closes: the line where it opens.
    ("train.csv", 'text,label\nok,pos\n"never closed,neg\nmore,pos\n', "auto", 3, "never closes"),
    ("train.tsv", 'text\tlabel\nok\tpos\n"never closed\tneg\nmore\tpos\n', "rfc4180", 3, "never closes"),
    # A quote closed on a later line and followed by text: still the line where it opened.
    ("train.csv", 'text,label\n"starts here,neg\nsaid "yes" twice,pos\n', "auto", 2, 'closes it on line 3'),
    ("train.csv", 'text,label\n"quoted" then text,neg\n', "auto", 2, "closing quote is followed by text"),
    # The wrong number of fields.
    ("train.tsv", "text\tlabel\nok\tpos\ntoo\tmany\tfields\n", "auto", 3, "3 fields, expected 2"),
    ("train.csv", "text,label\nok,pos\nno label\n", "auto", 3, "1 fields, expected 2"),
    ("train.csv", "text,label\nok,pos\nan unquoted, comma,neg\n", "auto", 3, "3 fields, expected 2"),
    # A NUL byte.
    ("train.tsv", "text\tlabel\nok\tpos\nnul\x00here\tneg\n", "auto", 3, "NUL byte"),
    ("train.csv", "text,label\nok,pos\nnul\x00here,neg\n", "auto", 3, "NUL byte"),
    # A TSV field holding a line break or a tab (possible only with quotes read as quotes).
    ("train.tsv", 'text\tlabel\nok\tpos\n"two\nlines"\tneg\n', "rfc4180", 3, "tab or a line break"),
    ("train.tsv", 'text\tlabel\n"a\ttab"\tneg\n', "rfc4180", 2, "tab or a line break"),
    # A carriage return alone inside a line (a line break the user's editor shows as none).
    ("train.tsv", "text\tlabel\nok\tpos\nbroken\rline\tneg\n", "auto", 3, "carriage return"),
    ("train.csv", "text,label\nbroken\rline,neg\n", "auto", 2, "carriage return"),
])
def test_a_broken_record_is_a_file_line_error(tmp_path, name, content, quoting, line, says):
    message = error_of(write(tmp_path / name, content), quoting)
    assert f"{name}:{line}: " in message and says in message, message


def test_not_utf8_is_named_by_line_in_compressed_files_too(tmp_path):
    data = "text\tlabel\nok\tpos\ncaf\xe9\tneg\n".encode("latin-1")
    (tmp_path / "train.tsv.bz2").write_bytes(bz2.compress(data))
    assert "train.tsv.bz2:3: not UTF-8" in error_of(tmp_path / "train.tsv.bz2")
    assert "train.tsv:1: no header" in error_of(write(tmp_path / "train.tsv", "\n\n"))


def test_quoting_param_is_checked(tmp_path):
    folder = project(tmp_path, {"train.tsv": "text\tlabel\na\tb\n"}, format="tsv", quoting="csv")
    (folder / "params.yaml").write_text((folder / "params.yaml").read_text() + "task: classification\n")
    assert "dataset.quoting is 'csv'" in fails(folder)


def review_file(seed: int = 0) -> tuple:
    """A TSV like the one rows were found lost in: 3,610 short reviews under `text<TAB>label`, CRLF line
    ends, 135 texts holding double quotes, 7 of them starting with a quote that never closes. Returns the
    file's text and the (text, label) of each row."""
    rng = random.Random(seed)
    words = "good bad plot actors film slow sharp warm dull funny long score".split()
    quoted = range(0, 26 * 135, 26)  # rows whose text holds quotes; every 20th of them opens with one
    examples = []
    for i in range(3610):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
        if i in quoted:
            text = f'"{text}' if i % (26 * 20) == 0 else f'the "{rng.choice(words)}" {text}'
        examples.append((text, "positive" if rng.random() < 0.5 else "negative"))
    return "text\tlabel\r\n" + "".join(f"{t}\t{label}\r\n" for t, label in examples), examples


def test_review_file_every_row_is_one_example_and_records_match_physical_lines(tmp_path):
    text, examples = review_file()
    assert sum('"' in t for t, _ in examples) == 135 and sum(t.startswith('"') for t, _ in examples) == 7
    folder = project(tmp_path, {"train.tsv": text}, format="tsv", split={"dev": 0.1, "test": 0.1, "seed": 1})
    (folder / "params.yaml").write_text((folder / "params.yaml").read_text() + "task: classification\n")
    succeeds(folder)
    counts = data_metrics(folder)["train"]
    physical_lines = text.count("\r\n")
    assert counts["records"] == physical_lines - 1 == 3610  # the header, then one record a line
    assert counts["records"] == counts["examples"] + sum(counts["dropped"].values()) + sum(counts["split_off"].values())
    kept = sorted((r["line"], r["text"], r["label"]) for split in ("train", "dev", "test") for r in records(folder, split))
    assert kept == [(i + 2, t, label) for i, (t, label) in enumerate(examples)]  # each exactly as its line holds it
    # Read with quotes as quotes, the same file is refused at the first line whose quote runs on: never merged.
    (folder / "params.yaml").write_text((folder / "params.yaml").read_text().replace("format: tsv", "format: tsv\n  quoting: rfc4180"))
    shutil.rmtree(folder / "data/processed"), shutil.rmtree(folder / "metrics")
    first = next(i for i, (t, _) in enumerate(examples) if t.startswith('"'))
    assert f"data/raw/train.tsv:{first + 2}: " in fails(folder)
