import pytest

from nerflow.conll import ConllError, Sentence, read_conll, write_conll


def write(tmp_path, content, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_documents_sentences_and_order(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n\n"
                           "German JJ B-NP B-MISC\n-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER")
    sentences = read_conll(path)
    assert [(s.doc, s.tokens, s.tags, s.line) for s in sentences] == [
        (0, ["EU", "rejects"], ["B-ORG", "O"], 3),
        (0, ["German"], ["B-MISC"], 8),
        (1, ["Peter", "Blackburn"], ["B-PER", "I-PER"], 11),
    ]


def test_crlf_bom_and_no_docstart(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfParis\tB-LOC\r\nis\tO\r\n\r\nRome\tB-LOC\r\n")
    sentences = read_conll(path)
    assert [(s.doc, s.tokens, s.tags) for s in sentences] == [(0, ["Paris", "is"], ["B-LOC", "O"]), (0, ["Rome"], ["B-LOC"])]


def test_tag_column_can_be_chosen(tmp_path):
    path = write(tmp_path, "Paris B-LOC NNP\n")
    assert read_conll(path, tag_column=1)[0].tags == ["B-LOC"]


def test_iob1_is_converted_to_iob2(tmp_path):
    path = write(tmp_path, "Peter I-PER\nBlackburn I-PER\nJohn B-PER\nmet O\nEU I-ORG\n")
    assert read_conll(path, scheme="iob1")[0].tags == ["B-PER", "I-PER", "B-PER", "O", "B-ORG"]


@pytest.mark.parametrize("content, line, kind", [
    ("EU B-ORG\nrejects O extra\n", 2, "3 columns, expected 2"),
    ("EU B-ORG\nrejects X-ORG\n", 2, "invalid tag 'X-ORG'"),
    ("EU B-ORG\nrejects B-\n", 2, "invalid tag 'B-'"),
    ("", 1, "no sentences"),
    ("-DOCSTART- -X- -X- O\n\n\n", 1, "no sentences"),
    (b"EU B-ORG\nr\xe9jects O\n", 2, "not UTF-8"),
    ("EU O\nrejects I-ORG\n", 2, "I-ORG does not continue an entity"),
    ("EU B-PER\nrejects I-ORG\n", 2, "I-ORG does not continue an entity"),
])
def test_malformed_files_name_file_and_line(tmp_path, content, line, kind):
    path = write(tmp_path, content)
    with pytest.raises(ConllError) as error:
        read_conll(path)
    message = str(error.value)
    assert f"{path}:{line}: " in message
    assert kind in message
    assert "nothing was written" in message


def test_every_problem_is_reported_with_a_summary(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects X\ncalls O O\n\nfoo Y\n")
    message = str(pytest.raises(ConllError, read_conll, path, name="my.txt").value)
    assert "my.txt:2:" in message and "my.txt:3:" in message and "my.txt:5:" in message
    assert "3 problem(s) (column count: 1, invalid tag: 2)" in message


def test_write_conll_is_conlleval_input(tmp_path):
    sentences = [Sentence(["EU", "rejects"], ["B-ORG", "O"], doc=0), Sentence(["Peter"], ["B-PER"], doc=1)]
    write_conll(tmp_path / "out.conll", sentences, [["B-ORG", "O"], ["B-LOC"]])
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- O O\n\nEU B-ORG B-ORG\nrejects O O\n\n-DOCSTART- O O\n\nPeter B-PER B-LOC\n\n")
