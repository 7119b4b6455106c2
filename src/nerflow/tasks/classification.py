"""Text and text-pair classification as tasks: `text-classification` (one text -> a label: sentiment, topic,
intent) and `pair-classification` (two texts -> a label: entailment, paraphrase).

Data: CSV, TSV or JSON lines, optionally compressed (raw file names: nerflow.data.rawfiles), with a header row
(CSV/TSV) or keys (JSONL) naming the text, second-text and label columns (`dataset.columns`). Tables are read
exactly, record by record, with the quoting of `dataset.quoting` (nerflow.data.tables).

Length: an example is one input, [CLS] text [SEP] (text_pair [SEP]), cut to `max_length` pieces (for a pair,
the longer text loses pieces first: transformers' "longest_first"). A label belongs to the whole text, so
windows would each need a label and their votes merged; truncation is the rule, and the examples it shortened
are counted in metrics/tokenize.json (`truncated`).

Scores: accuracy, macro-F1, and precision/recall/F1/support per class (scikit-learn), on dev and test.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow.compute as pc

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.data.rawfiles import raw_format
from nerflow.data.tables import read_rows
from nerflow.data.textfiles import DataError, json_lines
from nerflow.tasks import card
from nerflow.tasks.base import CardFacts, SplitEvaluation, Task, f1_records

EXAMPLES_REPORTED = 3  # examples shown for each confusion in the error report


@dataclass
class Example:
    text: str
    line: int  # where the example starts in its file (1-based; the header is line 1 of a CSV/TSV)
    label: str = None  # None: to be predicted
    text_pair: str = None

    def to_record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files: the dataset keys of params.yaml that concern them (checked by nerflow.params: a
    pair task names text_pair's column, a single-text task does not)."""

    columns: dict
    drop_labels: tuple
    quoting: str

    @classmethod
    def from_params(cls, dataset: dict) -> "ReadOptions":
        return cls(dataset["columns"], tuple(str(label) for label in dataset["drop_labels"]), dataset["quoting"])


def read_records(path: Path, columns: dict, name: str, quoting: str = "auto"):
    """Yield (line, {column: value}) for each record of a CSV, TSV (nerflow.data.tables: exact, by line) or JSON-lines
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


def read_examples(path: Path, options: "ReadOptions", name: str, counts):
    """Yield the examples of one file, counting in `counts` (a nerflow.data.splits.Counts) every record read and
    those dropped (`drop_labels`: its label is one of dataset.drop_labels). After the last, DataError lists every
    problem by line: a missing or empty text, second text or label."""
    columns, drop_labels = options.columns, options.drop_labels
    examples, problems, dropped = 0, [], 0
    for line, row in read_records(path, columns, name, options.quoting):
        counts.records += 1
        label = row[columns["label"]]
        if label is not None and str(label) in drop_labels:
            counts.drop("drop_labels")
            dropped += 1
            continue
        fields = {"text": row[columns["text"]], "label": label}
        if columns["text_pair"]:
            fields["text_pair"] = row[columns["text_pair"]]
        empty = [key for key, value in fields.items() if value is None or not str(value).strip()]
        if empty:
            problems.append((line, "empty field", f"empty {empty[0]} (column {columns[empty[0]]!r})"))
            continue
        yield Example(line=line, **{k: str(v) for k, v in fields.items()})
        examples += 1
    if not examples and not problems:
        problems.append((1, "no examples", "no examples" + (f" left after dropping labels {list(drop_labels)}"
                                                            if dropped else "")))
    if problems:
        raise DataError(name, problems)


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
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

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


def error_report_markdown(gold: list, predicted: list, probabilities, labels: list, split: str, example) -> str:
    """Markdown: each confusion with its count and its most confident mistakes, quoted with their line;
    `example(i)` is the Example of index i (only the quoted ones are read)."""
    summary = error_summary(gold, predicted)
    lines = [f"# Error analysis: {split}", "",
             f"{summary['errors']} of {len(gold)} examples misclassified."]
    for pair, count in summary["confusions"].items():
        actual, wrong = pair.split(" -> ")
        mistakes = sorted((i for i, label in enumerate(gold) if label == actual and predicted[i] == wrong),
                          key=lambda i: -float(probabilities[i, labels.index(wrong)]))
        lines += ["", f"## {actual} read as {wrong}: {count}", ""]
        for i in mistakes[:EXAMPLES_REPORTED]:
            quoted = example(i)
            pair_text = f" / {quoted.text_pair}" if quoted.text_pair is not None else ""
            lines.append(f"- line {quoted.line} (p={float(probabilities[i, labels.index(wrong)]):.2f}): "
                         f"{quoted.text}{pair_text}")
    return "\n".join(lines) + "\n"


# The keys of params.yaml a classifier's card lists.
CARD_KEYS = ("task", "seed", "lr", "epochs", "batch_size", "weight_decay", "warmup_ratio", "max_grad_norm", "max_length")


class TextClassification(Task):
    """One text -> a label. An example is one input, [CLS] text [SEP], cut to max_length pieces (`truncated`)."""

    name = "text-classification"
    unit = "examples"
    dev_metric = "accuracy"
    # Not packed: the head reads each window's first token, which packing would move.
    packable = False
    record_type = Example
    pair = False
    unknown_labels_hint = "Fix the files, or leave such rows out with dataset.drop_labels. Nothing was written."

    @property
    def model_class(self):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def read_options(self, dataset: dict) -> ReadOptions:
        return ReadOptions.from_params(dataset)

    def read_file(self, path: Path, options: ReadOptions, name: str, counts):
        return read_examples(path, options, name, counts)

    def labels_of(self, example: Example) -> list:
        return [example.label]

    def stats(self, table, labels: list, options: ReadOptions) -> dict:
        counted = pc.value_counts(table.column("label")) if table.num_rows else None
        found = {} if counted is None else dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()))
        return {"labels": {label: found.get(label, 0) for label in labels}}

    def encode(self, tokenizer, examples: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        windows = encode(tokenizer, examples, settings["max_length"], {label: i for i, label in enumerate(labels)})
        return windows, {"examples": len(windows), "truncated": sum(w["truncated"] for w in windows),
                         "pieces": sum(len(w["input_ids"]) for w in windows),
                         "longest_window": max((len(w["input_ids"]) for w in windows), default=0)}

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        import torch

        from nerflow.training.inference import predict_classes

        windows = Windows(store.read_split(tokenized, "dev"))
        gold = torch.tensor(windows.column("labels"))

        def score(model):
            probabilities, dev_loss = predict_classes(model, windows, params["eval_batch_size"], pad_id, loss=True)
            return (probabilities.argmax(-1) == gold).float().mean().item(), dev_loss

        return score

    def card(self, params: dict, facts: CardFacts) -> str:
        example = '"A man plays a guitar." "Someone makes music."' if self.pair else '"A warm, funny film."'
        return card.render(
            params, facts, pipeline_tag="text-classification", tags="[nerflow]",
            title=f"{'Sentence-pair' if self.pair else 'Text'} classifier fine-tuned from {params['model']}",
            describes=f"Labels: {', '.join(facts.labels)}.", data_note="", keys=CARD_KEYS,
            score_title="Dev accuracy by epoch", score_name="dev accuracy",
            after_scores=["Test scores are in metrics/eval.json (accuracy, macro-F1, per class), written by the "
                          "evaluate stage."],
            use=["```sh", f"nerflow predict {card.MODEL} {example}   # JSON lines: label, score"
                 + (" (two texts: a pair)" if self.pair else ""), "```", "",
                 f"Texts longer than {params['max_length']} pieces are cut to that length, as in training."])

    def evaluate_split(self, model, params: dict, pad_id: int, processed: Path, tokenized: Path, split: str,
                       predictions: Path) -> SplitEvaluation:
        """Accuracy, macro-F1, per class; the confusions and the most confident mistakes of each; the predictions
        as JSON lines (each example with its predicted label and probability)."""
        from nerflow.data.files import write_jsonl
        from nerflow.training.inference import predict_classes

        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        records, windows = store.read_split(processed, split), Windows(store.read_split(tokenized, split))
        probabilities = predict_classes(model, windows, params["eval_batch_size"], pad_id)
        predicted = [labels[i] for i in probabilities.argmax(-1).tolist()]
        gold = records.column("label").to_pylist()
        split_scores = {**scores(gold, predicted, labels), "truncated": sum(windows.column("truncated"))}
        rows = (row for batch in records.to_batches() for row in batch.to_pylist())  # a record batch at a time
        write_jsonl(predictions / f"{split}.jsonl",
                    ({**Example(**row).to_record(), "predicted": predicted[i], "score": round(float(probabilities[i].max()), 4)}
                     for i, row in enumerate(rows)))
        return SplitEvaluation(
            scores=split_scores, errors=error_summary(gold, predicted),
            report=error_report_markdown(gold, predicted, probabilities, labels, split,
                                         lambda i: Example(**records.slice(i, 1).to_pylist()[0])),
            summary=f"{split}: accuracy {100 * split_scores['accuracy']:.2f}, macro-F1 "
                    f"{100 * split_scores['macro_f1']:.2f}, {len(gold)} examples "
                    f"({split_scores['truncated']} truncated)",
            confusion=confusion_records(gold, predicted),
            f1_by_label=f1_records(split_scores["per_class"]))

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        return Classifier(model, tokenizer, min(settings["max_length"], tokenizer.model_max_length), batch_size,
                          self.pair)


class PairClassification(TextClassification):
    """Two texts -> a label: [CLS] text [SEP] text_pair [SEP], the longer text losing pieces first when cut."""

    name = "pair-classification"
    pair = True


class Classifier:
    """A sequence-classification model and its tokenizer, labelling raw texts (or pairs of texts)."""

    def __init__(self, model, tokenizer, max_length: int = 128, batch_size: int = 32, pair: bool = False):
        self.model, self.tokenizer, self.pair = model.eval(), tokenizer, pair
        self.max_length, self.batch_size = max_length, batch_size
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    def __call__(self, texts, text_pairs=None) -> list:
        """{"label", "score"} for each text (and its pair); a single str gives a single dict."""
        from nerflow.training.inference import predict_classes

        if isinstance(texts, str):
            return self([texts], None if text_pairs is None else [text_pairs])[0]
        pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
        examples = [Example(text=t, line=i + 1, text_pair=p) for i, (t, p) in enumerate(zip(texts, pairs))]
        windows = encode(self.tokenizer, examples, self.max_length)
        probabilities = predict_classes(self.model, windows, self.batch_size, self.tokenizer.pad_token_id)
        best = probabilities.max(-1)
        return [{"label": self.labels[i], "score": round(float(p), 4)} for p, i in zip(best.values, best.indices)]

    def predict_records(self, records: list, from_arguments: bool) -> tuple:
        """(records, results) for `nerflow predict`: {"label", "score"} for each record. A pair model reads each
        record's pair: TEXT arguments two at a time (the records become pairs), a "text_pair" field in JSON lines,
        or two texts split by a tab in a plain line; ValueError if a record has no pair."""
        if not self.pair:
            return records, self([r["text"] for r in records])
        if from_arguments:
            if len(records) % 2:
                raise ValueError("a pair model takes TEXT arguments two at a time (premise, hypothesis)")
            records = [{"text": a["text"], "text_pair": b["text"]} for a, b in zip(records[::2], records[1::2])]
        for number, record in enumerate(records, 1):
            if "text_pair" not in record:
                first, tab, second = record["text"].partition("\t")
                if not tab:
                    raise ValueError(f"input record {number}: a pair model needs two texts: a tab between them, "
                                     'or a "text_pair" field in JSON lines')
                record["text"], record["text_pair"] = first, second
        return records, self([r["text"] for r in records], [r["text_pair"] for r in records])
