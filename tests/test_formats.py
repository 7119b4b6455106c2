import gzip
import json

import pytest

from nerflow.data.textfiles import DataError
from nerflow.data.rawfiles import raw_file
from nerflow.params import check_params
from nerflow.tasks.ner.preprocess import ReadOptions, read_split_file
from nerflow.tasks.ner.preprocess.jsonl import read_jsonl_sentences


def write(tmp_path, content, name="data.jsonl"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def line(tokens, tags, **extra):
    return json.dumps({"tokens": tokens, "tags": tags, **extra}) + "\n"


def test_jsonl_sentences_documents_and_lines(tmp_path):
    path = write(tmp_path, line(["EU", "rejects"], ["B-ORG", "O"], doc="a") + "\n"
                 + line(["German"], ["B-MISC"], doc="a", id=7) + line(["Peter Blackburn"], ["B-PER"], doc="b"))
    sentences = list(read_jsonl_sentences(path))
    assert [(s.doc, s.line, s.tokens, s.tags) for s in sentences] == [
        (0, 1, ["EU", "rejects"], ["B-ORG", "O"]), (0, 3, ["German"], ["B-MISC"]), (1, 4, ["Peter Blackburn"], ["B-PER"])]
    assert sentences[0].line_of(1) == 1  # every token of a JSONL sentence is on its line


def test_jsonl_without_doc_is_one_document_and_bom_is_stripped(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + (line(["a"], ["O"]) + line(["b"], ["B-X"])).encode())
    assert [s.doc for s in list(read_jsonl_sentences(path))] == [0, 0]


def test_jsonl_schemes_and_repair(tmp_path):
    path = write(tmp_path, line(["Peter", "Blackburn", "in", "Paris"], ["B-PER", "E-PER", "O", "S-LOC"]))
    assert list(read_jsonl_sentences(path, scheme="bioes"))[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    path = write(tmp_path, line(["EU", "rejects"], ["O", "I-ORG"]))
    assert ":1: I-ORG does not continue an entity" in str(pytest.raises(DataError, lambda *a, **k: list(read_jsonl_sentences(*a, **k)), path).value)
    repaired = list(read_jsonl_sentences(path, repair=True))[0]
    assert repaired.tags == ["O", "B-ORG"] and repaired.repairs == [(1, "I-ORG does not continue an entity (strict IOB2)")]


@pytest.mark.parametrize("content, says", [
    ('{"tokens": ["a"], "tags": ["O"]\n', "not JSON"),
    ('{"tokens": ["a"]}\n', 'expected an object with "tokens" and "tags" lists'),
    ('["a", "O"]\n', 'expected an object with "tokens" and "tags" lists'),
    ('{"tokens": "a", "tags": "O"}\n', '"tokens" and "tags" must be lists of strings'),
    ('{"tokens": ["a"], "tags": [0]}\n', '"tokens" and "tags" must be lists of strings'),
    ('{"tokens": [], "tags": []}\n', "a sentence with no tokens"),
    ('{"tokens": ["a", "b"], "tags": ["O"]}\n', "2 tokens but 1 tags"),
    ('{"tokens": ["a", " "], "tags": ["O", "O"]}\n', "token 1 is empty"),
    ('{"tokens": ["a", "b"], "tags": ["O", "B_X"]}\n', "token 1: invalid tag 'B_X': expected O or B-/I-TYPE"),
    (b'{"tokens": ["r\xe9jects"], "tags": ["O"]}\n', "bytes that are not UTF-8"),
])
def test_malformed_jsonl_names_the_line(tmp_path, content, says):
    good = line(["fine"], ["O"]).encode()
    path = write(tmp_path, good + (content if isinstance(content, bytes) else content.encode()) + good)
    message = str(pytest.raises(DataError, lambda *a, **k: list(read_jsonl_sentences(*a, **k)), path, name="my.jsonl").value)
    assert f"my.jsonl:2: {says}" in message
    assert "my.jsonl: 1 problem(s)" in message and "nothing was written" in message


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff"])
def test_empty_jsonl(tmp_path, content):
    path = write(tmp_path, content)
    assert ":1: no sentences" in str(pytest.raises(DataError, lambda *a, **k: list(read_jsonl_sentences(*a, **k)), path).value)


def test_every_jsonl_problem_is_counted(tmp_path):
    path = write(tmp_path, "x\n" + line(["a"], ["Q"]) + "y\n" + line([], []))
    message = str(pytest.raises(DataError, lambda *a, **k: list(read_jsonl_sentences(*a, **k)), path, name="f").value)
    assert "f: 4 problem(s) (invalid tag: 1, no tokens: 1, not JSON: 2)" in message


def test_reader_is_chosen_by_extension(tmp_path):
    (tmp_path / "train.jsonl").write_text(line(["New York"], ["U-LOC"]))
    (tmp_path / "dev.txt").write_text("New York\tU-LOC\n")
    options = ReadOptions(scheme="bilou", separator="\t")
    assert list(read_split_file(raw_file(tmp_path, "train"), options))[0].tokens == ["New York"]
    assert list(read_split_file(raw_file(tmp_path, "dev"), options))[0].tags == ["B-LOC"]
    assert raw_file(tmp_path, "test") is None
    (tmp_path / "dev.jsonl").write_text(line(["a"], ["O"]))
    with pytest.raises(ValueError, match="dev.txt and .*dev.jsonl exist"):
        raw_file(tmp_path, "dev")


def test_compressed_file_is_read_and_a_classification_file_refused(tmp_path):
    (tmp_path / "train.txt.gz").write_bytes(gzip.compress(b"Paris B-LOC\n"))  # as download names a .gz source
    (tmp_path / "dev.csv").write_text("label,text\npos,good\n")
    assert list(read_split_file(raw_file(tmp_path, "train"), ReadOptions()))[0].tags == ["B-LOC"]
    with pytest.raises(ValueError, match="dev.csv is csv: entity tagging reads conll"):
        list(read_split_file(raw_file(tmp_path, "dev"), ReadOptions()))


def test_options_from_params():
    dataset = check_params({"dataset": {"source": "local", "files": {"train": "t"}, "scheme": "iob1",
                                        "tag_column": 3}})["dataset"]
    assert ReadOptions.from_params(dataset) == ReadOptions(scheme="iob1", tag_column=3)
