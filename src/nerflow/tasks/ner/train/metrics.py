"""Entity-level scores with seqeval.

`conlleval` mode (seqeval's default) scores entities as the CoNLL-2000 perl script does, which also counts an
entity that starts with I-; `strict` mode (IOB2) only counts well-formed entities. Token accuracy includes O
tokens, so it is always high: it is reported as accuracy, never as F1.
"""

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2


def _scores(gold, predicted, **mode) -> dict:
    return {
        "precision": precision_score(gold, predicted, zero_division=0, **mode),
        "recall": recall_score(gold, predicted, zero_division=0, **mode),
        "f1": f1_score(gold, predicted, zero_division=0, **mode),
    }


def entity_scores(gold: list, predicted: list) -> dict:
    """Micro P/R/F1 (conlleval and strict IOB2), macro F1, per-type P/R/F1/support, token accuracy."""
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    strict = {"mode": "strict", "scheme": IOB2}
    report = classification_report(gold, predicted, output_dict=True, zero_division=0)
    per_type = {
        name: {"precision": row["precision"], "recall": row["recall"], "f1": row["f1-score"], "support": int(row["support"])}
        for name, row in report.items()
        if not name.endswith(" avg")
    }
    tokens = sum(len(g) for g in gold)
    correct = sum(a == b for g, p in zip(gold, predicted) for a, b in zip(g, p))
    return {
        **_scores(gold, predicted),
        "strict": _scores(gold, predicted, **strict),
        "macro_f1": f1_score(gold, predicted, average="macro", zero_division=0),
        "per_type": per_type,
        "token_accuracy": correct / tokens if tokens else 0.0,
        "sentences": len(gold),
        "words": tokens,
    }


def entity_f1(gold: list, predicted: list) -> float:
    return f1_score(gold, predicted, zero_division=0)
