"""Classification's evaluate part: accuracy, macro-F1 and precision/recall/F1/support per class (scikit-learn) on
dev and test; each confusion counted and its most confident mistakes quoted with their line; every example's
prediction written as JSON lines."""

from pathlib import Path

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.tasks import evaluate
from nerflow.tasks.classification.records import Example
from nerflow.tasks.classification.train import Train
from nerflow.tasks.evaluate import SplitEvaluation, f1_records

EXAMPLES_REPORTED = 3  # examples shown for each confusion in the error report


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


class Evaluate(evaluate.Evaluate):
    model_class = Train.model_class

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
