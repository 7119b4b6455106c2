"""Span files: texts annotated with character spans, as the annotation tools export them, read into Sentences.

Shapes (`dataset.spans.shape`; `auto` recognises each record):
  doccano      JSON lines: {"text", "label": [[start, end, "TYPE"], ...]}, or {"text", "entities": [{"label",
               "start_offset", "end_offset"}, ...], "relations": [...]} when relations are on
  labelstudio  Label Studio's JSON export (a list of tasks: {"id", "data": {"text"}, "annotations": [{"result":
               [{"from_name", "to_name", "type": "labels", "value": {"start", "end", "text", "labels"}}],
               "was_cancelled", "ground_truth", "created_at"}]}) or its JSON-MIN export (a list of flat records, one
               per annotation: the task's data keys, "id", one key per control holding [{"start", "end", "text",
               "labels"}], "annotation_id", "created_at"; a task no one annotated: a record with "annotation_id":
               null and no control). The text is under the data key `dataset.spans.text_key` (the `<Text>` tag's
               value="$text").
  prodigy      Prodigy's or spaCy's JSON lines: {"text", "spans": [{"start", "end", "label"}], "answer"}
  brat         a folder of BRAT standoff pairs: name.txt, and name.ann with lines `T1<TAB>TYPE start end<TAB>text`
A record's other fields pass through: evaluate writes its predictions back in the record's shape with them.

Offsets (`dataset.spans.offsets`): `auto` takes each tool's unit. doccano stores the browser's offsets, JavaScript
UTF-16 code units, which differ from Python's code points after an emoji or other character outside the Basic
Multilingual Plane; Label Studio stores code points, and UTF-16 units before 2022: the `value.text` of a record's
spans says which (the one unit under which the text holds every span's value.text; where both do and they differ,
the record is an error asking for dataset.spans.offsets). Prodigy, spaCy and BRAT store code points, and BRAT the
mention, checked the same way; BRAT counts a byte order mark at the start of a .txt as its first character, as brat
itself reads the file. `codepoints` or `utf16` says it for the whole file.

Every span becomes an entity over exactly its characters, or stops the stage naming its file:line, or is dropped
under a named param and counted (metrics/data.json, per split: `spans` read, kept, trimmed, dropped by reason):
- leading or trailing whitespace in a span is trimmed, and counted (`trimmed`);
- a span boundary inside a word splits the word there (counted: `words_split`), in training and in evaluation
  alike: no span is dropped or widened to word boundaries;
- an offset out of the text, a span with nothing in it, a span with no label or several, a mention or `value.text`
  that the text does not hold there: errors;
- the same span with the same label twice (tools and merged exports write such copies): one is kept, the others
  dropped (`duplicate`);
- overlapping or nested spans, and one span with two labels: errors, or with `overlapping: drop` the longest is
  kept (of equals, the first in the file) and the others dropped (`overlapping`);
- a discontinuous BRAT span (`0 5;10 15`): an error, or with `discontinuous: drop` dropped (`discontinuous`). brat
  writes a mention over a line break as fragments with only whitespace between them: that is one span, read so;
- a cancelled Label Studio annotation, a rejected or ignored Prodigy answer: the record is dropped (`rejected`),
  or with `rejected: error` an error. Of a Label Studio task's annotations one is used: its ground truth if one
  is marked so, else the newest (`created_at`; then the larger id); the others are counted (JSON:
  `annotations_ignored`; JSON-MIN, where each is a record: dropped as `other_annotation`). A task no one annotated
  is dropped (`unannotated`): its text is not known to hold no entities, and its predictions are no annotation.
Anything else a reader does not understand (a record without its text, a field of the wrong type, a line of an .ann
file that is not BRAT's) is an error naming its place, never skipped.
A text is then split into sentences and words (text.py, params' `language`), a sentence boundary inside a span
removed, and read as one document: its sentences share windows under `context: document`.
"""

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from nerflow.data.rawfiles import open_raw
from nerflow.data.textfiles import BOM, DataError, json_lines
from nerflow.tasks.ner.preprocess.text import is_blank, split_sentences
from nerflow.tasks.ner.records import Sentence, from_utf16, has_astral

SHAPES = ("doccano", "labelstudio", "prodigy", "brat")
# The unit each tool's offsets are in (offsets: auto); Label Studio's is read from its spans' value.text.
TOOL_UNITS = {"doccano": "utf16", "prodigy": "codepoints", "brat": "codepoints"}
SPAN_KEYS = {"start", "end", "labels"}  # what marks a JSON-MIN record's list as a control's spans
# A span's type: any name, spaces inside it too ("Medical Condition"), but no tab or line break and no space at
# its ends (tags are written `B-TYPE` in text files).
LABEL = re.compile(r"[^\s](?:[^\t\n\r\f\v]*[^\s])?")
# What a reader yields for a record it drops, the reason being the marker itself:
REJECTED = "rejected"  # a rejected or cancelled annotation
UNANNOTATED = "unannotated"  # a Label Studio task no one annotated (its predictions are no annotation)
OTHER_ANNOTATION = "other_annotation"  # a JSON-MIN record of a task whose chosen annotation is another record
DROPPED = (REJECTED, UNANNOTATED, OTHER_ANNOTATION)
# The keys that hold a record's annotations, not its own fields: they are not passed through.
ANNOTATION_KEYS = {"doccano": {"text", "label", "entities", "relations"},
                   "labelstudio": {"annotations", "predictions"},
                   "prodigy": {"text", "spans", "tokens", "answer"}}
# A JSON-MIN record's keys about its annotation, not the task's data.
JSON_MIN_ANNOTATION = {"annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement", "history",
                       "was_cancelled"}
# A line of a BRAT .ann that is no text-bound span: relations, events, attributes, normalisations, notes, equivalences.
BRAT_OTHER = re.compile(r"(?:[A-SU-Za-z][A-Za-z]*\d+|#[A-Za-z]*\d*|\*)\t")
BRAT_SPAN = re.compile(r"T\d+\t")


@dataclass(frozen=True)
class SpanOptions:
    """dataset.spans, and params' language: how span files are read."""

    shape: str = "auto"
    offsets: str = "auto"  # auto (each tool's unit), codepoints, utf16
    overlapping: str = "error"  # error, drop
    discontinuous: str = "error"  # error, drop
    rejected: str = "drop"  # drop, error
    text_key: str = "text"  # Label Studio: the data key holding the text
    language: str = "en"

    def unit_of(self, shape: str) -> str:
        """The unit of the offsets of a file of `shape` (doccano, prodigy, brat)."""
        return TOOL_UNITS[shape] if self.offsets == "auto" else self.offsets


@dataclass
class Annotated:
    """One text of a span file: its spans as (start, end, label) in code points, checked against the text."""

    text: str
    spans: list
    line: object  # where the record is: its line (JSON lines), ":record N" (a JSON list), "/name.txt" (BRAT)
    shape: str
    fields: dict = field(default_factory=dict)  # the record's other fields, passed through to predictions
    unit: str = "codepoints"  # the unit its offsets were in, for writing predictions back in it
    names: dict = None  # Label Studio: from_name, to_name and data_key, to write predictions its project shows


@dataclass
class SpanCounts:
    """What happened to the spans of one file (metrics/data.json's `spans`)."""

    read: int = 0
    kept: int = 0
    trimmed: int = 0
    dropped: dict = field(default_factory=dict)
    words_split: int = 0
    annotations_ignored: int = 0

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def as_dict(self) -> dict:
        found = {"read": self.read, "kept": self.kept, "trimmed": self.trimmed, "dropped": dict(self.dropped),
                 "words_split": self.words_split}
        return {**found, "annotations_ignored": self.annotations_ignored} if self.annotations_ignored else found


def read_span_file(path, options: SpanOptions, name: str, counts):
    """Yield the Sentences (IOB2 tags, word offsets, each text a document) of one span file or BRAT folder,
    counting in `counts` (a nerflow.data.splits.Counts) the records read and dropped and, in counts.extra, the
    spans; after the last, raise DataError listing every problem by line."""
    problems, spans, doc = [], SpanCounts(), 0
    folder = Path(path).is_dir()
    if options.shape != "auto" and folder != (options.shape == "brat"):
        raise DataError(name, [("", "unknown shape", f"a {'folder' if folder else 'file'}, but dataset.spans.shape is "
                                                     f"{options.shape}: BRAT's exports are folders, the others files")])
    texts = brat_texts(path, options, name, problems, spans) if folder else json_texts(path, options, problems, spans)
    for record in texts:
        counts.records += 1
        if record is None:  # a problem, named in `problems`
            continue
        if record in DROPPED:
            counts.drop(record)
            continue
        sentences = to_sentences(record, options, doc, problems, spans)
        if not sentences:
            counts.drop("no_words")
            continue
        yield from sentences
        doc += 1
    counts.extra["texts"] = doc
    counts.extra["spans"] = spans.as_dict()
    if not counts.records and not problems:
        problems.append((1, "empty file", "no records: the file is empty"))
    if problems:
        raise DataError(name, sorted(problems, key=lambda p: (isinstance(p[0], str), p[0])))


# --- the tools' shapes -----------------------------------------------------------------------------------------

def json_texts(path, options: SpanOptions, problems: list, spans: SpanCounts):
    """The Annotated texts (a DROPPED marker, None for a problem) of a JSON-lines file (doccano, Prodigy, spaCy) or
    a JSON array (Label Studio's JSON or JSON-MIN export, read whole: it is one JSON document)."""
    if first_character(path) == "[":
        with open_raw(path) as raw:
            data = raw.read()
        try:
            tasks = json.loads(data.removeprefix(BOM).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:  # ValueError: JSONDecodeError, huge ints
            problems.append((1, "not JSON", f"not a JSON array ({error}); export the tasks as JSON again"))
            return
        if options.shape not in ("auto", "labelstudio"):
            problems.append((1, "unknown shape", f"a JSON array, but dataset.spans.shape is {options.shape}: of the "
                                                 "tools read here, Label Studio alone exports one"))
            return
        yield from labelstudio_tasks(tasks, options, problems, spans)
        return
    for number, record in json_lines(path, problems):
        yield annotated(record, number, options, problems, spans)


def first_character(path) -> str:
    """The file's first character that is not whitespace (or a BOM)."""
    with open_raw(path) as raw:
        head = raw.read(4096).removeprefix(BOM).lstrip()
    return head[:1].decode("ascii", "replace")


class SpanError(ValueError):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def annotated(record, line, options: SpanOptions, problems: list, spans: SpanCounts):
    """One record of a JSON-lines span file as Annotated, REJECTED, or None with a problem added."""
    if not isinstance(record, dict):
        problems.append((line, "not an object", "expected a JSON object a record"))
        return None
    shape = options.shape if options.shape != "auto" else shape_of(record)
    if shape not in ("doccano", "prodigy"):
        problems.append((line, "unknown shape", "not a record of a known tool: doccano JSONL has \"text\" "
                         "and \"label\" (or \"entities\"), Prodigy/spaCy JSONL \"text\" and \"spans\", Label Studio "
                         "exports a JSON list of tasks; set dataset.spans.shape if the file is one of them"))
        return None
    try:
        return doccano(record, line, options, spans) if shape == "doccano" else prodigy(record, line, options, spans)
    except SpanError as error:
        problems.append((line, error.kind, str(error)))
        return None


def shape_of(record: dict):
    if "spans" in record:
        return "prodigy"
    if "label" in record or "entities" in record:
        return "doccano"
    return None


def doccano(record: dict, line: int, options: SpanOptions, spans: SpanCounts) -> Annotated:
    text = text_of(record, "text")
    if "entities" in record:
        items = record["entities"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SpanError("bad span", '"entities" must be a list of {"label", "start_offset", "end_offset"}')
        found = [(i.get("start_offset"), i.get("end_offset"), i.get("label")) for i in items]
    else:
        items = record.get("label")
        if not isinstance(items, list) or not all(isinstance(i, list) and len(i) == 3 for i in items):
            raise SpanError("bad span", '"label" must be a list of [start, end, "TYPE"] (a list of labels is a '
                                        "text classification export, not sequence labelling)")
        found = [tuple(i) for i in items]
    unit, units = options.unit_of("doccano"), Units(text)
    checked = [checked_span(units, start, end, label, unit, spans) for start, end, label in found]
    return Annotated(text, checked, line, "doccano", passed_through(record, "doccano"), unit)


def prodigy(record: dict, line: int, options: SpanOptions, spans: SpanCounts):
    text = text_of(record, "text")
    answer = record.get("answer", "accept")
    if answer != "accept":
        if options.rejected == "error":
            raise SpanError("rejected", f"answer {answer!r}: a rejected or ignored annotation; set "
                                        "dataset.spans.rejected: drop to leave such records out")
        return REJECTED
    items = record.get("spans")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SpanError("bad span", '"spans" must be a list of {"start", "end", "label"}')
    unit, units = options.unit_of("prodigy"), Units(text)
    checked = [checked_span(units, i.get("start"), i.get("end"), i.get("label"), unit, spans) for i in items]
    return Annotated(text, checked, line, "prodigy", passed_through(record, "prodigy"), unit)


# --- Label Studio ----------------------------------------------------------------------------------------------

def labelstudio_tasks(tasks, options: SpanOptions, problems: list, spans: SpanCounts):
    """The Annotated texts (DROPPED markers, None for a problem) of Label Studio's JSON or JSON-MIN export, one a
    task: JSON-MIN's records, one per annotation, grouped by task id."""
    if not isinstance(tasks, list):
        problems.append((1, "not a list", "expected a JSON list of tasks, as Label Studio exports them"))
        return
    names = file_names(tasks, options)
    groups = {}  # JSON-MIN: task id -> [(place, record)], in the file's order
    order = []  # (place, task) of each JSON task and (None, id) of each JSON-MIN task, as first met
    for number, task in enumerate(tasks, 1):
        place = f":record {number}"
        if isinstance(task, dict) and is_json_min(task):
            key = task.get("id") if isinstance(task.get("id"), (int, str)) else ("record", number)
            if key not in groups:
                groups[key] = []
                order.append((None, key))
            groups[key].append((place, task))
        else:
            order.append((place, task))
    for place, item in order:
        records = groups[item] if place is None else [(place, item)]
        try:
            if place is None:
                yield from json_min_task(records, options, spans, names)
            else:
                yield labelstudio_task(item, place, options, spans, names)
        except SpanError as error:
            problems.append((records[0][0], error.kind, str(error)))
            yield None
            yield from (None for _ in records[1:])


def is_json_min(task: dict) -> bool:
    return "data" not in task and "annotations" not in task


def file_names(tasks: list, options: SpanOptions) -> dict:
    """The Label Studio names a file's predictions are written under: the control (from_name) and object (to_name)
    of its first span result; JSON-MIN names the control by its key and no object, which Label Studio's templates
    name as the data key (`<Text name="text" value="$text"/>`)."""
    names = {"from_name": "label", "to_name": options.text_key, "data_key": options.text_key}
    for task in tasks:
        if not isinstance(task, dict):
            continue
        if is_json_min(task):
            control = next(iter(control_keys(task)), None)
            if control is not None:
                return {**names, "from_name": control}
            continue
        for annotation in task.get("annotations") if isinstance(task.get("annotations"), list) else []:
            results = annotation.get("result") if isinstance(annotation, dict) else None
            for result in results if isinstance(results, list) else []:
                if (isinstance(result, dict) and result.get("type") == "labels" and isinstance(result.get("from_name"), str)
                        and isinstance(result.get("to_name"), str)):
                    return {**names, "from_name": result["from_name"], "to_name": result["to_name"]}
    return names


def region_keys(record: dict) -> list:
    """A JSON-MIN record's keys holding a control's regions: lists of objects with span keys (results, not data)."""
    return [key for key, value in record.items() if key not in JSON_MIN_ANNOTATION and isinstance(value, list)
            and value and all(isinstance(v, dict) for v in value) and any(SPAN_KEYS & v.keys() for v in value)]


def control_keys(record: dict) -> list:
    """A JSON-MIN record's keys holding a <Labels> control's spans: regions one of which at least has labels (a
    region's other controls, per-region choices or ratings, hold none: they are no spans)."""
    return [key for key in region_keys(record) if any("labels" in v for v in record[key])]


def newest(annotations: list):
    """The annotation used of several: the ground truth if one is marked so, else the newest by created_at (ISO
    8601 text), then by id; of equals, the first."""
    def age(a):  # JSON-MIN's "id" is the task's: its annotation's own id is annotation_id
        created, ident = a.get("created_at"), a.get("annotation_id", a.get("id"))
        return (a.get("ground_truth") is True, created if isinstance(created, str) else "",
                ident if type(ident) is int else -1)
    best = annotations[0]
    for annotation in annotations[1:]:
        if age(annotation) > age(best):
            best = annotation
    return best


def json_min_task(records: list, options: SpanOptions, spans: SpanCounts, names: dict):
    """The records of one task of a JSON-MIN export: the chosen annotation's Annotated, and a marker for each other."""
    annotated = [(place, r) for place, r in records if not (r.get("annotation_id", 0) is None and not control_keys(r))]
    if not annotated:
        yield from (UNANNOTATED for _ in records)
        return
    chosen = newest([r for _, r in annotated])
    place = next(p for p, r in annotated if r is chosen)
    controls = control_keys(chosen)
    text = text_of(chosen, options.text_key, "the record")
    items = [item for key in controls for item in chosen[key]]
    regions = region_keys(chosen)
    data = {key: value for key, value in chosen.items() if key not in regions and key not in JSON_MIN_ANNOTATION
            and key != "id"}
    fields = {**({"id": chosen["id"]} if "id" in chosen else {}), "data": data}
    found, unit = ls_spans(text, items, options, spans)
    names = {**names, "from_name": controls[0]} if controls else names
    for _, record in records:
        yield Annotated(text, found, place, "labelstudio", fields, unit, names) if record is chosen else OTHER_ANNOTATION


def labelstudio_task(task, place: str, options: SpanOptions, spans: SpanCounts, names: dict):
    """A task of Label Studio's JSON export as Annotated, REJECTED or UNANNOTATED."""
    if not isinstance(task, dict):
        raise SpanError("not an object", "expected a JSON object a task")
    data = task.get("data")
    if not isinstance(data, dict):
        raise SpanError("missing field", 'a task needs "data" with the text')
    text = text_of(data, options.text_key, "the task's data")
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise SpanError("bad span", '"annotations" must be a list of annotations')
    if not annotations:
        return UNANNOTATED
    usable = [a for a in annotations if not a.get("was_cancelled") and not a.get("skipped")]
    if not usable:
        if options.rejected == "error":
            raise SpanError("rejected", "every annotation of this task was cancelled; set dataset.spans.rejected: "
                                        "drop to leave such tasks out")
        return REJECTED
    spans.annotations_ignored += len(usable) - 1
    results = newest(usable).get("result", [])
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise SpanError("bad span", '"result" must be a list of results')
    kinds = [r.get("type") for r in results]
    if not all(isinstance(kind, str) for kind in kinds):
        raise SpanError("bad span", 'a result without "type" (labels, choices, ...): export the project from Label '
                                    "Studio again")
    other = sorted({kind for kind in kinds if kind.endswith("labels")} - {"labels"})
    if other:  # spans over HTML, paragraphs, images...: their offsets are not a text's characters
        raise SpanError("bad span", f"results of type {', '.join(other)}: nerflow reads <Labels> over <Text> "
                                    "(type labels); export a project labelled that way")
    # Choices, text areas, relations and the like: about the text or its spans, not spans.
    results = [r for r in results if r["type"] == "labels"]
    if results and isinstance(results[0].get("from_name"), str) and isinstance(results[0].get("to_name"), str):
        names = {**names, "from_name": results[0]["from_name"], "to_name": results[0]["to_name"]}
    items = [r.get("value") for r in results]
    found, unit = ls_spans(text, items, options, spans)
    fields = {key: value for key, value in task.items() if key not in ANNOTATION_KEYS["labelstudio"]}
    return Annotated(text, found, place, "labelstudio", fields, unit, names)


def ls_spans(text: str, items: list, options: SpanOptions, spans: SpanCounts) -> tuple:
    """(the spans of one annotation's label results, checked; the unit their offsets are in)."""
    if not all(isinstance(value, dict) for value in items):
        raise SpanError("bad span", 'a result\'s "value" must be an object {"start", "end", "text", "labels"}')
    units = Units(text)
    unit = ls_unit(units, items) if options.offsets == "auto" else options.offsets
    checked = []
    for value in items:
        labels = value.get("labels")
        if not isinstance(labels, list) or len(labels) != 1:
            spans.read += 1
            raise SpanError("bad label", f"a span with labels {labels!r}: expected exactly one label a span")
        checked.append(checked_span(units, value.get("start"), value.get("end"), labels[0], unit, spans,
                                    mention=value.get("text")))
    return checked, unit


def ls_unit(units: "Units", items: list) -> str:
    """The unit of one annotation's offsets, from all its spans: the unit under which the text holds every span's
    value.text (code points, Label Studio's since 2022, where no span says). Where both units do and they give
    other characters, which was meant cannot be known: SpanError."""
    text, fits_all, differ = units.text, {"codepoints", "utf16"}, False
    for value in items:
        start, end, mention = value.get("start"), value.get("end"), value.get("text")
        if not isinstance(mention, str) or not all(type(x) is int for x in (start, end)):
            continue
        as_utf16 = (units.codepoints(start), units.codepoints(end)) if start >= 0 and end >= 0 else (None, None)
        fits = {unit for unit, (a, b) in (("codepoints", (start, end)), ("utf16", as_utf16))
                if a is not None and b is not None and 0 <= a <= b <= len(text) and text[a:b] == mention}
        if fits:  # a span no unit fits is a mismatch, named when it is checked
            fits_all &= fits
            differ |= as_utf16 != (start, end)
    if not fits_all:
        raise SpanError("mixed units", "some spans' value.text is found at their offsets counted in code points, "
                                       "others' in UTF-16 code units; fix the record, or set dataset.spans.offsets")
    if fits_all == {"codepoints", "utf16"} and differ:
        raise SpanError("ambiguous units", "every span's value.text is found both at its offsets counted in code "
                                           "points and counted in UTF-16 code units, at other characters; set "
                                           "dataset.spans.offsets: codepoints (Label Studio since 2022) or utf16 "
                                           "(earlier releases)")
    return "codepoints" if "codepoints" in fits_all else "utf16"


# --- BRAT ------------------------------------------------------------------------------------------------------

def brat_texts(folder, options: SpanOptions, name: str, problems: list, spans: SpanCounts):
    """The Annotated texts of a BRAT folder: each name.txt with its name.ann (none: no spans), by name."""
    folder = Path(folder)
    texts = sorted(folder.rglob("*.txt"))
    for path in texts:
        where = path.relative_to(folder).as_posix()
        try:
            # As written, as brat reads it: a byte order mark is its first character, a CRLF two.
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append((f"/{where}", "not UTF-8", f"bytes that are not UTF-8 at byte {error.start}; re-encode "
                                                       "it as UTF-8"))
            yield None
            continue
        ann, found, units = path.with_suffix(".ann"), [], Units(text)
        ann_place = f"/{ann.relative_to(folder).as_posix()}"
        try:
            # The .ann's own byte order mark is no part of a line: its offsets count the .txt's characters.
            lines = ann.read_bytes().decode("utf-8-sig").split("\n") if ann.is_file() else []
        except UnicodeDecodeError as error:
            problems.append((ann_place, "not UTF-8", f"bytes that are not UTF-8 at byte {error.start}; re-encode it "
                                                     "as UTF-8"))
            yield None
            continue
        for number, line in enumerate(lines, 1):
            line = line.removesuffix("\r")
            try:
                if BRAT_SPAN.match(line):
                    found.append(brat_span(units, line, options, spans))
                elif line.strip() and not BRAT_OTHER.match(line):
                    raise SpanError("bad line", f"not a line of BRAT standoff ({line[:40]!r}): expected `T<n><TAB>TYPE "
                                                "start end<TAB>text`, or a relation, event, attribute or note")
            except SpanError as error:
                problems.append((f"{ann_place}:{number}", error.kind, str(error)))
        yield Annotated(text, [s for s in found if s is not None], f"/{where}", "brat", {"file": where.removesuffix(".txt")})
    for ann in sorted(folder.rglob("*.ann")):
        if not ann.with_suffix(".txt").is_file():
            problems.append((f"/{ann.relative_to(folder).as_posix()}", "no text", "annotations without their text: "
                             f"{ann.with_suffix('.txt').name} is missing"))
    if not texts:
        problems.append(("", "empty folder", "no .txt files: a BRAT folder holds name.txt and name.ann pairs"))


def brat_span(units: "Units", line: str, options: SpanOptions, spans: SpanCounts):
    parts = line.split("\t", 2)
    if len(parts) < 2 or " " not in parts[1]:
        raise SpanError("bad span", "expected `T<n><TAB>TYPE start end<TAB>text`")
    label, _, offsets = parts[1].partition(" ")
    mention = parts[2] if len(parts) > 2 else None
    try:
        fragments = [tuple(int(x) for x in fragment.split()) for fragment in offsets.split(";")]
    except ValueError:
        fragments = [()]
    if not all(len(f) == 2 for f in fragments):
        spans.read += 1
        raise SpanError("bad span", f"offsets {offsets!r}: expected two whole numbers (fragments separated by ;)")
    start, end = fragments[0][0], fragments[-1][1]
    if len(fragments) > 1:
        text = units.text
        gaps = [(a[1], b[0]) for a, b in zip(fragments, fragments[1:])]
        if all(0 <= a <= b <= len(text) and is_blank(text[a:b]) for a, b in gaps):
            # One span over a line break, as brat writes it: its mention holds the fragments joined by a space.
            if mention is not None and mention == " ".join(text[a:b] for a, b in fragments):
                mention = None  # checked: the mention is of the fragments, not of text[start:end]
        else:
            spans.read += 1
            if options.discontinuous == "drop":
                spans.drop("discontinuous")
                return None
            raise SpanError("discontinuous", f"a discontinuous span ({offsets}): one entity over several fragments, "
                                             "which tags cannot hold; set dataset.spans.discontinuous: drop to leave "
                                             "such spans out")
    return checked_span(units, start, end, label, options.unit_of("brat"), spans, mention=mention)


# --- one span, checked ---------------------------------------------------------------------------------------

def text_of(record: dict, key: str, where: str = "the record") -> str:
    text = record.get(key)
    if isinstance(text, str):
        return text
    if key not in record:
        others = [k for k, v in record.items() if isinstance(v, str)]
        hint = (f" (its text fields: {', '.join(others[:5])}); set dataset.spans.text_key to the key of the text, "
                "the value=\"$key\" of the labelling config's <Text> tag") if others else ""
        raise SpanError("missing field", f'no "{key}" in {where}{hint}')
    raise SpanError("missing field", f'"{key}" is not a string')


def passed_through(record: dict, shape: str) -> dict:
    return {key: value for key, value in record.items() if key not in ANNOTATION_KEYS[shape]}


class Units:
    """A text and its UTF-16 offsets turned into code points (nerflow.data.offsets), the table built when first
    needed."""

    def __init__(self, text: str):
        self.text, self._from_utf16 = text, None
        self.astral = has_astral(text)

    def codepoints(self, offset: int):
        """The code point offset of a UTF-16 offset, or None inside a surrogate pair or outside the text."""
        if self._from_utf16 is None:
            self._from_utf16 = from_utf16(self.text)
        return self._from_utf16(offset)


def checked_span(units: Units, start, end, label, unit: str, spans: SpanCounts, mention=None) -> tuple:
    """(start, end, label) of one span of units.text in code points, its whitespace trimmed (counted), or
    SpanError."""
    text = units.text
    spans.read += 1
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise SpanError("bad label", f"a span with label {label!r}: expected a type name (no tab or line break, no "
                                     "space at its ends)")
    if not all(type(x) is int for x in (start, end)):
        raise SpanError("bad span", f"offsets {start!r}, {end!r}: expected whole numbers")
    given = (start, end)
    if unit == "utf16" and units.astral:
        start, end = (units.codepoints(start), units.codepoints(end)) if min(start, end) >= 0 else (None, None)
        if start is None or end is None:
            raise SpanError("out of range", f"span {given[0]}-{given[1]} ({label}): not a UTF-16 offset of the "
                                            f"text ({len(text.encode('utf-16-le')) // 2} units); set "
                                            "dataset.spans.offsets to the unit the file uses")
    if not 0 <= start <= end <= len(text):
        raise SpanError("out of range", f"span {given[0]}-{given[1]} ({label}) is outside the text ({len(text)} "
                                        "characters); fix the file, or set dataset.spans.offsets to its unit")
    if mention is not None and text[start:end] != mention:
        raise SpanError("text mismatch", f"span {given[0]}-{given[1]} ({label}): the text holds "
                                         f"{text[start:end]!r} there, the file says {mention!r}; the offsets are "
                                         "not over this text (another unit: dataset.spans.offsets)")
    trimmed_start, trimmed_end = start, end
    while trimmed_start < trimmed_end and is_blank(text[trimmed_start]):
        trimmed_start += 1
    while trimmed_end > trimmed_start and is_blank(text[trimmed_end - 1]):
        trimmed_end -= 1
    if trimmed_start == trimmed_end:
        raise SpanError("empty span", f"span {given[0]}-{given[1]} ({label}) holds {text[start:end]!r}: nothing "
                                      "to tag; remove it in the tool")
    if (trimmed_start, trimmed_end) != (start, end):
        spans.trimmed += 1
    return trimmed_start, trimmed_end, label


# --- a text into Sentences -----------------------------------------------------------------------------------

def kept_spans(spans: list, options: SpanOptions, counts: SpanCounts) -> tuple:
    """(spans without copies or overlaps, sorted; the overlaps as (span, span)): the same span with the same label
    twice is kept once, the copies counted (`duplicate`); of overlapping spans (two labels over one span among them)
    the longest is kept, of equals the first in the file, and the others are errors or, with overlapping: drop,
    dropped and counted."""
    unique = list(dict.fromkeys(spans))  # the file's order, copies removed
    for _ in range(len(spans) - len(unique)):
        counts.drop("duplicate")
    ordered = sorted(unique)
    if all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:])):  # none overlaps: the usual case, in one pass
        return ordered, []
    kept, overlaps = [], []
    # Longest first, then in the file's order (sorted is stable).
    for span in sorted(unique, key=lambda s: -(s[1] - s[0])):
        clash = next((k for k in kept if span[0] < k[1] and k[0] < span[1]), None)
        if clash is None:
            kept.append(span)
        else:
            overlaps.append((clash, span))
    if options.overlapping == "drop":
        for _ in overlaps:
            counts.drop("overlapping")
        return sorted(kept), []
    return sorted(kept), overlaps


def to_sentences(record: Annotated, options: SpanOptions, doc: int, problems: list, counts: SpanCounts) -> list:
    """The Sentences of one text: its words (sentence boundaries inside a span removed, words split at span
    boundaries), tagged IOB2 by its spans; the first sentence carries the text, the record's other fields and the
    spans as read (the gold that evaluate scores predictions against by character, apart from the tags).
    Work is done per span (bisect) and per sentence (slices), not per word: most words hold no span boundary."""
    spans, overlaps = kept_spans(record.spans, options, counts)
    for kept, other in overlaps:
        problems.append((record.line, "overlapping", f"spans {kept[0]}-{kept[1]} ({kept[2]}) and {other[0]}-{other[1]} "
                         f"({other[2]}) overlap: tags hold one entity a word; fix them, or set "
                         "dataset.spans.overlapping: drop to keep the longest"))
    if overlaps:
        return []
    sentences = split_sentences(record.text, options.language)
    starts = [start for sentence in sentences for start, _ in sentence]
    ends = [end for sentence in sentences for _, end in sentence]
    bounds = [0]  # where each sentence starts, in words; then the end
    for sentence in sentences:
        bounds.append(bounds[-1] + len(sentence))
    # A span boundary inside a word splits the word there.
    inside = {}
    for offset in {offset for start, end, _ in spans for offset in (start, end)}:
        i = bisect_right(starts, offset) - 1
        if i >= 0 and starts[i] < offset < ends[i]:
            inside.setdefault(i, []).append(offset)
    if inside:
        counts.words_split += len(inside)
        split_starts, split_ends, moved = [], [], {}  # moved: a word's index before the splits -> after
        for i, (start, end) in enumerate(zip(starts, ends)):
            moved[i] = len(split_starts)
            pieces = [start, *sorted(inside.get(i, ())), end]
            split_starts += pieces[:-1]
            split_ends += pieces[1:]
        bounds = [moved.get(b, len(split_starts)) for b in bounds]
        starts, ends = split_starts, split_ends
    tags, joined = ["O"] * len(starts), set()
    for start, end, label in spans:  # whole words now: the span's first word starts with it, its last ends with it
        first, last = bisect_right(starts, start) - 1, bisect_right(ends, end - 1)
        tags[first:last + 1] = [f"B-{label}"] + [f"I-{label}"] * (last - first)
        if last > first:  # a span over a sentence boundary joins the sentences it covers: an entity is never cut
            b = bisect_right(bounds, first)
            while b < len(bounds) and bounds[b] <= last:
                joined.add(bounds[b])
                b += 1
    if joined:
        bounds = [b for b in bounds if b not in joined]
    counts.kept += len(spans)
    found = []
    for a, b in zip(bounds, bounds[1:]):
        if a < b:
            found.append(Sentence([record.text[s:e] for s, e in zip(starts[a:b], ends[a:b])], tags[a:b], doc,
                                  record.line, starts=starts[a:b], ends=ends[a:b], token_lines=[record.line] * (b - a)))
    if found:
        found[0].text = record.text
        source = {"shape": record.shape, "unit": record.unit, "fields": record.fields, "spans": spans}
        found[0].source = json.dumps({**source, "names": record.names} if record.names else source, ensure_ascii=False)
    return found
