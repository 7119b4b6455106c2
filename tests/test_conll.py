import pytest

from nerflow.data.textfiles import DataError
from nerflow.tasks.ner.evaluate import write_conll
from nerflow.tasks.ner.preprocess.conll import read_conll
from nerflow.tasks.ner.records import Sentence


def read_all(path, **options) -> list:
    """Every sentence read_conll yields (it raises DataError after the last)."""
    return list(read_conll(path, **options))


def write(tmp_path, content, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_documents_sentences_and_order(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n\n"
                           "German JJ B-NP B-MISC\n-DOCSTART- -X- -X- O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER")
    sentences = list(read_conll(path))
    assert [(s.doc, s.tokens, s.tags, s.line) for s in sentences] == [
        (0, ["EU", "rejects"], ["B-ORG", "O"], 3),
        (0, ["German"], ["B-MISC"], 8),
        (1, ["Peter", "Blackburn"], ["B-PER", "I-PER"], 11),
    ]


def test_crlf_bom_and_no_docstart(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfParis\tB-LOC\r\nis\tO\r\n\r\nRome\tB-LOC\r\n")
    sentences = list(read_conll(path))
    assert [(s.doc, s.tokens, s.tags) for s in sentences] == [(0, ["Paris", "is"], ["B-LOC", "O"]), (0, ["Rome"], ["B-LOC"])]


def test_tag_column_can_be_chosen(tmp_path):
    path = write(tmp_path, "Paris B-LOC NNP\n")
    assert list(read_conll(path, tag_column=1))[0].tags == ["B-LOC"]


def test_iob1_is_converted_to_iob2(tmp_path):
    path = write(tmp_path, "Peter I-PER\nBlackburn I-PER\nJohn B-PER\nmet O\nEU I-ORG\n")
    assert list(read_conll(path, scheme="iob1"))[0].tags == ["B-PER", "I-PER", "B-PER", "O", "B-ORG"]


def test_tab_separator_keeps_spaces_in_tokens_and_columns_can_be_chosen(tmp_path):
    path = write(tmp_path, "1\tvon Willebrand disease\tI-DISEASE\tx\n2\tis\tO\tx\n\n1\tNew York \t B-LOC\tx\n")
    sentences = list(read_conll(path, separator="\t", token_column=1, tag_column=2, scheme="iob1"))
    assert [(s.tokens, s.tags, s.line) for s in sentences] == [
        (["von Willebrand disease", "is"], ["B-DISEASE", "O"], 1), (["New York"], ["B-LOC"], 4)]
    # Split on any whitespace instead, the spaces inside tokens make column counts differ.
    message = str(pytest.raises(DataError, read_all, path, token_column=1, tag_column=2, scheme="iob1").value)
    assert ":2: 4 columns, expected 6 as on the first token line" in message


def test_single_space_separator_is_exact(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects  O\n")
    assert "3 columns, expected 2" in str(pytest.raises(DataError, read_all, path, separator=" ").value)
    assert list(read_conll(path))[0].tags == ["B-ORG", "O"]  # any whitespace: the double space is one separator


def test_tab_separated_empty_token(tmp_path):
    path = write(tmp_path, "EU\tB-ORG\n \tO\n")
    assert ":2: empty token" in str(pytest.raises(DataError, read_all, path, separator="\t").value)


@pytest.mark.parametrize("token_column, tag_column", [(0, 2), (1, -1), (-3, 0)])
def test_columns_that_do_not_exist_or_coincide(tmp_path, token_column, tag_column):
    path = write(tmp_path, "EU B-ORG\nrejects O\n")
    message = str(pytest.raises(DataError, read_all, path, token_column=token_column, tag_column=tag_column).value)
    assert f":1: 2 columns: token_column {token_column} and tag_column {tag_column} must be two different" in message


def test_bioes_and_bilou_files_are_read_as_iob2(tmp_path):
    path = write(tmp_path, "Peter B-PER\nBlackburn E-PER\nin O\nParis S-LOC\n")
    assert list(read_conll(path, scheme="bioes"))[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    path = write(tmp_path, "Peter B-PER\nBlackburn L-PER\nin O\nParis U-LOC\n")
    assert list(read_conll(path, scheme="bilou"))[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    message = str(pytest.raises(DataError, read_all, path, scheme="bioes").value)
    assert "invalid tag 'U-LOC': expected O or B-/I-/E-/S-TYPE" in message


def test_bioes_sequence_errors_name_the_line(tmp_path):
    path = write(tmp_path, "Peter B-PER\nBlackburn I-PER\nin O\nParis E-LOC\n")
    message = str(pytest.raises(DataError, read_all, path, scheme="bioes").value)
    assert ":2: I-PER ends the PER entity (BIOES ends an entity with E-PER" in message
    assert ":4: E-LOC does not continue an entity (BIOES)" in message
    assert "2 problem(s) (entity not ended: 1, entity not started: 1)" in message


def test_repair_turns_a_stray_i_into_b_and_keeps_where(tmp_path):
    path = write(tmp_path, "EU O\nrejects I-ORG\nGerman I-MISC\n\nPeter B-PER\nBlackburn I-PER\n")
    assert "set dataset.repair: true" in str(pytest.raises(DataError, read_all, path).value)
    sentences = list(read_conll(path, repair=True))
    assert [s.tags for s in sentences] == [["O", "B-ORG", "B-MISC"], ["B-PER", "I-PER"]]
    assert sentences[0].repairs == [(2, "I-ORG does not continue an entity (strict IOB2)"),
                                    (3, "I-MISC does not continue an entity (strict IOB2)")]
    assert sentences[1].repairs == []
    # Repair does not hide other problems.
    bad = write(tmp_path, "EU O\nrejects I-ORG\ncalls X\n", "bad.txt")
    assert "1 problem(s) (invalid tag: 1)" in str(pytest.raises(DataError, read_all, bad, repair=True).value)


@pytest.mark.parametrize("content, line, kind", [
    ("EU B-ORG\nrejects O extra\n", 2, "3 columns, expected 2"),
    ("EU B-ORG\nrejects X-ORG\n", 2, "invalid tag 'X-ORG'"),
    ("EU B-ORG\nrejects B-\n", 2, "invalid tag 'B-'"),
    ("", 1, "no sentences"),
    ("-DOCSTART- -X- -X- O\n\n\n", 1, "no sentences"),
    (b"EU B-ORG\nr\xe9jects O\n", 2, "not UTF-8"),
    ("EU O\nrejects I-ORG\n", 2, "I-ORG does not continue an entity"),
    ("EU B-PER\nrejects I-ORG\n", 2, "I-ORG does not continue an entity"),
    ("EU\n", 1, "one column only"),
])
def test_malformed_files_name_file_and_line(tmp_path, content, line, kind):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as error:
        list(read_conll(path))
    message = str(error.value)
    assert f"{path}:{line}: " in message
    assert kind in message
    assert "nothing was written" in message


def test_every_problem_is_reported_with_a_summary(tmp_path):
    path = write(tmp_path, "EU B-ORG\nrejects X\ncalls O O\n\nfoo Y\n")
    message = str(pytest.raises(DataError, read_all, path, name="my.txt").value)
    assert "my.txt:2:" in message and "my.txt:3:" in message and "my.txt:5:" in message
    assert "3 problem(s) (column count: 1, invalid tag: 2)" in message


def test_a_one_column_first_line_does_not_set_the_column_count(tmp_path):
    path = write(tmp_path, "Title\n\n1\tEU\tB-ORG\tx\n2\trejects\tO\tx\n")
    message = str(pytest.raises(DataError, read_all, path, separator="\t", token_column=1, tag_column=2).value)
    assert f"{path}:1: one column only" in message and "1 problem(s)" in message  # not "4 columns, expected 2"
    path = write(tmp_path, "Title\n\nEU B-ORG\n")  # the columns asked for are checked on the next line
    message = str(pytest.raises(DataError, read_all, path, tag_column=3).value)
    assert f"{path}:3: 2 columns: token_column 0 and tag_column 3 must be two different columns" in message


def test_docstart_is_optional_and_bom_is_stripped(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf-DOCSTART- O\n\nA B-X\n\nB O\n")
    assert [(s.doc, s.tokens) for s in list(read_conll(path))] == [(0, ["A"]), (0, ["B"])]
    path = write(tmp_path, b"\xef\xbb\xbfA B-X\n-DOCSTART- O\nB O\n")  # BOM not part of the first token
    assert [(s.doc, s.tokens) for s in list(read_conll(path))] == [(0, ["A"]), (1, ["B"])]


def test_write_conll_is_conlleval_input_written_a_chunk_at_a_time(tmp_path):
    sentences = [Sentence(["EU", "rejects"], ["B-ORG", "O"], doc=0), Sentence(["it"], ["O"], doc=0),
                 Sentence(["Peter"], ["B-PER"], doc=1)]
    with open(tmp_path / "out.conll", "w") as f:
        doc = write_conll(f, sentences[:1], [["B-ORG", "O"]])
        assert write_conll(f, sentences[1:], [["O"], ["B-LOC"]], doc) == 1  # the first sentence's document goes on
    assert (tmp_path / "out.conll").read_text() == (
        "-DOCSTART- O O\n\nEU B-ORG B-ORG\nrejects O O\n\nit O O\n\n-DOCSTART- O O\n\nPeter B-PER B-LOC\n\n")
