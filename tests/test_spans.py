"""Span files (nerflow.tasks.ner.preprocess.spans): the annotation tools' exports read into Sentences, every span
an entity over exactly its characters or an error naming its place, or dropped under a named param and counted."""

import json

import pytest
from conftest import FIXTURES, data_metrics, fails, project, records, succeeds

from nerflow.data.splits import Counts
from nerflow.data.textfiles import DataError
from nerflow.tasks.ner.preprocess.spans import SpanOptions, read_span_file

SPANS = FIXTURES / "spans"


def read(path, **options) -> tuple:
    counts = Counts()
    sentences = list(read_span_file(path, SpanOptions(**options), str(path), counts))
    return sentences, counts


def entities(sentences, text=None) -> list:
    """(text of the entity, type) of every entity, read back from the words' offsets."""
    found = []
    for s in sentences:
        text = s.text if s.text is not None else text
        for i, tag in enumerate(s.tags):
            if tag.startswith("B-"):
                j = i + 1
                while j < len(s.tags) and s.tags[j] == "I-" + tag[2:]:
                    j += 1
                found.append((text[s.starts[i]:s.ends[j - 1]], tag[2:]))
    return found


def write(tmp_path, name: str, records) -> str:
    path = tmp_path / name
    if isinstance(records, str):
        path.write_text(records, encoding="utf-8")
    elif name.endswith(".json"):
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def error_of(path, **options) -> str:
    with pytest.raises(DataError) as error:
        read(path, **options)
    return str(error.value)


def test_doccano_label_studio_and_brat_exports_of_one_corpus_read_the_same():
    read_by = {}
    for shape, path in (("doccano", SPANS / "doccano/train.jsonl"), ("labelstudio", SPANS / "labelstudio/train.json"),
                        ("brat", SPANS / "brat/train")):
        sentences, counts = read(path)
        read_by[shape] = [(s.tokens, s.tags, s.starts, s.ends) for s in sentences]
        assert counts.extra["texts"] == 12 and counts.extra["spans"] == {
            "read": 34, "kept": 34, "trimmed": 1, "dropped": {}, "words_split": 1}
    assert read_by["doccano"] == read_by["labelstudio"] == read_by["brat"]
    sentences, counts = read(SPANS / "labelstudio/train.json")
    assert counts.records == 13 and counts.dropped == {"rejected": 1}  # a task whose annotation was cancelled
    found = entities(sentences)
    # after an emoji (doccano: UTF-16 offsets), across a CRLF, inside a word, with a trailing space trimmed:
    assert ("Tim Cook", "PER") in found and ("Bonn", "LOC") in found and ("HIV", "DISEASE") in found
    assert ("Paris", "LOC") in found and ("Paris ", "LOC") not in found


def test_a_span_inside_a_word_splits_the_word_and_whitespace_is_trimmed(tmp_path):
    text = "Doctors treated HIV-1 in Paris today."
    path = write(tmp_path, "a.jsonl", [{"text": text, "label": [[16, 19, "DISEASE"], [25, 31, "LOC"]]}])
    (sentence,), counts = read(path)
    assert sentence.tokens == ["Doctors", "treated", "HIV", "-1", "in", "Paris", "today", "."]
    assert sentence.tags == ["O", "O", "B-DISEASE", "O", "O", "B-LOC", "O", "O"]
    assert counts.extra["spans"]["words_split"] == 1 and counts.extra["spans"]["trimmed"] == 1


def test_doccano_offsets_are_utf16_units_unless_said_otherwise(tmp_path):
    text = "😀😀 Angela Merkel spoke."  # two astral characters: UTF-16 offsets run 2 ahead of code points
    path = write(tmp_path, "a.jsonl", [{"text": text, "label": [[5, 18, "PER"]]}])
    assert entities(read(path)[0]) == [("Angela Merkel", "PER")]
    assert entities(read(path, offsets="codepoints")[0]) == [("gela Merkel s", "PER")]  # as the file would say
    inside = write(tmp_path, "b.jsonl", [{"text": text, "label": [[1, 6, "PER"]]}])  # 1: inside the first emoji
    assert "b.jsonl:1: span 1-6 (PER): not a UTF-16 offset of the text" in error_of(inside)


def test_label_studio_value_text_says_the_unit_and_is_checked(tmp_path):
    text = "😀 Ana Silva flew to Japan."

    def task(start, end, mention, **annotation):
        value = {"start": start, "end": end, "text": mention, "labels": ["PER"]}
        return {"id": 7, "data": {"text": text}, "annotations": [{"result": [{"type": "labels", "value": value}],
                                                                  **annotation}]}
    assert entities(read(write(tmp_path, "now.json", [task(2, 11, "Ana Silva")]))[0]) == [("Ana Silva", "PER")]
    # Before 2022 Label Studio stored UTF-16 units: value.text shows it.
    assert entities(read(write(tmp_path, "old.json", [task(3, 12, "Ana Silva")]))[0]) == [("Ana Silva", "PER")]
    message = error_of(write(tmp_path, "bad.json", [task(2, 11, "Ann Silva")]))
    assert "bad.json:record 1: span 2-11 (PER): the text holds 'Ana Silva' there, the file says 'Ann Silva'" in message
    two = [{"id": 1, "data": {"text": text}, "annotations": [
        {"result": [{"type": "labels", "value": {"start": 2, "end": 11, "text": "Ana Silva", "labels": ["PER"]}}]},
        {"result": []}]}]
    sentences, counts = read(write(tmp_path, "two.json", two))
    assert entities(sentences) == [("Ana Silva", "PER")] and counts.extra["spans"]["annotations_ignored"] == 1


def test_label_studio_json_min_and_prodigy_records(tmp_path):
    text = "Tim Cook met Angela Merkel."
    minimal = [{"id": 3, "text": text, "label": [{"start": 0, "end": 8, "text": "Tim Cook", "labels": ["PER"]},
                                                  {"start": 13, "end": 26, "text": "Angela Merkel", "labels": ["PER"]}],
                "annotator": 1, "annotation_id": 9}]
    sentences, _ = read(write(tmp_path, "min.json", minimal))
    assert entities(sentences) == [("Tim Cook", "PER"), ("Angela Merkel", "PER")]
    assert json.loads(sentences[0].source)["fields"]["annotator"] == 1  # the record's other fields pass through
    prodigy = [{"text": text, "spans": [{"start": 0, "end": 8, "label": "PER"}], "answer": "accept", "meta": {"n": 1}},
               {"text": text, "spans": [], "answer": "reject"}, {"text": text, "spans": [], "answer": "ignore"}]
    sentences, counts = read(write(tmp_path, "p.jsonl", prodigy))
    assert entities(sentences) == [("Tim Cook", "PER")] and counts.dropped == {"rejected": 2}
    assert "p.jsonl:2: answer 'reject': a rejected or ignored annotation" in error_of(
        write(tmp_path, "p.jsonl", prodigy), rejected="error")


@pytest.mark.parametrize("label, says", [
    ([[0, 40, "PER"]], "span 0-40 (PER) is outside the text (17 characters)"),
    ([[-1, 3, "PER"]], "span -1-3 (PER) is outside the text"),
    ([[3, 3, "PER"]], "span 3-3 (PER) holds '': nothing to tag"),
    ([[3, 4, "PER"]], "span 3-4 (PER) holds ' ': nothing to tag"),
    ([[0, 3, "PER"], [0, 8, "LOC"]], "spans 0-8 (LOC) and 0-3 (PER) overlap"),  # nested
    ([[0, 8, "PER"], [4, 12, "LOC"]], "spans 0-8 (PER) and 4-12 (LOC) overlap"),
    ([[0, 3, "two words"]], "a span with label 'two words': expected a type name without spaces"),
    ([[0, "3", "PER"]], "offsets 0, '3': expected whole numbers"),
    (["positive"], '"label" must be a list of [start, end, "TYPE"]'),
])
def test_every_bad_span_is_an_error_naming_its_line(tmp_path, label, says):
    path = write(tmp_path, "a.jsonl", [{"text": "Tim Cook met us.", "label": []},
                                       {"text": "Tim Cook met Ana.", "label": label}])
    assert f"a.jsonl:2: {says}" in error_of(path)


def test_overlapping_spans_can_be_dropped_keeping_the_longest(tmp_path):
    path = write(tmp_path, "a.jsonl", [{"text": "New York City Council met.",
                                        "label": [[0, 8, "LOC"], [0, 21, "ORG"], [9, 13, "LOC"]]}])
    sentences, counts = read(path, overlapping="drop")
    assert entities(sentences) == [("New York City Council", "ORG")]
    assert counts.extra["spans"]["dropped"] == {"overlapping": 2} and counts.extra["spans"]["kept"] == 1


def test_brat_discontinuous_spans_and_mentions(tmp_path):
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_bytes("Chest pain and\r\nleft arm pain.\n".encode())
    (folder / "a.ann").write_text("T1\tSymptom 0 10\tChest pain\nT2\tSymptom 16 24;25 29\tleft arm pain\n"
                                  "R1\tRel Arg1:T1 Arg2:T2\n")
    assert f"{folder}/a.ann:2: a discontinuous span (16 24;25 29)" in error_of(folder)
    sentences, counts = read(folder, discontinuous="drop")
    assert entities(sentences) == [("Chest pain", "Symptom")] and counts.extra["spans"]["dropped"] == {"discontinuous": 1}
    (folder / "a.ann").write_text("T1\tSymptom 0 10\tChest pains\n")
    assert "the text holds 'Chest pain' there, the file says 'Chest pains'" in error_of(folder)
    assert "a folder, but dataset.spans.shape is doccano: BRAT's exports are folders" in error_of(folder, shape="doccano")


def test_a_span_over_a_line_break_joins_the_sentences_it_covers(tmp_path):
    text = "He lives in New\nYork now. It rains."
    (sentence, second), _ = read(write(tmp_path, "a.jsonl", [{"text": text, "label": [[12, 20, "LOC"]]}]))
    assert sentence.tokens == ["He", "lives", "in", "New", "York", "now", "."] and second.tokens == ["It", "rains", "."]
    assert entities([sentence, second]) == [("New\nYork", "LOC")]


def test_preprocess_counts_texts_and_spans_and_stops_on_unknown_dev_labels(tmp_path):
    train = [{"text": "Tim Cook met Ana Silva.", "label": [[0, 8, "PER"], [13, 22, "PER"]]},
             {"text": "Paris is big.", "label": [[0, 5, "LOC"]]}]
    dev = [{"text": "Bonn is small. Cook left.", "label": [[0, 4, "LOC"], [15, 19, "PER"]]}]
    test = [{"text": "The WHO met.", "label": [[4, 7, "ORG"]]}]
    raw = {name: "".join(json.dumps(r) + "\n" for r in rows) for name, rows in
           (("train.spans", train), ("dev.spans", dev), ("test.spans", test))}
    message = fails(project(tmp_path / "a", raw, format="spans"))
    assert "data/raw/test.spans:1: label 'B-ORG' does not occur in train (once)" in message
    folder = project(tmp_path / "b", raw, format="spans", unknown_labels="O")
    succeeds(folder)
    data = data_metrics(folder)
    assert data["train"]["records"] == data["train"]["texts"] == 2 and data["train"]["sentences"] == 2
    assert data["dev"]["sentences"] == 2 and data["dev"]["documents"] == 1  # a text is one document
    assert data["train"]["spans"] == {"read": 3, "kept": 3, "trimmed": 0, "dropped": {}, "words_split": 0}
    stored = records(folder, "dev")
    assert stored[0]["text"] == "Bonn is small. Cook left." and "text" not in stored[1]
    assert (stored[1]["starts"], stored[1]["ends"]) == ([15, 20, 24], [19, 24, 25])


def test_a_control_with_a_bad_span_and_spans_of_other_controls_are_errors_not_lost(tmp_path):
    text = "Tim Cook met Angela Merkel."
    minimal = [{"id": 3, "text": text, "label": [{"start": 0, "end": 8, "text": "Tim Cook", "labels": ["PER"]},
                                                  {"start": 13, "text": "Angela Merkel", "labels": ["PER"]}]}]
    assert "min.json:record 1: offsets 13, None: expected whole numbers" in error_of(write(tmp_path, "min.json", minimal))
    html = [{"data": {"text": text}, "annotations": [{"result": [
        {"type": "hypertextlabels", "value": {"start": "/p[1]", "end": "/p[1]", "startOffset": 0, "endOffset": 8,
                                              "hypertextlabels": ["PER"]}},
        {"type": "choices", "value": {"choices": ["news"]}}]}]}]
    assert "html.json:record 1: results of type hypertextlabels: nerflow reads <Labels> over <Text>" in error_of(
        write(tmp_path, "html.json", html))


def test_brat_annotations_without_their_text_are_an_error(tmp_path):
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "a.txt").write_text("Tim Cook spoke.\n")
    (folder / "a.ann").write_text("T1\tPER 0 8\tTim Cook\n")
    (folder / "b.ann").write_text("T1\tPER 0 3\tAna\n")  # its b.txt left out of the export
    assert f"{folder}/b.ann: annotations without their text: b.txt is missing" in error_of(folder)


def test_spans_go_back_to_their_own_text_in_the_unit_they_came_in(tmp_path):
    import torch

    from nerflow.tasks.ner.evaluate import DocumentSpans
    from nerflow.tasks.ner.records import Sentence

    labels = ["O", "B-PER", "I-PER"]

    def sentence(doc, tokens, starts, tags, text=None, shape="doccano", unit="utf16", fields=None):
        source = json.dumps({"shape": shape, "unit": unit, "fields": fields or {}}) if text is not None else None
        return Sentence(tokens, tags, doc, 1, starts=starts, ends=[s + len(t) for s, t in zip(starts, tokens)],
                        text=text, source=source)

    def scores(tags):
        return torch.log(torch.tensor([[0.9 if labels[i] == tag else 0.05 for i in range(3)] for tag in tags]))

    # Split off by sentences: doc 0's first sentence (with the text) is in train, its second here; doc 1 whole.
    # doc 1 was read with offsets: codepoints and goes back so; doc 2 is a BRAT file whose name holds dots.
    here = [sentence(0, ["Ana", "left"], [20, 24], ["B-PER", "O"]),
            sentence(1, ["😀", "Ana", "Silva"], [0, 2, 6], ["O", "B-PER", "I-PER"], text="😀 Ana Silva", unit="codepoints"),
            sentence(2, ["Ana"], [0], ["B-PER"], text="Ana", shape="brat", fields={"file": "PMC1.v2"}),
            sentence(3, ["Tim"], [0], ["B-PER"], text="Tim", shape="brat", fields={"file": "PMC1.v3"})]
    spans = DocumentSpans(tmp_path, "dev", "models/finetuned", labels)
    spans.add(here, [s.tags for s in here], [scores(s.tags) for s in here])
    result = spans.close()
    assert result["gold"] == result["correct"] == 4 and result["texts_not_written"] == 1
    (record,) = [json.loads(line) for line in (tmp_path / "dev.doccano.jsonl").read_text().splitlines()]
    assert record["text"] == "😀 Ana Silva" and record["label"] == record["gold"] == [[2, 11, "PER"]]
    written = tmp_path / "dev.brat" / "predicted"
    assert sorted(p.name for p in written.iterdir()) == ["PMC1.v2.ann", "PMC1.v2.txt", "PMC1.v3.ann", "PMC1.v3.txt"]
    assert (written / "PMC1.v3.ann").read_text() == "T1\tPER 0 3\tTim\n"
