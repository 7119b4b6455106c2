"""Entities as character spans over their text, written as the annotation tools read them: the evaluate stage writes
each split read from span files back in the shape it came in, gold beside predicted, to review in the tool
(SpanExport); `nerflow predict --format` writes the tools' pre-annotation imports (record_in).

Offsets are Python's code points inside nerflow; each tool gets its own unit: doccano the browser's UTF-16 code
units (or code points, where its files were read so: dataset.spans.offsets), Label Studio, Prodigy/spaCy and BRAT
code points.

  doccano      {"text", "label": [[start, end, "TYPE"], ...]} a line; evaluate adds "gold" beside the predicted
               "label" (doccano shows it as metadata)
  labelstudio  a JSON list of tasks, {"data": {"text"}, "predictions": [{"model_version", "score", "result"}]};
               evaluate adds the gold as the task's "annotations", so that both show side by side
  prodigy      {"text", "spans": [{"start", "end", "label"}]} a line (Prodigy and spaCy); evaluate adds
               "gold_spans"
  brat         a folder: name.txt, name.ann (`T1<TAB>TYPE start end<TAB>text`); evaluate writes predicted/ and
               gold/, two collections brat compares
"""

import json
import re
from itertools import accumulate
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities

from nerflow.data.files import sha256_of

ASTRAL = re.compile("[\U00010000-\U0010FFFF]")  # characters JavaScript counts as two UTF-16 code units
SUFFIXES = {"doccano": ".doccano.jsonl", "labelstudio": ".labelstudio.json", "prodigy": ".prodigy.jsonl",
            "brat": ".brat"}


def entity_spans(tags: list, starts: list, ends: list, scores: list = None) -> list:
    """{"start", "end", "label"[, "score"]} of the entities of one sentence's IOB2 tags, read as seqeval reads them
    (an I-X after O starts an entity), over its words' offsets; `scores`: each word's probability of its tag."""
    found = []
    for label, first, last in get_entities(tags):
        span = {"start": starts[first], "end": ends[last], "label": label}
        if scores is not None:
            span["score"] = round(sum(scores[first:last + 1]) / (last + 1 - first), 4)
        found.append(span)
    return found


def model_version(folder) -> str:
    """Which model predicted, for Label Studio's pre-annotations: the model folder's name and the start of its
    weights' sha256."""
    weights = Path(folder) / "model.safetensors"
    return f"nerflow {Path(folder).name}" + (f" {sha256_of(weights)[:12]}" if weights.is_file() else "")


def utf16_offsets(text: str):
    """code point offset -> UTF-16 code unit offset (JavaScript's, doccano's) in `text`; the table built once a
    text, and only for a text with a character outside the Basic Multilingual Plane."""
    if not ASTRAL.search(text):
        return lambda offset: offset
    return list(accumulate((2 if ord(character) > 0xFFFF else 1 for character in text), initial=0)).__getitem__


def doccano(text: str, spans: list, fields: dict = None, gold: list = None, unit: str = "utf16") -> dict:
    """A doccano record, its offsets in `unit` (utf16, as doccano stores them, or codepoints)."""
    at = utf16_offsets(text) if unit == "utf16" else (lambda offset: offset)
    record = {**(fields or {}), "text": text, "label": [[at(s["start"]), at(s["end"]), s["label"]] for s in spans]}
    if gold is not None:
        record["gold"] = [[at(s["start"]), at(s["end"]), s["label"]] for s in gold]
    return record


def ls_result(text: str, spans: list, controls: list) -> list:
    from_name, to_name = (controls or ["label", "text"])[:2]
    return [{"id": f"n{i}", "from_name": from_name, "to_name": to_name, "type": "labels",
             "value": {"start": s["start"], "end": s["end"], "text": text[s["start"]:s["end"]], "labels": [s["label"]],
                       **({"score": s["score"]} if "score" in s else {})}}
            for i, s in enumerate(spans)]


def labelstudio(text: str, spans: list, model_version: str, fields: dict = None, gold: list = None) -> dict:
    """A task to import into Label Studio: the prediction as a pre-annotation, the gold (evaluate) as an annotation."""
    fields = dict(fields or {})
    controls = fields.pop("controls", None)
    if fields.pop("min", False):  # a JSON-MIN record: its own keys are the task's data
        fields = {"data": {key: value for key, value in fields.items() if key not in ("annotator", "annotation_id",
                                                                                   "created_at", "updated_at",
                                                                                   "lead_time")}}
    data = {**fields.get("data", {}), "text": text}
    scores = [s["score"] for s in spans if "score" in s]
    task = {**fields, "data": data, "predictions": [{
        "model_version": model_version, "score": round(sum(scores) / len(scores), 4) if scores else None,
        "result": ls_result(text, spans, controls)}]}
    if gold is not None:
        task["annotations"] = [{"result": ls_result(text, gold, controls), "ground_truth": True}]
    return task


def prodigy(text: str, spans: list, fields: dict = None, gold: list = None) -> dict:
    record = {**(fields or {}), "text": text, "spans": spans}
    if gold is not None:
        record["gold_spans"] = gold
    return record


def brat_ann(text: str, spans: list) -> str:
    return "".join(f"T{i + 1}\t{s['label']} {s['start']} {s['end']}\t{text[s['start']:s['end']]}\n"
                   for i, s in enumerate(spans))


def record_in(fmt: str, text: str, spans: list, model_version: str, fields: dict) -> dict:
    """One text's predicted spans as `nerflow predict --format fmt` writes them, the input record's fields kept."""
    if fmt == "doccano":
        return doccano(text, spans, fields)
    if fmt == "labelstudio":
        return labelstudio(text, spans, model_version, {"data": fields} if fields else None)
    return prodigy(text, spans, fields)


class SpanExport:
    """The documents of one evaluated split, written as they are added in the shape their records came in:
    `predictions/{split}.doccano.jsonl`, `.labelstudio.json`, `.prodigy.jsonl` or `{split}.brat/`."""

    def __init__(self, folder: Path, split: str, model_version: str):
        self.folder, self.split, self.model_version = Path(folder), split, model_version
        self.files, self.written = {}, {}

    def add(self, text: str, source: str, gold: list, predicted: list) -> None:
        record = json.loads(source)
        shape, fields = record["shape"], record["fields"]
        if shape == "brat":
            for collection, spans in (("predicted", predicted), ("gold", gold)):
                base = self.folder / f"{self.split}.brat" / collection / fields["file"]  # a name may hold dots
                base.parent.mkdir(parents=True, exist_ok=True)
                Path(f"{base}.txt").write_bytes(text.encode("utf-8"))
                Path(f"{base}.ann").write_bytes(brat_ann(text, spans).encode("utf-8"))
            return
        out = self._file(shape)
        if shape == "labelstudio":
            out.write(("[\n" if not self.written[shape] else ",\n")
                      + json.dumps(labelstudio(text, predicted, self.model_version, fields, gold), ensure_ascii=False))
        elif shape == "doccano":
            out.write(json.dumps(doccano(text, predicted, fields, gold, record.get("unit", "utf16")),
                                 ensure_ascii=False) + "\n")
        else:
            out.write(json.dumps(prodigy(text, predicted, fields, gold), ensure_ascii=False) + "\n")
        self.written[shape] += 1

    def _file(self, shape: str):
        if shape not in self.files:
            self.files[shape] = open(self.folder / f"{self.split}{SUFFIXES[shape]}", "w", encoding="utf-8", newline="\n")
            self.written[shape] = 0
        return self.files[shape]

    def close(self) -> None:
        for shape, out in self.files.items():
            if shape == "labelstudio":
                out.write("\n]\n" if self.written[shape] else "[]\n")
            out.close()
