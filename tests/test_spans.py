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
    # The task's data and id pass through (to write the predictions back as a task), not the annotation's own keys.
    assert json.loads(sentences[0].source)["fields"] == {"id": 3, "data": {"text": text}}
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
    ([[0, 3, "two\twords"]], "a span with label 'two\\twords': expected a type name (no tab or line break, no space"),
    ([[0, 3, "PER "]], "a span with label 'PER ': expected a type name"),
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
    (folder / "a.ann").write_text("T1\tSymptom 0 10\tChest pain\nT2\tSymptom 16 20;25 29\tleft pain\n"
                                  "R1\tRel Arg1:T1 Arg2:T2\n")
    assert f"{folder}/a.ann:2: a discontinuous span (16 20;25 29)" in error_of(folder)
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

    def sentence(doc, tokens, starts, tags, text=None, shape="doccano", unit="utf16", fields=None, spans=()):
        source = json.dumps({"shape": shape, "unit": unit, "fields": fields or {}, "spans": spans}) \
            if text is not None else None
        return Sentence(tokens, tags, doc, 1, starts=starts, ends=[s + len(t) for s, t in zip(starts, tokens)],
                        text=text, source=source)

    def scores(tags):
        return torch.log(torch.tensor([[0.9 if labels[i] == tag else 0.05 for i in range(3)] for tag in tags]))

    # Split off by sentences: doc 0's first sentence (with the text) is in train, its second here; doc 1 whole.
    # doc 1 was read with offsets: codepoints and goes back so; doc 2 is a BRAT file whose name holds dots.
    here = [sentence(0, ["Ana", "left"], [20, 24], ["B-PER", "O"]),
            sentence(1, ["😀", "Ana", "Silva"], [0, 2, 6], ["O", "B-PER", "I-PER"], text="😀 Ana Silva", unit="codepoints",
                     spans=[[2, 11, "PER"]]),
            sentence(2, ["Ana"], [0], ["B-PER"], text="Ana", shape="brat", fields={"file": "PMC1.v2"}, spans=[[0, 3, "PER"]]),
            sentence(3, ["Tim"], [0], ["B-PER"], text="Tim", shape="brat", fields={"file": "PMC1.v3"}, spans=[[0, 3, "PER"]])]
    spans = DocumentSpans(tmp_path, "dev", "models/finetuned", labels)
    spans.add(here, [s.tags for s in here], [scores(s.tags) for s in here])
    result = spans.close()
    # Scored by character where the text is here: doc 0's sentence is not (its text went to train).
    assert result["gold"] == result["correct"] == 3 and result["texts_not_written"] == 1
    (record,) = [json.loads(line) for line in (tmp_path / "dev.doccano.jsonl").read_text().splitlines()]
    assert record["text"] == "😀 Ana Silva" and record["label"] == record["gold"] == [[2, 11, "PER"]]
    written = tmp_path / "dev.brat" / "predicted"
    assert sorted(p.name for p in written.iterdir()) == ["PMC1.v2.ann", "PMC1.v2.txt", "PMC1.v3.ann", "PMC1.v3.txt"]
    assert (written / "PMC1.v3.ann").read_text() == "T1\tPER 0 3\tTim\n"


# --- Label Studio as it exports: JSON-MIN's records per annotation, the annotation chosen, its units -----------

def json_min_record(task_id, text, spans, annotation_id, created_at, control="ner", **data):
    """A JSON-MIN record as Label Studio's converter writes it: the task's data keys, its id, one key per control
    (absent where the annotation has no region), the annotation's keys."""
    record = {"text": text, **data, "id": task_id}
    if spans:
        record[control] = [{"start": a, "end": b, "text": text[a:b], "labels": [label]} for a, b, label in spans]
    return {**record, "annotator": 1, "annotation_id": annotation_id, "created_at": created_at,
            "updated_at": created_at, "lead_time": 3.5}


def test_json_min_is_one_text_a_task_its_newest_annotation_used_and_the_rest_counted(tmp_path):
    text, other = "Tim Cook met Ana.", "Nothing here."
    records = [  # newest first, as the converter writes them
        json_min_record(1, text, [(0, 8, "PER"), (13, 16, "PER")], 12, "2026-05-02T10:00:00.000000Z"),
        json_min_record(1, text, [(0, 8, "ORG")], 11, "2026-05-01T10:00:00.000000Z"),
        json_min_record(2, other, [], None, None),  # no one annotated task 2
        json_min_record(3, other, [], 13, "2026-05-03T10:00:00.000000Z"),  # annotated: no entity in it
    ]
    records[2]["annotator"] = None
    sentences, counts = read(write(tmp_path, "min.json", records))
    assert entities(sentences) == [("Tim Cook", "PER"), ("Ana", "PER")]
    assert counts.records == 4 and counts.dropped == {"other_annotation": 1, "unannotated": 1}
    assert counts.extra["texts"] == 2 and counts.extra["spans"]["read"] == 2  # task 1 (newest) and task 3
    source = json.loads(sentences[0].source)
    assert source["names"]["from_name"] == "ner" and source["fields"] == {"id": 1, "data": {"text": text}}
    # The order in the file does not decide: the newest by created_at does.
    sentences, _ = read(write(tmp_path, "reversed.json", records[1::-1]))
    assert entities(sentences) == [("Tim Cook", "PER"), ("Ana", "PER")]


def test_label_studio_json_uses_the_ground_truth_else_the_newest_annotation(tmp_path):
    text = "Tim Cook met Ana."

    def annotation(ident, created, label, **more):
        return {"id": ident, "created_at": created, "was_cancelled": False, **more, "result": [
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 0, "end": 8, "text": "Tim Cook", "labels": [label]}}]}
    newer = [annotation(1, "2026-05-01T10:00:00Z", "ORG"), annotation(2, "2026-05-02T10:00:00Z", "PER")]
    sentences, counts = read(write(tmp_path, "a.json", [{"id": 1, "data": {"text": text}, "annotations": newer}]))
    assert entities(sentences) == [("Tim Cook", "PER")] and counts.extra["spans"]["annotations_ignored"] == 1
    truth = [annotation(1, "2026-05-01T10:00:00Z", "ORG", ground_truth=True), annotation(2, "2026-05-02T10:00:00Z", "PER")]
    sentences, _ = read(write(tmp_path, "b.json", [{"id": 1, "data": {"text": text}, "annotations": truth}]))
    assert entities(sentences) == [("Tim Cook", "ORG")]


def test_json_min_goes_back_through_evaluate_under_its_own_control_name(tmp_path):
    import torch

    from nerflow.tasks.ner.evaluate import DocumentSpans

    text = "Tim Cook met Ana."
    records = [json_min_record(4, text, [(0, 8, "PER")], 7, "2026-05-02T10:00:00Z", control="entities", source="a")]
    sentences, _ = read(write(tmp_path, "min.json", records))
    labels = ["O", "B-PER", "I-PER"]
    scores = [torch.log(torch.tensor([[0.9 if labels[i] == t else 0.05 for i in range(3)] for t in s.tags]))
              for s in sentences]
    spans = DocumentSpans(tmp_path, "test", "models/finetuned", labels)
    spans.add(sentences, [s.tags for s in sentences], scores)
    assert spans.close()["f1"] == 1.0
    (task,) = json.loads((tmp_path / "test.labelstudio.json").read_text())
    assert task["id"] == 4 and task["data"] == {"text": text, "source": "a"}
    for result in task["predictions"][0]["result"] + task["annotations"][0]["result"]:
        assert (result["from_name"], result["to_name"]) == ("entities", "text")
        assert result["value"] == {**result["value"], "start": 0, "end": 8, "text": "Tim Cook", "labels": ["PER"]}


def test_the_text_under_another_data_key_is_named_with_the_param_to_set(tmp_path):
    task = {"id": 1, "data": {"content": "Tim Cook met Ana.", "url": "x"}, "annotations": [{"result": [
        {"from_name": "label", "to_name": "content", "type": "labels",
         "value": {"start": 0, "end": 8, "text": "Tim Cook", "labels": ["Medical Condition"]}}]}]}
    path = write(tmp_path, "a.json", [task])
    message = error_of(path)
    assert 'a.json:record 1: no "text" in the task\'s data (its text fields: content, url); set dataset.spans.text_key' in message
    sentences, _ = read(path, text_key="content")
    assert entities(sentences) == [("Tim Cook", "Medical Condition")]  # a type with a space in it
    assert json.loads(sentences[0].source)["names"] == {"from_name": "label", "to_name": "content", "data_key": "content"}


def test_old_utf16_offsets_are_told_from_all_the_spans_of_a_record(tmp_path):
    text = "😀 Ana Silva"  # 11 code points, 12 UTF-16 units: the old offsets of "Ana Silva" end past the code points

    def task(*spans):
        return [{"id": 1, "data": {"text": text}, "annotations": [{"result": [
            {"type": "labels", "value": {"start": a, "end": b, "text": mention, "labels": ["PER"]}}
            for a, b, mention in spans]}]}]
    assert entities(read(write(tmp_path, "end.json", task((3, 12, "Ana Silva"))))[0]) == [("Ana Silva", "PER")]
    assert entities(read(write(tmp_path, "two.json", task((3, 6, "Ana"), (7, 12, "Silva"))))[0]) == [
        ("Ana", "PER"), ("Silva", "PER")]
    # "aa" is at 2-4 counted either way, at other characters: which was meant cannot be known.
    text = "😀aaaa"
    message = error_of(write(tmp_path, "both.json", task((2, 4, "aa"))))
    assert "both.json:record 1: every span's value.text is found both at its offsets counted in code points and " \
           "counted in UTF-16 code units" in message and "set dataset.spans.offsets: codepoints" in message
    assert entities(read(write(tmp_path, "both.json", task((2, 4, "aa"))), offsets="codepoints")[0]) == [("aa", "PER")]
    text = "😀 Ana Silva"
    message = error_of(write(tmp_path, "mixed.json", task((2, 5, "Ana"), (7, 12, "Silva"))))
    assert "mixed.json:record 1: some spans' value.text is found at their offsets counted in code points, others' " \
           "in UTF-16" in message


def test_identical_copies_of_a_span_are_dropped_and_two_labels_over_one_span_keep_the_first(tmp_path):
    text = "Tim Cook met Ana."
    sentences, counts = read(write(tmp_path, "a.jsonl", [{"text": text, "label": [[0, 8, "PER"], [0, 8, "PER"]]}]))
    assert entities(sentences) == [("Tim Cook", "PER")]
    assert counts.extra["spans"] == {"read": 2, "kept": 1, "trimmed": 0, "dropped": {"duplicate": 1}, "words_split": 0}
    both = write(tmp_path, "b.jsonl", [{"text": text, "label": [[0, 8, "PER"], [0, 8, "ORG"]]}])
    assert "spans 0-8 (PER) and 0-8 (ORG) overlap" in error_of(both)
    assert entities(read(both, overlapping="drop")[0]) == [("Tim Cook", "PER")]
    reverse = write(tmp_path, "c.jsonl", [{"text": text, "label": [[0, 8, "ORG"], [0, 8, "PER"]]}])
    assert entities(read(reverse, overlapping="drop")[0]) == [("Tim Cook", "ORG")]


# --- BRAT as brat reads and writes it ---------------------------------------------------------------------------

def brat_folder(tmp_path, text, ann, name="a") -> "Path":
    folder = tmp_path / "brat"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    (folder / f"{name}.ann").write_bytes(ann if isinstance(ann, bytes) else ann.encode())
    return folder


def test_brat_byte_order_marks_and_lines_it_does_not_understand(tmp_path):
    # An .ann's byte order mark is no part of its first line: its span is read.
    folder = brat_folder(tmp_path, "Tim Cook met Ana.\n", "\ufeffT1\tPER 0 8\tTim Cook\nT2\tPER 13 16\tAna\n")
    sentences, counts = read(folder)
    assert entities(sentences) == [("Tim Cook", "PER"), ("Ana", "PER")] and counts.extra["spans"]["read"] == 2
    # brat counts a .txt's byte order mark as its first character: the offsets are one on.
    folder = brat_folder(tmp_path, "\ufeffTim Cook met Ana.\n", "T1\tPER 1 9\tTim Cook\n")
    (sentence,), _ = read(folder)
    assert entities([sentence]) == [("Tim Cook", "PER")] and sentence.tokens[0] == "Tim"
    folder = brat_folder(tmp_path, "Tim Cook met Ana.\n", "T1\tPER 0 8\tTim Cook\nT2 PER 13 16 Ana\n"
                                                           "R1\tRel Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\tceo\n\n")
    assert f"{folder}/a.ann:2: not a line of BRAT standoff ('T2 PER 13 16 Ana')" in error_of(folder)
    folder = brat_folder(tmp_path, "Tim Cook met Ana.\n", b"T1\tPER 0 8\tTim \xff\n")
    assert f"{folder}/a.ann: bytes that are not UTF-8 at byte 15" in error_of(folder)


def test_brat_writes_a_span_over_a_line_break_as_brat_does_and_reads_it_back(tmp_path):
    from nerflow.tasks.ner.evaluate.exports import SpanExport

    text = "He lives in New\nYork now.\n"
    folder = brat_folder(tmp_path, text, "T1\tLOC 12 15;16 20\tNew York\n")  # as brat's annotator writes it
    sentences, _ = read(folder)
    assert entities(sentences) == [("New\nYork", "LOC")]
    export = SpanExport(tmp_path / "out", "test", "m")
    written = export.add(text, {"shape": "brat", "fields": {"file": "a"}}, [{"start": 12, "end": 20, "label": "LOC"}],
                         [{"start": 12, "end": 20, "label": "LOC"}])
    export.close()
    assert written == [(12, 20, "LOC")]
    predicted = tmp_path / "out/test.brat/predicted"
    assert (predicted / "a.ann").read_text() == "T1\tLOC 12 15;16 20\tNew York\n"  # no line break inside a line
    back, _ = read(predicted)
    assert entities(back) == [("New\nYork", "LOC")]


# --- every malformed record a named problem -----------------------------------------------------------------

VALID = {
    "doccano.jsonl": [{"id": 1, "text": "Tim Cook met Ana.", "label": [[0, 8, "PER"], [13, 16, "PER"]]},
                      {"text": "Bonn.", "entities": [{"id": 1, "label": "LOC", "start_offset": 0, "end_offset": 4}],
                       "relations": []}],
    "prodigy.jsonl": [{"text": "Tim Cook met Ana.", "spans": [{"start": 0, "end": 8, "label": "PER"}],
                       "answer": "accept", "meta": {"n": 1}}],
    "ls.json": [{"id": 1, "data": {"text": "Tim Cook met Ana."}, "annotations": [
        {"id": 5, "created_at": "2026-05-01", "was_cancelled": False, "ground_truth": False, "result": [
            {"id": "a", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 0, "end": 8, "text": "Tim Cook", "labels": ["PER"]}},
            {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["x"]}}]}],
        "predictions": []}],
    "min.json": [json_min_record(1, "Tim Cook met Ana.", [(0, 8, "PER")], 3, "2026-05-01"),
                 json_min_record(2, "Ana.", [], None, None)],
}
SHAPES_OF = {"doccano.jsonl": "doccano", "prodigy.jsonl": "prodigy", "ls.json": "labelstudio", "min.json": "labelstudio"}
ODD_VALUES = [None, True, 0, -1, 7, 10 ** 9, 2.5, "", "x", "PER", [], [None], [0, 8], [0, 8, "PER"], {}, {"start": 0},
              {"labels": ["PER"]}, [{"start": 0, "end": 3, "labels": ["PER"]}]]


def mutations(value, rng):
    """`value` with one node replaced by an odd value, or one key dropped."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        if rng.random() < 0.2:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutations(value[key], rng)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        i = rng.randrange(len(value))
        return value[:i] + [mutations(value[i], rng)] + value[i + 1:]
    return rng.choice(ODD_VALUES)


@pytest.mark.parametrize("name", list(VALID))
def test_random_damage_to_any_record_is_a_named_problem_never_a_crash(tmp_path, name):
    import random

    rng = random.Random(name)
    read(write(tmp_path, name, VALID[name]))  # the undamaged file reads
    for trial in range(300):
        damaged = [mutations(record, rng) for record in VALID[name]]
        path = write(tmp_path, name, damaged)
        for shape in ("auto", SHAPES_OF[name]):
            try:
                read(path, shape=shape)
            except DataError as error:
                assert str(error).startswith(str(path)) or f"{path}" in str(error)


def test_random_brat_lines_are_named_problems_never_a_crash(tmp_path):
    import random

    rng = random.Random(3)
    pieces = ["T1", "T2", "R1", "E1", "A1", "#1", "*", "\t", " ", "PER", "0", "8", "3", ";", "-1", "99", "Tim Cook",
              "x", "\r", "\ufeff"]
    for trial in range(300):
        lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 4))]
        folder = brat_folder(tmp_path, "Tim Cook met Ana.\n", "\n".join(lines))
        try:
            read(folder)
        except DataError:
            pass


def test_a_result_without_type_and_prodigy_without_spans_are_named(tmp_path):
    task = [{"data": {"text": "Tim Cook."}, "annotations": [{"result": [{"value": {"start": 0, "end": 3,
                                                                                  "labels": ["PER"]}}]}]}]
    assert 'x.json:record 1: a result without "type"' in error_of(write(tmp_path, "x.json", task))
    prodigy = [{"text": "Tim Cook.", "answer": "accept"}]
    assert 'p.jsonl:1: "spans" must be a list' in error_of(write(tmp_path, "p.jsonl", prodigy), shape="prodigy")


def test_char_spans_score_the_export_as_written_against_the_files_own_spans(tmp_path, monkeypatch):
    """The gold is what the reader took from the file, the prediction what the export wrote, read back: an export
    that writes code points where doccano counts UTF-16 units (off by one after the emoji) scores nothing, though
    the tags are right."""
    import torch

    from nerflow.tasks.ner.evaluate import DocumentSpans, exports

    path = write(tmp_path, "a.jsonl", [{"text": "😀 Tim Cook met Ana.", "label": [[3, 11, "PER"], [16, 19, "PER"]]}])
    sentences, _ = read(path)
    labels = ["O", "B-PER", "I-PER"]

    def char_spans(folder):
        folder.mkdir()
        spans = DocumentSpans(folder, "test", "m", labels)
        scores = [torch.log(torch.tensor([[0.9 if labels[i] == t else 0.05 for i in range(3)] for t in s.tags]))
                  for s in sentences]
        spans.add(sentences, [s.tags for s in sentences], scores)
        return spans.close()
    assert char_spans(tmp_path / "right") == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "gold": 2,
                                                  "predicted": 2, "correct": 2}
    monkeypatch.setattr(exports, "to_utf16", lambda text: lambda offset: offset)
    shifted = char_spans(tmp_path / "shifted")
    assert shifted["gold"] == shifted["predicted"] == 2 and shifted["correct"] == 0


def test_json_min_ties_go_to_the_larger_annotation_id_and_region_choices_are_no_spans(tmp_path):
    text = "Tim Cook met Ana."
    records = [json_min_record(1, text, [(0, 8, "ORG")], 10, "2026-05-01T10:00:00Z"),
               json_min_record(1, text, [(0, 8, "PER")], 11, "2026-05-01T10:00:00Z")]  # same time: the later id
    records[1]["mood"] = [{"start": 0, "end": 8, "text": "Tim Cook", "choices": ["calm"]}]  # a per-region <Choices>
    sentences, counts = read(write(tmp_path, "min.json", records))
    assert entities(sentences) == [("Tim Cook", "PER")] and counts.dropped == {"other_annotation": 1}
    assert json.loads(sentences[0].source)["fields"]["data"] == {"text": text}  # a result, not the task's data


def test_more_malformed_label_studio_and_json_are_named(tmp_path):
    bad_result = [{"data": {"text": "hi there"}, "annotations": [{"result": 5}]}]
    assert 'r.json:record 1: "result" must be a list of results' in error_of(write(tmp_path, "r.json", bad_result))
    huge = '{"text": "a", "label": [[0, 1' + "1" * 5000 + ', "X"]]}\n'
    assert "h.jsonl:1: not JSON that can be read" in error_of(write(tmp_path, "h.jsonl", huge))
    deep = "[" * 100000 + "]" * 100000
    assert "d.json:1: not a JSON array" in error_of(write(tmp_path, "d.json", deep))


def test_brat_export_keeps_every_line_break_out_of_a_line_and_spaces_out_of_a_type(tmp_path):
    from nerflow.tasks.ner.evaluate.exports import brat_ann

    text = "Visit New\u2028York now\x85and\vthen"
    ann, written = brat_ann(text, [{"start": 6, "end": 14, "label": "LOC"}, {"start": 15, "end": 27, "label": "Med X"}])
    assert ann.count("\n") == 2 and len(ann.splitlines()) == 2  # no other break inside a line
    assert ann.splitlines()[0] == "T1\tLOC 6 9;10 14\tNew York"
    assert ann.splitlines()[1].startswith("T2\tMed_X ")
    assert written == [(6, 14, "LOC"), (15, 27, "Med X")]
