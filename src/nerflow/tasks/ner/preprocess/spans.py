"""Span files: texts annotated with character spans, as the annotation tools export them, read into Sentences.

Shapes (`dataset.spans.shape`; `auto` recognises each record):
  doccano      JSON lines: {"text", "label": [[start, end, "TYPE"], ...]}, or {"text", "entities": [{"label",
               "start_offset", "end_offset"}, ...], "relations": [...]} when relations are on
  labelstudio  Label Studio's JSON export (a list of tasks: {"data": {"text"}, "annotations": [{"result": [{"value":
               {"start", "end", "text", "labels"}}], "was_cancelled"}]}) or its JSON-MIN (a list of flat records:
               {"text", "<control>": [{"start", "end", "text", "labels"}]})
  prodigy      Prodigy's or spaCy's JSON lines: {"text", "spans": [{"start", "end", "label"}], "answer"}
  brat         a folder of BRAT standoff pairs: name.txt, and name.ann with lines `T1<TAB>TYPE start end<TAB>text`
A record's other fields pass through: evaluate writes its predictions back in the record's shape with them.

Offsets (`dataset.spans.offsets`): `auto` takes each tool's unit. doccano stores the browser's offsets, JavaScript
UTF-16 code units, which differ from Python's code points after an emoji or other character outside the Basic
Multilingual Plane; Label Studio stores code points, and UTF-16 units before 2022: its `value.text` says which (the
unit under which text[start:end] is value.text). Prodigy, spaCy and BRAT store code points, and BRAT the mention,
checked the same way. `codepoints` or `utf16` says it for the whole file.

Every span becomes an entity over exactly its characters, or stops the stage naming its file:line, or is dropped
under a named param and counted (metrics/data.json, per split: `spans` read, kept, trimmed, dropped by reason):
- leading or trailing whitespace in a span is trimmed, and counted (`trimmed`);
- a span boundary inside a word splits the word there (counted: `words_split`), in training and in evaluation
  alike: no span is dropped or widened to word boundaries;
- an offset out of the text, a span with nothing in it, a span with no label or several, a mention or `value.text`
  that the text does not hold there: errors;
- overlapping or nested spans: errors, or with `overlapping: drop` the longest is kept (the first of equals) and
  the others dropped (`overlapping`);
- a discontinuous BRAT span (`0 5;10 15`): an error, or with `discontinuous: drop` dropped (`discontinuous`);
- a cancelled Label Studio annotation, a rejected or ignored Prodigy answer: the record is dropped (`rejected`),
  or with `rejected: error` an error. A Label Studio task's first annotation not cancelled is used; the others are
  counted (`annotations_ignored`); a task no one annotated is dropped (`unannotated`): its text is not known to
  hold no entities, and its predictions are no annotation.
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
from nerflow.tasks.ner.preprocess.text import split_sentences
from nerflow.tasks.ner.records import Sentence

SHAPES = ("doccano", "labelstudio", "prodigy", "brat")
# The unit each tool's offsets are in (offsets: auto); Label Studio's is read from each span's value.text.
TOOL_UNITS = {"doccano": "utf16", "prodigy": "codepoints", "brat": "codepoints"}
SPAN_KEYS = {"start", "end", "labels"}  # what marks a JSON-MIN record's list as a control's spans
LABEL = re.compile(r"\S+")  # a span's type: a name without spaces
ASTRAL = re.compile("[\U00010000-\U0010FFFF]")  # characters JavaScript counts as two UTF-16 code units
REJECTED = "rejected"  # what a reader yields for a record it drops as a rejected or cancelled annotation
UNANNOTATED = "unannotated"  # ... for a Label Studio task no one annotated (its predictions are no annotation)
# The keys that hold a record's annotations, not its own fields: they are not passed through.
ANNOTATION_KEYS = {"doccano": {"text", "label", "entities", "relations"},
                   "labelstudio": {"annotations", "predictions"},
                   "prodigy": {"text", "spans", "tokens", "answer"}}


@dataclass(frozen=True)
class SpanOptions:
    """dataset.spans, and params' language: how span files are read."""

    shape: str = "auto"
    offsets: str = "auto"  # auto (each tool's unit), codepoints, utf16
    overlapping: str = "error"  # error, drop
    discontinuous: str = "error"  # error, drop
    rejected: str = "drop"  # drop, error
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
        if record in (REJECTED, UNANNOTATED):
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
    """The Annotated texts (REJECTED, None for a problem) of a JSON-lines file (doccano, Prodigy, spaCy) or
    a JSON array (Label Studio's JSON or JSON-MIN export, read whole: it is one JSON document)."""
    if first_character(path) == "[":
        with open_raw(path) as raw:
            data = raw.read()
        try:
            tasks = json.loads(data.removeprefix(BOM).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append((1, "not JSON", f"not a JSON array ({error}); export the tasks as JSON again"))
            return
        for number, task in enumerate(tasks, 1):
            yield annotated(task, f":record {number}", options, problems, spans, array=True)
        return
    for number, record in json_lines(path, problems):
        yield annotated(record, number, options, problems, spans, array=False)


def first_character(path) -> str:
    """The file's first character that is not whitespace (or a BOM)."""
    with open_raw(path) as raw:
        head = raw.read(4096).removeprefix(BOM).lstrip()
    return head[:1].decode("ascii", "replace")


def annotated(record, line, options: SpanOptions, problems: list, spans: SpanCounts, array: bool):
    """One record of a JSON span file as Annotated, REJECTED, or None with a problem added; `line`: its line
    (JSON lines) or ":record N" (a JSON list)."""
    if not isinstance(record, dict):
        problems.append((line, "not an object", "expected a JSON object a record"))
        return None
    shape = options.shape if options.shape != "auto" else shape_of(record, array)
    if shape is None or (array != (shape == "labelstudio")):
        problems.append((line, "unknown shape", "not a record of a known tool: doccano JSONL has \"text\" "
                         "and \"label\" (or \"entities\"), Prodigy/spaCy JSONL \"text\" and \"spans\", Label Studio "
                         "exports a JSON list of tasks; set dataset.spans.shape if the file is one of them"))
        return None
    try:
        if shape == "doccano":
            return doccano(record, line, options, spans)
        if shape == "prodigy":
            return prodigy(record, line, options, spans)
        return labelstudio(record, line, options, spans)
    except SpanError as error:
        problems.append((line, error.kind, str(error)))
        return None


def shape_of(record: dict, array: bool):
    if array:
        return "labelstudio"
    if "spans" in record:
        return "prodigy"
    if "label" in record or "entities" in record:
        return "doccano"
    return None


class SpanError(ValueError):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


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
    if record.get("answer", "accept") != "accept":
        if options.rejected == "error":
            raise SpanError("rejected", f"answer {record['answer']!r}: a rejected or ignored annotation; set "
                                        "dataset.spans.rejected: drop to leave such records out")
        return REJECTED
    items = record["spans"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SpanError("bad span", '"spans" must be a list of {"start", "end", "label"}')
    unit, units = options.unit_of("prodigy"), Units(text)
    checked = [checked_span(units, i.get("start"), i.get("end"), i.get("label"), unit, spans) for i in items]
    return Annotated(text, checked, line, "prodigy", passed_through(record, "prodigy"), unit)


def labelstudio(task: dict, line: int, options: SpanOptions, spans: SpanCounts):
    """A task of Label Studio's JSON export, or a record of its JSON-MIN export."""
    if "annotations" not in task and "data" not in task:  # JSON-MIN: the data's keys and one key per control
        # A control's value: a list of span objects (a bad one among them is an error, not a field to pass through).
        controls = [key for key, value in task.items() if isinstance(value, list) and value
                    and all(isinstance(v, dict) for v in value) and any(SPAN_KEYS & v.keys() for v in value)]
        text = text_of(task, "text")
        items = [item for key in controls for item in task[key]]
        fields = {key: value for key, value in task.items() if key not in controls}
        return Annotated(text, ls_spans(text, items, options, spans), line, "labelstudio",
                         {"min": True, "controls": controls, **fields})
    data = task.get("data")
    if not isinstance(data, dict):
        raise SpanError("missing field", 'a task needs "data" with the text')
    text = text_of(data, "text")
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise SpanError("bad span", '"annotations" must be a list of annotations')
    usable = [a for a in annotations if not a.get("was_cancelled")]
    if not annotations:
        return UNANNOTATED
    if not usable:
        if options.rejected == "error":
            raise SpanError("rejected", "every annotation of this task was cancelled; set dataset.spans.rejected: "
                                        "drop to leave such tasks out")
        return REJECTED
    spans.annotations_ignored += len(usable) - 1
    results = [r for r in usable[0].get("result", []) if isinstance(r, dict)]
    other = sorted({r["type"] for r in results if str(r.get("type", "labels")).endswith("labels")} - {"labels"})
    if other:  # spans over HTML, paragraphs, images...: their offsets are not a text's characters
        raise SpanError("bad span", f"results of type {', '.join(other)}: nerflow reads <Labels> over <Text> "
                                    "(type labels); export a project labelled that way")
    # Choices, text areas, relations and the like: about the text or its spans, not spans.
    results = [r for r in results if r.get("type", "labels") == "labels"]
    fields = {key: value for key, value in task.items() if key not in ANNOTATION_KEYS["labelstudio"]}
    if results:  # the control names, to write predictions the same labelling config shows
        fields["controls"] = [results[0].get("from_name", "label"), results[0].get("to_name", "text")]
    items = [r.get("value", {}) for r in results]
    return Annotated(text, ls_spans(text, items, options, spans), line, "labelstudio", fields)


def ls_spans(text: str, items: list, options: SpanOptions, spans: SpanCounts) -> list:
    checked, units = [], Units(text)
    for value in items:
        labels = value.get("labels")
        if not isinstance(labels, list) or len(labels) != 1:
            spans.read += 1
            raise SpanError("bad label", f"a span with labels {labels!r}: expected exactly one label a span")
        unit = options.offsets
        if unit == "auto":  # the unit under which the text holds value.text there (code points where neither does)
            unit = "codepoints"
            start, end = value.get("start"), value.get("end")
            if "text" in value and in_range(text, start, end) and text[start:end] != value["text"]:
                start, end = units.codepoints(start), units.codepoints(end)
                if start is not None and end is not None and text[start:end] == value["text"]:
                    unit = "utf16"
        checked.append(checked_span(units, value.get("start"), value.get("end"), labels[0], unit, spans,
                                    mention=value.get("text")))
    return checked


def brat_texts(folder, options: SpanOptions, name: str, problems: list, spans: SpanCounts):
    """The Annotated texts of a BRAT folder: each name.txt with its name.ann (none: no spans), by name."""
    folder = Path(folder)
    texts = sorted(folder.rglob("*.txt"))
    for path in texts:
        where = path.relative_to(folder).as_posix()
        raw = path.read_bytes().removeprefix(BOM)
        try:
            text = raw.decode("utf-8")  # as written: a CRLF counts as two characters, as BRAT counts it
        except UnicodeDecodeError as error:
            problems.append((f"/{where}", "not UTF-8", f"bytes that are not UTF-8 at byte {error.start}; re-encode "
                                                       "it as UTF-8"))
            yield None
            continue
        ann = path.with_suffix(".ann")
        found, number, units = [], 0, Units(text)
        lines = ann.read_bytes().decode("utf-8", "replace").splitlines() if ann.is_file() else []
        for number, line in enumerate(lines, 1):
            if not line.startswith("T"):  # relations, events, attributes, notes: not spans
                continue
            try:
                found.append(brat_span(units, line, options, spans))
            except SpanError as error:
                problems.append((f"/{ann.relative_to(folder).as_posix()}:{number}", error.kind, str(error)))
        yield Annotated(text, [s for s in found if s is not None], f"/{where}", "brat", {"file": where.removesuffix(".txt")})
    for ann in sorted(folder.rglob("*.ann")):
        if not ann.with_suffix(".txt").is_file():
            problems.append((f"/{ann.relative_to(folder).as_posix()}", "no text", "annotations without their text: "
                             f"{ann.with_suffix('.txt').name} is missing"))
    if not texts:
        problems.append(("", "empty folder", "no .txt files: a BRAT folder holds name.txt and name.ann pairs"))


def brat_span(units: "Units", line: str, options: SpanOptions, spans: SpanCounts):
    parts = line.split("\t")
    if len(parts) < 2 or " " not in parts[1]:
        raise SpanError("bad span", "expected `T<n><TAB>TYPE start end<TAB>text`")
    label, _, offsets = parts[1].partition(" ")
    if ";" in offsets:  # a discontinuous span: fragments start end;start end
        spans.read += 1
        if options.discontinuous == "drop":
            spans.drop("discontinuous")
            return None
        raise SpanError("discontinuous", f"a discontinuous span ({offsets}): one entity over several fragments, "
                                         "which tags cannot hold; set dataset.spans.discontinuous: drop to leave "
                                         "such spans out")
    try:
        start, end = (int(x) for x in offsets.split())
    except ValueError:
        raise SpanError("bad span", f"offsets {offsets!r}: expected two whole numbers") from None
    return checked_span(units, start, end, label, options.unit_of("brat"), spans,
                        mention=parts[2] if len(parts) > 2 else None)


# --- one span, checked ---------------------------------------------------------------------------------------

def text_of(record: dict, key: str) -> str:
    text = record.get(key)
    if not isinstance(text, str):
        raise SpanError("missing field", f'expected a "{key}" string')
    return text


def passed_through(record: dict, shape: str) -> dict:
    return {key: value for key, value in record.items() if key not in ANNOTATION_KEYS[shape]}


def in_range(text: str, start, end) -> bool:
    return all(type(x) is int for x in (start, end)) and 0 <= start <= end <= len(text)


class Units:
    """A text's offsets in UTF-16 code units turned into code points (they differ after a character outside the
    Basic Multilingual Plane, an emoji), the map built once a text and only for a text that has one."""

    def __init__(self, text: str):
        self.text, self.map = text, None
        self.astral = ASTRAL.search(text) is not None

    def codepoints(self, offset: int):
        """The code point offset of a UTF-16 offset, or None inside a surrogate pair or past the end."""
        if not self.astral:
            return offset if 0 <= offset <= len(self.text) else None
        if self.map is None:
            self.map, units = {}, 0
            for index, character in enumerate(self.text):
                self.map[units] = index
                units += 2 if ord(character) > 0xFFFF else 1
            self.map[units] = len(self.text)
        return self.map.get(offset)


def checked_span(units: Units, start, end, label, unit: str, spans: SpanCounts, mention: str = None) -> tuple:
    """(start, end, label) of one span of units.text in code points, its whitespace trimmed (counted), or
    SpanError."""
    text = units.text
    spans.read += 1
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise SpanError("bad label", f"a span with label {label!r}: expected a type name without spaces")
    if not all(type(x) is int for x in (start, end)):
        raise SpanError("bad span", f"offsets {start!r}, {end!r}: expected whole numbers")
    given = (start, end)
    if unit == "utf16" and units.astral:
        start, end = units.codepoints(start), units.codepoints(end)
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
    while trimmed_start < trimmed_end and text[trimmed_start].isspace():
        trimmed_start += 1
    while trimmed_end > trimmed_start and text[trimmed_end - 1].isspace():
        trimmed_end -= 1
    if trimmed_start == trimmed_end:
        raise SpanError("empty span", f"span {given[0]}-{given[1]} ({label}) holds {text[start:end]!r}: nothing "
                                      "to tag; remove it in the tool")
    if (trimmed_start, trimmed_end) != (start, end):
        spans.trimmed += 1
    return trimmed_start, trimmed_end, label


# --- a text into Sentences -----------------------------------------------------------------------------------

def kept_spans(spans: list, options: SpanOptions, counts: SpanCounts) -> tuple:
    """(spans without overlaps, sorted; the overlaps as (span, span)) under dataset.spans.overlapping: the longest of
    overlapping spans kept, the first of equals."""
    spans = sorted(spans)
    if all(a[1] <= b[0] for a, b in zip(spans, spans[1:])):  # none overlaps: the usual case, in one pass
        return spans, []
    kept, overlaps = [], []
    for span in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):  # longest first, then by position
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
    boundaries), tagged IOB2 by its spans; the first sentence carries the text and the record's other fields.
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
        found[0].source = json.dumps({"shape": record.shape, "unit": record.unit, "fields": record.fields},
                                     ensure_ascii=False)
    return found
