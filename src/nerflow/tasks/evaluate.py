"""What the evaluate stage asks of a task (its evaluate part, nerflow.tasks.<task>.evaluate, subclasses Evaluate):
one split scored with the trained model, its predictions written, its errors analysed, and the records of the
plots (dev confusion, F1 per label)."""

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SplitEvaluation:
    """One split scored by the evaluate stage."""

    scores: dict  # metrics/eval.json[split]
    errors: dict  # metrics/errors.json[split]
    report: str  # its section of metrics/errors.md
    summary: str  # one line for the log
    confusion: list = field(default_factory=list)  # {"actual", "predicted"} records for DVC's confusion plot
    f1_by_label: list = field(default_factory=list)  # {"type", "f1", "precision", "recall", "support"} records


class Evaluate:
    task: str  # params' `task` (set by nerflow.tasks.task_part)
    model_class = None  # the transformers Auto class the model folder is loaded with (the task's Train.model_class)

    def evaluate_split(self, model, params: dict, pad_id: int, processed: Path, tokenized: Path, split: str,
                       predictions: Path) -> SplitEvaluation:
        """Score one split with `model`; write its predictions into the folder `predictions`."""
        raise NotImplementedError


def f1_records(per_label: dict) -> list:
    """Bar-plot records ({"type", "f1", "precision", "recall", "support"}, sorted by label) of the per-label
    scores of a split: entity types (NER's `per_type`) or classes (`per_class`)."""
    return [{"type": name, "f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "support": s["support"]}
            for name, s in sorted(per_label.items())]
