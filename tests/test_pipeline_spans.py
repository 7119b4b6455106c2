"""Span files through the whole pipeline with `dvc repro`: a doccano export, a Label Studio export and a BRAT folder
(tests/fixtures/spans: emoji before spans, CRLF, spans inside words, a trailing space, a cancelled annotation),
and Chinese and Japanese text; predictions scored by character span, written back in the input's shape, and
read back as input with the same spans; `nerflow predict` writes the tools' pre-annotation imports."""

import json
import sys

import pytest
from conftest import FIXTURES, dvc, make_project, run

from nerflow.data.splits import Counts
from nerflow.tasks.ner.preprocess.spans import SpanOptions, read_span_file

pytestmark = pytest.mark.slow  # each runs the five stages

SPANS = FIXTURES / "spans"
FILES = {"doccano": {s: f"fixture/{s}.jsonl" for s in ("train", "dev", "test")},
         "labelstudio": {s: f"fixture/{s}.json" for s in ("train", "dev", "test")},
         "labelstudio_min": {s: f"fixture/{s}.json" for s in ("train", "dev", "test")},
         "prodigy": {s: f"fixture/{s}.jsonl" for s in ("train", "dev", "test")},
         "brat": {s: f"fixture/{s}" for s in ("train", "dev", "test")}}
EXPORT = {"doccano": "test.doccano.jsonl", "labelstudio": "test.labelstudio.json",
          "labelstudio_min": "test.labelstudio.json", "prodigy": "test.prodigy.jsonl", "brat": "test.brat/predicted"}
# What each export of the same 13 notes holds besides their 12 annotated texts: Label Studio's JSON a cancelled task;
# its JSON-MIN (one record an annotation, "Medical Condition" for DISEASE) a second, older annotation of a task and
# a task no one annotated; Prodigy a rejected answer.
RECORDS = {"doccano": 12, "labelstudio": 13, "labelstudio_min": 14, "prodigy": 13, "brat": 12}
DROPPED = {"doccano": {}, "labelstudio": {"rejected": 1}, "labelstudio_min": {"other_annotation": 1, "unannotated": 1},
           "prodigy": {"rejected": 1}, "brat": {}}


def spans_of(path, **options) -> list:
    """Each text's (start, end, label) spans, as nerflow reads them."""
    found, doc, text = [], None, None
    for sentence in read_span_file(path, SpanOptions(**options), str(path), Counts()):
        if sentence.text is not None:
            found.append((sentence.text, []))
        for i, tag in enumerate(sentence.tags):
            if tag.startswith("B-"):
                j = i + 1
                while j < len(sentence.tags) and sentence.tags[j] == "I-" + tag[2:]:
                    j += 1
                found[-1][1].append((sentence.starts[i], sentence.ends[j - 1], tag[2:]))
    return found


@pytest.mark.parametrize("shape", list(FILES))
def test_a_tools_export_runs_through_every_stage(tmp_path, tiny_model_dir, shape):
    env = make_project(tmp_path, SPANS / shape, tiny_model_dir, format="spans", files=FILES[shape],
                       top={"epochs": 3})
    dvc("repro", cwd=tmp_path, env=env)
    data = json.loads((tmp_path / "metrics/data.json").read_text())
    assert data["train"]["texts"] == 12 and data["train"]["spans"]["trimmed"] == 1
    assert data["train"]["spans"]["read"] == data["train"]["spans"]["kept"] == 34
    assert data["train"]["records"] == RECORDS[shape] and data["train"]["dropped"] == DROPPED[shape]
    scores = json.loads((tmp_path / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        by_span = scores[split]["char_spans"]
        assert by_span["gold"] == sum(len(spans) for _, spans in spans_of(SPANS / shape / FILES[shape][split][8:]))
        # Each gold span is exactly a run of words: scoring by characters is conlleval's scoring of the words.
        assert by_span["f1"] == pytest.approx(scores[split]["f1"]) and by_span["precision"] == pytest.approx(
            scores[split]["precision"])
    exported = tmp_path / "data/predictions" / EXPORT[shape]
    assert exported.exists() and (tmp_path / "data/predictions/test.conll").exists()
    predicted = sum(line.split()[-1].startswith("B-") for line in (tmp_path / "data/predictions/test.conll")
                    .read_text().splitlines() if line and not line.startswith("-DOCSTART-"))
    gold = spans_of(SPANS / shape / FILES[shape]["test"][8:])
    if shape.startswith("labelstudio"):  # gold as the tasks' annotations, predictions beside them, in one file
        assert spans_of(exported) == gold  # read back as input: the annotations, the same spans
        tasks = json.loads(exported.read_text())
        assert tasks[0]["predictions"][0]["model_version"] == "models/finetuned"
        assert tasks[0]["data"]["source"] == "note-test-0"  # the task's own fields pass through
        results = [r["value"] for task in tasks for r in task["predictions"][0]["result"]]
        assert len(results) == predicted and all(
            task["data"]["text"][r["value"]["start"]:r["value"]["end"]] == r["value"]["text"]
            for task in tasks for r in task["predictions"][0]["result"])
    else:  # the predictions, read back as input, give the spans the model predicted, over the same texts
        back = spans_of(exported)
        assert [text for text, _ in back] == [text for text, _ in gold]
        assert sum(len(spans) for _, spans in back) == predicted
    if shape == "labelstudio_min":
        assert "Medical Condition" in data["train"]["entities"]  # a type with a space, as Label Studio allows
        assert_label_studio_round_trip(tmp_path, env)


LABEL_CONFIG = """<View>
  <Labels name="ents" toName="note">
    <Label value="PER"/><Label value="LOC"/><Label value="Medical Condition"/>
  </Labels>
  <Text name="note" value="$body"/>
</View>"""


def assert_label_studio_round_trip(folder, env):
    """A Label Studio project's tasks (its own control, object and data key) pre-annotated by `nerflow predict
    --label-config`, accepted as annotations, read back by preprocess: the entities predict gave, of the config's
    types; the types the config lacks left out and counted."""
    texts = ["Angela Merkel visited Paris.", "Doctors in Lagos treated HIV-1 patients with zidovudine at the WHO."]
    (folder / "tasks.json").write_text(json.dumps([{"id": 7 + i, "data": {"body": t, "ward": "B"}}
                                                   for i, t in enumerate(texts)]))
    (folder / "config.xml").write_text(LABEL_CONFIG)
    (folder / "in.txt").write_text("\n".join(texts) + "\n")
    entities = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "--file", "in.txt"],
                   folder, env)
    found = [[(e["start"], e["end"], e["label"]) for e in json.loads(line)["entities"]]
             for line in entities.stdout.splitlines()]
    result = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "--file", "tasks.json",
                  "--label-config", "config.xml", "--format", "labelstudio", "--output", "out.json"], folder, env)
    kept = [[span for span in spans if span[2] in ("PER", "LOC", "Medical Condition")] for spans in found]
    left_out = sum(len(spans) for spans in found) - sum(len(spans) for spans in kept)
    assert (f"left out {left_out} entities" in result.stderr) == (left_out > 0)
    tasks = json.loads((folder / "out.json").read_text())
    assert [(t["id"], t["data"]) for t in tasks] == [(7 + i, {"body": t, "ward": "B"}) for i, t in enumerate(texts)]
    results = [r for t in tasks for r in t["predictions"][0]["result"]]
    assert all((r["from_name"], r["to_name"], r["type"]) == ("ents", "note", "labels") for r in results)
    for task in tasks:  # accepted in the tool: the predictions become the annotation
        task["annotations"] = [{"result": task.pop("predictions")[0]["result"]}]
    (folder / "accepted.json").write_text(json.dumps(tasks))
    assert [spans for _, spans in spans_of(folder / "accepted.json", text_key="body")] == kept


def test_predict_writes_the_tools_imports_and_they_read_back_the_same(tmp_path, tiny_model_dir):
    env = make_project(tmp_path, SPANS / "doccano", tiny_model_dir, format="spans", files=FILES["doccano"],
                       top={"epochs": 3})
    dvc("repro", cwd=tmp_path, env=env)
    texts = ["😀 Angela Merkel visited Paris.", "Doctors in Lagos treated HIV-1 patients."]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"text": t, "id": i}) + "\n" for i, t in enumerate(texts)))
    outputs = {}
    for fmt in ("entities", "doccano", "spans", "labelstudio"):
        out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "--jsonl", "--file",
                   "in.jsonl", "--format", fmt, "--output", f"out.{fmt}"], tmp_path, env)
        assert out.returncode == 0
        outputs[fmt] = (tmp_path / f"out.{fmt}").read_text()
    entities = [[(e["start"], e["end"], e["label"]) for e in json.loads(line)["entities"]]
                for line in outputs["entities"].splitlines()]
    (tmp_path / "doccano.jsonl").write_text(outputs["doccano"])
    (tmp_path / "spans.jsonl").write_text(outputs["spans"])
    for path in ("doccano.jsonl", "spans.jsonl"):  # each tool's unit, converted back: the same spans
        assert [spans for _, spans in spans_of(tmp_path / path)] == entities, path
    # Label Studio's predictions are pre-annotations, not annotations: accepted in the tool, they read back the same.
    tasks = json.loads(outputs["labelstudio"])
    for task in tasks:
        task["annotations"] = [{"result": task.pop("predictions")[0]["result"]}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    assert [spans for _, spans in spans_of(tmp_path / "ls.json")] == entities
    doccano = [json.loads(line) for line in outputs["doccano"].splitlines()]
    assert doccano[0]["id"] == 0  # the input record's other fields pass through
    for record, found in zip(doccano, entities):  # doccano counts UTF-16 units: an emoji is two
        units = [[len(record["text"][:a].encode("utf-16-le")) // 2, len(record["text"][:b].encode("utf-16-le")) // 2, l]
                 for a, b, l in found]
        assert record["label"] == units
    task = json.loads(outputs["labelstudio"])[0]
    assert task["data"] == {"id": 0, "text": texts[0]} and task["predictions"][0]["model_version"].startswith(
        "nerflow finetuned ")
    unannotated = [{"data": {"text": texts[0]}, "annotations": [], "predictions": task["predictions"]}]
    (tmp_path / "unannotated.json").write_text(json.dumps(unannotated))
    counts = Counts()
    assert list(read_span_file(tmp_path / "unannotated.json", SpanOptions(), "u", counts)) == []
    assert counts.dropped == {"unannotated": 1}  # no one annotated it: no entities is not known


def test_chinese_and_japanese_spans_through_every_stage_and_predict(tmp_path, tiny_cjk_model_dir):
    env = make_project(tmp_path, SPANS / "cjk", tiny_cjk_model_dir, format="spans", language="zh",
                       files={s: f"fixture/{s}.jsonl" for s in ("train", "dev", "test")}, top={"epochs": 3})
    dvc("repro", cwd=tmp_path, env=env)
    words = [line.split()[0] for line in (tmp_path / "data/predictions/test.conll").read_text().splitlines()
             if line and not line.startswith("-DOCSTART-")]
    assert words[:5] == ["李", "四", "在", "东", "京"]  # a character a word, in evaluation as in preprocess
    assert json.loads((tmp_path / "models/finetuned/nerflow.json").read_text())["language"] == "zh"
    out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "张三在北京。田中さんは東京。"],
              tmp_path, env)
    record = json.loads(out.stdout)
    for entity in record["entities"]:  # whatever the untrained model finds, it is whole characters of the text
        assert record["text"][entity["start"]:entity["end"]] == entity["text"] and entity["end"] - entity["start"] >= 1
