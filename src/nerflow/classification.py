"""Text and text-pair classification: everything in which it differs from NER, in one place.

Tasks (`task` in params.yaml): `text-classification` (one text -> a label: sentiment, topic, intent) and
`pair-classification` (two texts -> a label: entailment, paraphrase). The five stages are the same as for NER;
each stage hands these tasks to the functions here. The model side is where NER's is: the class
probabilities in nerflow.inference (predict_classes), the raw-text Classifier in nerflow.predict.

Data: CSV, TSV or JSON lines, optionally compressed (raw file names: nerflow.rawfiles), with a header row
(CSV/TSV) or keys (JSONL) naming the text, second-text and label columns (`dataset.columns`). Tables are read
exactly, record by record, with the quoting of `dataset.quoting` (nerflow.tables).

Length: an example is one input, [CLS] text [SEP] (text_pair [SEP]), cut to `max_length` pieces (for a pair,
the longer text loses pieces first: transformers' "longest_first"). A label belongs to the whole text, so
windows would each need a label and their votes merged; truncation is the rule, and the examples it shortened
are counted in metrics/tokenize.json (`truncated`).

Scores: accuracy, macro-F1, and precision/recall/F1/support per class (scikit-learn), on dev and test.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from nerflow.conll import MAX_REPORTED, DataError, json_lines
from nerflow.rawfiles import raw_format
from nerflow.tables import read_rows

TASKS = ("text-classification", "pair-classification")
DEFAULT_COLUMNS = {"text": "text", "text_pair": None, "label": "label"}
EXAMPLES_REPORTED = 3  # examples shown for each confusion in the error report


def task_of(params: dict) -> str:
    """params["task"], checked: "ner" (the default) or one of TASKS."""
    task = params.get("task", "ner")
    if task != "ner" and task not in TASKS:
        raise SystemExit(f"params.yaml: task is {task!r}; expected ner, {' or '.join(TASKS)}")
    return task


@dataclass
class Example:
    text: str
    line: int  # where the example starts in its file (1-based; the header is line 1 of a CSV/TSV)
    label: str = None  # None: to be predicted
    text_pair: str = None

    def to_record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def columns_of(dataset: dict, task: str) -> dict:
    """dataset.columns with defaults, checked: a pair task needs text_pair, a single-text task must not name one."""
    given = dataset.get("columns") or {}
    unknown = sorted(set(given) - set(DEFAULT_COLUMNS))
    if unknown:
        raise ValueError(f"dataset.columns.{unknown[0]}: unknown; the columns are text, text_pair and label")
    columns = {**DEFAULT_COLUMNS, **given}
    if (task == "pair-classification") != (columns["text_pair"] is not None):
        raise ValueError("dataset.columns.text_pair names the second text's column: required for "
                         "pair-classification, null for text-classification")
    return columns


def read_records(path: Path, columns: dict, name: str, quoting: str = "auto"):
    """Yield (line, {column: value}) for each record of a CSV, TSV (nerflow.tables: exact, by line) or JSON-lines
    file, with the columns of `columns` (a JSON record without one reads it as None)."""
    wanted = [c for c in columns.values() if c]
    if raw_format(path) == "jsonl":
        problems = []
        for number, record in json_lines(path, problems):
            if not isinstance(record, dict):
                problems.append((number, "not an object", "expected a JSON object a line"))
            elif not problems:
                yield number, {c: record.get(c) for c in wanted}
        if problems:
            raise DataError(name, problems)
        return
    rows = read_rows(path, quoting, name)
    header, _ = next(rows)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(name, [(1, "missing column", f"no column {missing[0]!r} in the header "
                                                      f"({', '.join(map(repr, header))}); set dataset.columns in params.yaml")])
    index = {c: header.index(c) for c in wanted}
    for line, fields in rows:
        yield line, {c: fields[i] for c, i in index.items()}


def read_examples(path: Path, columns: dict, name: str, drop_labels=(), quoting: str = "auto") -> tuple:
    """(examples, counts) of one file, where counts = {"records": records read, "dropped": {reason: n}}: every
    record is an example or dropped for a reason (`drop_labels`: its label is one of dataset.drop_labels).
    DataError lists every problem by line: a missing or empty text, second text or label."""
    examples, problems, dropped = [], [], 0
    records = 0
    for line, row in read_records(path, columns, name, quoting):
        records += 1
        label = row[columns["label"]]
        if label is not None and str(label) in drop_labels:
            dropped += 1
            continue
        fields = {"text": row[columns["text"]], "label": label}
        if columns["text_pair"]:
            fields["text_pair"] = row[columns["text_pair"]]
        empty = [key for key, value in fields.items() if value is None or not str(value).strip()]
        if empty:
            problems.append((line, "empty field", f"empty {empty[0]} (column {columns[empty[0]]!r})"))
            continue
        examples.append(Example(line=line, **{k: str(v) for k, v in fields.items()}))
    if not examples and not problems:
        problems.append((1, "no examples", "no examples" + (f" left after dropping labels {list(drop_labels)}"
                                                            if dropped else "")))
    if problems:
        raise DataError(name, problems)
    return examples, {"records": records, "dropped": {"drop_labels": dropped}}


def unknown_labels(examples: list, labels: list, name: str) -> list:
    """Messages for the labels of `examples` that train never shows: each label, its count, its first line."""
    known, found = set(labels), {}
    for e in examples:
        if e.label not in known:
            count, line = found.get(e.label, (0, e.line))
            found[e.label] = (count + 1, line)
    return [f"{name}:{line}: label {label!r} does not occur in train ({count} rows)"
            for label, (count, line) in list(found.items())[:MAX_REPORTED]]


def encode(tokenizer, examples: list, max_length: int, label2id: dict = None) -> list:
    """One window per example: {"input_ids", "labels" (the class id; not without label2id), "truncated"}."""
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    texts = [e.text for e in examples]
    full = tokenizer(texts, pairs, truncation=False)["input_ids"]
    cut = tokenizer(texts, pairs, truncation="longest_first", max_length=max_length)["input_ids"]
    windows = [{"input_ids": ids, "truncated": len(ids) < len(whole)} for ids, whole in zip(cut, full)]
    if label2id is not None:
        for window, e in zip(windows, examples):
            window["labels"] = label2id[e.label]
    return windows


def scores(gold: list, predicted: list, labels: list) -> dict:
    """Accuracy, macro-F1, per-class P/R/F1/support (every class of train, predicted or not)."""
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": accuracy_score(gold, predicted),
        "macro_f1": f1_score(gold, predicted, labels=labels, average="macro", zero_division=0),
        "per_class": {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "examples": len(gold),
    }


def confusion_records(gold: list, predicted: list) -> list:
    """One {"actual", "predicted"} record per example: DVC's confusion template counts them."""
    return [{"actual": g, "predicted": p} for g, p in zip(gold, predicted)]


def error_summary(gold: list, predicted: list) -> dict:
    """Misclassified examples: the total and the count of each confusion, "actual -> predicted", most first."""
    pairs = {}
    for g, p in zip(gold, predicted):
        if g != p:
            pairs[f"{g} -> {p}"] = pairs.get(f"{g} -> {p}", 0) + 1
    return {"errors": sum(pairs.values()), "confusions": dict(sorted(pairs.items(), key=lambda kv: -kv[1]))}


def error_report_markdown(examples: list, predicted: list, probabilities, labels: list, split: str) -> str:
    """Markdown: each confusion with its count and its most confident mistakes, quoted with their line."""
    gold = [e.label for e in examples]
    summary = error_summary(gold, predicted)
    lines = [f"# Error analysis: {split}", "",
             f"{summary['errors']} of {len(examples)} examples misclassified."]
    for pair, count in summary["confusions"].items():
        actual, wrong = pair.split(" -> ")
        mistakes = sorted((i for i, e in enumerate(examples) if e.label == actual and predicted[i] == wrong),
                          key=lambda i: -float(probabilities[i, labels.index(wrong)]))
        lines += ["", f"## {actual} read as {wrong}: {count}", ""]
        for i in mistakes[:EXAMPLES_REPORTED]:
            pair_text = f" / {examples[i].text_pair}" if examples[i].text_pair is not None else ""
            lines.append(f"- line {examples[i].line} (p={float(probabilities[i, labels.index(wrong)]):.2f}): "
                         f"{examples[i].text}{pair_text}")
    return "\n".join(lines) + "\n"
