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
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities

from nerflow.tasks.ner.records import from_utf16, to_utf16

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


def doccano(text: str, spans: list, fields: dict = None, gold: list = None, unit: str = "utf16") -> dict:
    """A doccano record, its offsets in `unit` (utf16, as doccano stores them, or codepoints)."""
    at = to_utf16(text) if unit == "utf16" else (lambda offset: offset)
    record = {**(fields or {}), "text": text, "label": [[at(s["start"]), at(s["end"]), s["label"]] for s in spans]}
    if gold is not None:
        record["gold"] = [[at(s["start"]), at(s["end"]), s["label"]] for s in gold]
    return record


DEFAULT_NAMES = {"from_name": "label", "to_name": "text", "data_key": "text"}  # Label Studio's NER template's


def ls_result(text: str, spans: list, names: dict) -> list:
    """Label Studio results of `spans` under the project's names (from_name, to_name)."""
    return [{"id": f"n{i}", "from_name": names["from_name"], "to_name": names["to_name"], "type": "labels",
             "value": {"start": s["start"], "end": s["end"], "text": text[s["start"]:s["end"]], "labels": [s["label"]],
                       **({"score": s["score"]} if "score" in s else {})}}
            for i, s in enumerate(spans)]


def ls_prediction(text: str, spans: list, names: dict, model_version: str, score: float) -> dict:
    """A Label Studio prediction of one text: its spans as results, and the task's `score`, the model's uncertainty
    of the text (never null: a text with no entity is often the one the model is least sure of), so that sorting by
    it puts the tasks most worth annotating first."""
    return {"model_version": model_version, "score": round(float(score), 4),
            "result": ls_result(text, spans, {**DEFAULT_NAMES, **names})}


def labelstudio(text: str, spans: list, model_version: str, fields: dict = None, gold: list = None,
                names: dict = None, score: float = 0.0) -> dict:
    """A task to import into Label Studio: the prediction as a pre-annotation (ls_prediction, `score` its
    uncertainty), the gold (evaluate) as an annotation; `fields`: the task's own keys (its data among them),
    `names`: the project's control, object and data key."""
    names = {**DEFAULT_NAMES, **(names or {})}
    fields = dict(fields or {})
    data = {**fields.get("data", {}), names["data_key"]: text}
    task = {**fields, "data": data, "predictions": [ls_prediction(text, spans, names, model_version, score)]}
    if gold is not None:
        task["annotations"] = [{"result": ls_result(text, gold, names), "ground_truth": True}]
    return task


def prodigy(text: str, spans: list, fields: dict = None, gold: list = None) -> dict:
    record = {**(fields or {}), "text": text, "spans": spans}
    if gold is not None:
        record["gold_spans"] = gold
    return record


# What an .ann line's mention may not hold: a tab (the field separator) and whatever a reader takes for a line's end
# (str.splitlines's breaks, which brat's own reader splits at too).
BRAT_BREAKS = re.compile("[\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def brat_fragments(text: str, start: int, end: int) -> list:
    """The (start, end) fragments brat writes a span as: split at line breaks and tabs (BRAT_BREAKS), each
    fragment's whitespace trimmed, so that a span over a line break is fragments with only whitespace between them
    (brat's own annotator does the same)."""
    fragments, position = [], start
    for piece in BRAT_BREAKS.split(text[start:end]):
        a, b = position, position + len(piece)
        position = b + 1  # past the break
        a += len(piece) - len(piece.lstrip())
        b -= len(piece) - len(piece.rstrip())
        if a < b:
            fragments.append((a, b))
    return fragments


def brat_ann(text: str, spans: list) -> tuple:
    """(the .ann text of `spans`, each span as written: (first fragment's start, last's end, its label)). A type's
    spaces are written `_`: brat's types are names without spaces (a BRAT corpus's types have none)."""
    lines, written = [], []
    for i, s in enumerate(spans):
        fragments = brat_fragments(text, s["start"], s["end"])
        offsets = ";".join(f"{a} {b}" for a, b in fragments)
        mention = " ".join(text[a:b] for a, b in fragments)
        lines.append(f"T{i + 1}\t{s['label'].replace(' ', '_')} {offsets}\t{mention}\n")
        written.append((fragments[0][0], fragments[-1][1], s["label"]))
    return "".join(lines), written


def record_in(fmt: str, text: str, spans: list, model_version: str, fields: dict, names: dict = None,
              score: float = 0.0) -> dict:
    """One text's predicted spans as `nerflow predict --format fmt` writes them, the input record's fields kept."""
    if fmt == "doccano":
        return doccano(text, spans, fields)
    if fmt == "labelstudio":
        return labelstudio(text, spans, model_version, {"data": fields} if fields else None, names=names, score=score)
    return prodigy(text, spans, fields)


class SpanExport:
    """The documents of one evaluated split, written as they are added in the shape their records came in:
    `predictions/{split}.doccano.jsonl`, `.labelstudio.json`, `.prodigy.jsonl` or `{split}.brat/`."""

    def __init__(self, folder: Path, split: str, model_version: str):
        self.folder, self.split, self.model_version = Path(folder), split, model_version
        self.files, self.written = {}, {}

    def add(self, text: str, source: dict, gold: list, predicted: list, uncertain: float = 0.0) -> list:
        """Write one text with its gold and predicted spans (and the model's uncertainty of it, Label Studio's
        task score); return the predicted spans as written, read back into (start, end, label) in code points:
        what evaluate scores against the gold by character."""
        shape, fields, names = source["shape"], source["fields"], source.get("names")
        if shape == "brat":
            written = None
            for collection, spans in (("predicted", predicted), ("gold", gold)):
                base = self.folder / f"{self.split}.brat" / collection / fields["file"]  # a name may hold dots
                base.parent.mkdir(parents=True, exist_ok=True)
                Path(f"{base}.txt").write_bytes(text.encode("utf-8"))
                ann, as_written = brat_ann(text, spans)
                Path(f"{base}.ann").write_bytes(ann.encode("utf-8"))
                if collection == "predicted":
                    written = as_written
            return written
        out = self._file(shape)
        if shape == "labelstudio":
            task = labelstudio(text, predicted, self.model_version, fields, gold, names, uncertain)
            out.write(("[\n" if not self.written[shape] else ",\n") + json.dumps(task, ensure_ascii=False))
            written = [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
                       for r in task["predictions"][0]["result"]]
        elif shape == "doccano":
            unit = source.get("unit", "utf16")
            record = doccano(text, predicted, fields, gold, unit)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            back = from_utf16(text) if unit == "utf16" else (lambda offset: offset)
            written = [(back(a), back(b), label) for a, b, label in record["label"]]
        else:
            record = prodigy(text, predicted, fields, gold)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written = [(s["start"], s["end"], s["label"]) for s in record["spans"]]
        self.written[shape] += 1
        return written

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
