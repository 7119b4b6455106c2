"""nerflow.predict: words and character offsets, windowing, entities the seqeval way, the `nerflow predict`
command, and agreement with transformers' token-classification pipeline on the same model folder."""

import io
import json
import os
import random
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import torch

from nerflow.tasks.ner import predict as ner_predict  # the Tagger's module
from nerflow.tools import cli
from nerflow.tasks.ner.tokenize.windows import encode
from nerflow.tasks.ner.predict import TaggedWord, Tagger, entities_from_words
from nerflow.tools.predict import load
from nerflow.tasks.ner.preprocess.text import split_sentences
from conftest import LABELS, PEOPLE, PLACES, training_data

BIN = Path(sys.executable).parent
SCRIPT_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The models are tiny: a second thread only adds contention on a shared machine (tens of times slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tagger(ner_model_dir):
    return load(ner_model_dir, device="cpu", batch_size=4)  # fp32: scores comparable with the pipeline's


def found(entities: list) -> list:
    return [(e["label"], e["text"]) for e in entities]


def assert_entities_slice(text: str, entities: list):
    for e in entities:
        assert text[e["start"]:e["end"]] == e["text"], (text, e)
        assert 0 < e["score"] <= 1


def test_words_are_split_like_conll_and_sentences_follow_each_other():
    text = "Mr. O'Neil's well-known U.S. office\t(3.5%),  Zürich. Germany's team won."
    assert [text[a:b] for a, b in word_spans(text)] == [
        "Mr.", "O'Neil", "'s", "well-known", "U.S.", "office", "(", "3.5", "%", ")", ",", "Zürich", ".",
        "Germany", "'s", "team", "won", "."]
    # Combining marks stay in their word: Devanagari vowel signs and virama, NFD accents.
    for text, words in (("हिन्दी भाषा", ["हिन्दी", "भाषा"]), (unicodedata.normalize("NFD", "Café René"), ["Café", "René"])):
        assert [text[a:b] for a, b in word_spans(text)] == [unicodedata.normalize("NFD", w) for w in words]


def test_entities_are_grouped_like_seqeval():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    for _ in range(500):
        tags = [rng.choice(LABELS) for _ in range(rng.randint(0, 12))]
        words = [TaggedWord(2 * i, 2 * i + 1, tag, 0.5) for i, tag in enumerate(tags)]  # word i is text[2i]
        entities = entities_from_words("x " * len(tags), words)
        assert [(e["label"], e["start"] // 2, e["end"] // 2) for e in entities] == get_entities(tags), tags
    # An I- after O or after another type starts an entity; the score is the mean over the entity's words.
    words = [TaggedWord(i, i + 1, tag, score) for i, (tag, score) in
             enumerate([("I-PER", 0.5), ("I-PER", 1.0), ("I-LOC", 0.25), ("O", 1.0), ("B-LOC", 0.75), ("I-LOC", 0.25)])]
    assert [(e["label"], e["text"], e["score"]) for e in entities_from_words("abcdef", words)] == [
        ("PER", "ab", 0.75), ("LOC", "c", 0.25), ("LOC", "ef", 0.5)]


@pytest.mark.parametrize("text, expected", [
    ("Angela Merkel joined Berlin.", [("PER", "Angela Merkel"), ("LOC", "Berlin")]),
    ("Anna  \t and\tJohn   Garcia left  New \t York .", [("PER", "Anna"), ("PER", "John   Garcia"), ("LOC", "New \t York")]),
    ("(Zürich), Geneva; London!", [("LOC", "Zürich"), ("LOC", "Geneva"), ("LOC", "London")]),
    ("  Anna", [("PER", "Anna")]),
    # Possessives are words of their own, as in CoNLL-2003: the entity ends before "'s".
    ("Berlin's Anna joined John Garcia in London. Anna's cars left.",
     [("LOC", "Berlin"), ("PER", "Anna"), ("PER", "John Garcia"), ("LOC", "London"), ("PER", "Anna")]),
    ("a cars commission.", []),
])
@pytest.mark.slow  # a model trained to tag names first
def test_entity_offsets_slice_the_input_text(tagger, text, expected):
    entities = tagger(text)
    assert found(entities) == expected
    assert_entities_slice(text, entities)


@pytest.mark.slow  # a model trained to tag names first
def test_empty_texts_have_no_entities(tagger):
    assert tagger("") == []
    assert tagger(["", " \t ", "Anna", "\n"]) == [[], [], [{"label": "PER", "start": 0, "end": 4, "text": "Anna",
                                                            "score": tagger("Anna")[0]["score"]}], []]
    assert tagger([]) == []


@pytest.mark.slow  # a model trained to tag names first
def test_loading_leaves_transformers_progress_bars_as_they_were(ner_model_dir):
    from transformers.utils import logging

    assert logging.is_progress_bar_enabled()
    load(ner_model_dir, device="cpu")
    assert logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        load(ner_model_dir, device="cpu")
        assert not logging.is_progress_bar_enabled()
    finally:
        logging.enable_progress_bar()


@pytest.mark.slow  # a model trained to tag names first
def test_tagger_switches_dropout_off(tagger):
    text = "Angela Merkel left Zürich and Anna"
    settings = {"max_length": tagger.max_length, "window_overlap": tagger.window_overlap, "context": tagger.context,
                "constrained_decoding": tagger.constrained}
    training = Tagger(tagger.model.train(), tagger.tokenizer, settings)
    assert training(text) == tagger(text) == training(text)


@pytest.mark.slow  # a model trained to tag names first
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_finds_the_same_entities(ner_model_dir, tagger):
    on_gpu = load(ner_model_dir)
    assert next(on_gpu.model.parameters()).device.type == "cuda"
    texts = ["Angela Merkel joined Berlin.", "Geneva: " + "John Garcia left New York. " * 20]
    assert [found(e) for e in on_gpu(texts)] == [found(e) for e in tagger(texts)]


@pytest.mark.slow  # a model trained to tag names first
def test_long_text_is_windowed_and_every_word_tagged_once(ner_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(ner_model_dir, folder)
    (folder / "nerflow.json").write_text(json.dumps({"max_length": 16, "window_overlap": 4}))
    tagger = load(folder, device="cpu")
    assert (tagger.max_length, tagger.window_overlap) == (16, 4)
    sentence = "Angela Merkel and Anna left Zürich for New York. "
    text = "Geneva: " + sentence * 25
    spans = word_spans(text)
    assert len(encode(tagger.tokenizer, [[text[a:b] for a, b in spans]], 16, 4)) > 25
    [words] = tagger.tag_words([text])
    assert [(w.start, w.end) for w in words] == spans  # one prediction per word, in order
    entities = tagger(text)
    assert found(entities) == [("LOC", "Geneva")] + [
        ("PER", "Angela Merkel"), ("PER", "Anna"), ("LOC", "Zürich"), ("LOC", "New York")] * 25
    assert_entities_slice(text, entities)


def word_spans(text: str) -> list:
    """The words of `text` as predict reads them: its sentences' words one after the other."""
    return [word for sentence in split_sentences(text) for word in sentence]


@pytest.mark.slow  # a model trained to tag names first
def test_document_context_reads_the_sentences_of_a_text_together(ner_model_dir, tmp_path, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(ner_model_dir, folder)
    (folder / "nerflow.json").write_text(json.dumps({"max_length": 32, "window_overlap": 8, "context": "document"}))
    in_documents, alone = load(folder, device="cpu"), load(ner_model_dir, device="cpu")
    assert (in_documents.context, alone.context) == ("document", "sentence")  # a folder without the key: sentence
    encoded = []

    def recording_encode(*args, **kwargs):
        encoded.append(encode(*args, **kwargs))
        return encoded[-1]

    monkeypatch.setattr(ner_predict, "encode", recording_encode)
    texts = ["Anna left Berlin. John Garcia joined London. Geneva", "", "Angela Merkel. Zürich !"]
    expected = [[("PER", "Anna"), ("LOC", "Berlin"), ("PER", "John Garcia"), ("LOC", "London"), ("LOC", "Geneva")],
                [], [("PER", "Angela Merkel"), ("LOC", "Zürich")]]
    for tagger, windows in ((in_documents, 2), (alone, 5)):  # a window per text, or per sentence
        tagged = tagger.tag_words(texts)
        assert [[(w.start, w.end) for w in words] for words in tagged] == [word_spans(text) for text in texts]
        assert len(encoded[-1]) == windows
        assert [found(entities) for entities in tagger(texts)] == expected
    with pytest.raises(ValueError, match="context is 'paragraph'"):
        Tagger(alone.model, alone.tokenizer, {"context": "paragraph"})


@pytest.mark.slow  # a model trained to tag names first
def test_transformers_pipeline_reads_the_folder_and_agrees(ner_model_dir, tagger):
    from transformers import pipeline

    ner = pipeline("token-classification", model=str(ner_model_dir), aggregation_strategy="first", device="cpu")
    texts = ["Angela Merkel joined Berlin .", "Anna and John Garcia left New York for Zürich .",
             "a Geneva , London ; Anna"]
    for text, theirs, ours in zip(texts, ner(texts), tagger(texts)):
        assert len(ours) >= 2
        # The tokenizer is uncased and strips accents: their `word` is the text normalised.
        assert [text[e["start"]:e["end"]].lower().replace("ü", "u") for e in theirs] == [e["word"] for e in theirs]
        # Words split alike (whitespace-separated, punctuation apart): same entities, same scores.
        assert [(e["entity_group"], e["start"], e["end"]) for e in theirs] == [(e["label"], e["start"], e["end"]) for e in ours]
        assert [e["score"] for e in ours] == pytest.approx([float(e["score"]) for e in theirs], abs=1e-4)


def run_script(args: list, stdin: bytes = b"", script: str = None) -> subprocess.CompletedProcess:
    command = [str(BIN / script)] if script else [sys.executable, "-m", "nerflow.tools.cli"]
    return subprocess.run(command + args, input=stdin, capture_output=True, env=SCRIPT_ENV, timeout=300)


def output_records(stdout) -> list:
    return [json.loads(line) for line in (stdout.decode() if isinstance(stdout, bytes) else stdout).splitlines()]


@pytest.mark.slow  # a model trained to tag names first
def test_console_script_tags_text_arguments(ner_model_dir):
    result = run_script(["predict", str(ner_model_dir), "Anna left Berlin.", "John  Garcia"], script="nerflow")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""  # no "Loading weights" bar from transformers, no tagging bar for two short texts
    records = output_records(result.stdout)
    assert [r["text"] for r in records] == ["Anna left Berlin.", "John  Garcia"]
    assert [found(r["entities"]) for r in records] == [[("PER", "Anna"), ("LOC", "Berlin")], [("PER", "John  Garcia")]]
    assert records[0]["entities"][1]["start"] == 10 and records[0]["entities"][1]["end"] == 16


@pytest.mark.slow  # a model trained to tag names first
def test_stdin_gives_one_output_line_per_input_line(ner_model_dir):
    stdin = "Anna left Berlin.\n\nZürich\r\n   \nGeneva".encode()
    result = run_script(["predict", str(ner_model_dir)], stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    records = output_records(result.stdout)
    assert [r["text"] for r in records] == ["Anna left Berlin.", "", "Zürich", "   ", "Geneva"]
    assert [found(r["entities"]) for r in records] == [
        [("PER", "Anna"), ("LOC", "Berlin")], [], [("LOC", "Zürich")], [], [("LOC", "Geneva")]]


@pytest.mark.slow  # a model trained to tag names first
def test_jsonl_file_passes_other_fields_through_to_output(ner_model_dir, tmp_path):
    source, target = tmp_path / "input.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"id": 1, "text": "Anna and Angela Merkel"}\n\n{"text": "", "id": "two"}\n', encoding="utf-8")
    result = run_script(["predict", str(ner_model_dir), "--jsonl", "--file", str(source), "--output", str(target),
                         "--batch-size", "1"])
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    records = output_records(target.read_text(encoding="utf-8"))
    assert [(r["id"], r["text"]) for r in records] == [(1, "Anna and Angela Merkel"), ("two", "")]
    assert [found(r["entities"]) for r in records] == [[("PER", "Anna"), ("PER", "Angela Merkel")], []]


@pytest.mark.slow  # a model trained to tag names first
@pytest.mark.parametrize("lines, error", [
    (b'{"text": "Anna"}\n\n{"text": "Berlin"\n', "input.jsonl:3: bad JSON"),
    (b'{"text": "Anna"}\n{"id": 2}\n', 'input.jsonl:2: expected a JSON object with a "text" field'),
    (b'["Anna"]\n', 'input.jsonl:1: expected a JSON object with a "text" field'),
    (b'{"text": 5}\n', 'input.jsonl:1: "text" must be a string'),
    (b'{"text": "Anna"}\n{"text": "Z\xfcrich"}\n', "input.jsonl:2: not UTF-8"),
])
def test_bad_jsonl_is_reported_with_file_and_line(ner_model_dir, tmp_path, capsys, lines, error):
    source, target = tmp_path / "input.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(lines)
    status = cli.main(["predict", str(ner_model_dir), "--jsonl", "--file", str(source), "--output", str(target)])
    assert status == 1
    assert f"{source.parent}/{error}" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.slow  # a model trained to tag names first
def test_bad_stdin_and_bad_arguments_are_reported(ner_model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"text": "Anna"}\nAnna\n')))
    assert cli.main(["predict", str(ner_model_dir), "--jsonl", "--file", "-"]) == 1
    assert "<stdin>:2: bad JSON" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path / "missing"), "Anna"]) == 1
    assert "missing: no such model folder" in capsys.readouterr().err
    assert cli.main(["predict", str(ner_model_dir), "--file", str(tmp_path / "missing.txt")]) == 1
    assert "missing.txt: No such file or directory" in capsys.readouterr().err
    assert cli.main(["predict", str(ner_model_dir), "Anna", "--jsonl"]) == 1
    assert "--jsonl applies to --file or stdin" in capsys.readouterr().err
