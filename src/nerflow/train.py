"""Stage train: fine-tune the base encoder (nerflow.finetune) -> models/ner/, metrics/train/ (curves).

Dev entity F1 and dev loss are measured after each epoch and the best epoch's weights are kept. Each epoch's
end is checkpointed to checkpoints/train/ (outside DVC's outputs); a rerun after a kill resumes from there, and
the checkpoint is removed once the stage has written its outputs. Several processes (`processes` param) run under
torchrun (README "Team and scale"); only the main process writes.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from nerflow import classification
from nerflow.align import load_tokenizer
from nerflow.card import render_classifier_card, render_model_card
from nerflow.files import atomic_dir, read_jsonl, sha256_of, write_json_atomic, write_text_atomic
from nerflow.finetune import fit, load_base_model, merged, parameter_counts
from nerflow.inference import predict_classes, predict_tags
from nerflow.metrics import entity_f1
from nerflow.params import load_params
from nerflow.runtime import set_threads

PROCESSED_DIR = Path("data/processed")
TOKENIZED_DIR = Path("data/tokenized")
RAW_DIR = Path("data/raw")
BASE_MODEL_DIR = "data/base_model"
MODEL_DIR = "models/ner"
CURVES_DIR = "metrics/train"
CHECKPOINT = Path("checkpoints/train/last.pt")


def dev_scorer(params: dict, labels: list, pad_id: int, tokenized: Path = TOKENIZED_DIR, processed: Path = PROCESSED_DIR):
    """evaluate(model) -> (dev entity F1, dev loss), as the evaluate stage scores it."""
    windows, sentences = read_jsonl(tokenized / "dev.jsonl"), read_jsonl(processed / "dev.jsonl")
    gold, lengths = [s["tags"] for s in sentences], [len(s["tokens"]) for s in sentences]

    def evaluate(model):
        predicted, dev_loss = predict_tags(model, windows, lengths, labels, params["eval_batch_size"], pad_id,
                                           params["constrained_decoding"], progress="dev F1", loss=True)
        return entity_f1(gold, predicted), dev_loss

    return evaluate


def fingerprint(params: dict, tokenized: Path = TOKENIZED_DIR, base_model: str = BASE_MODEL_DIR) -> str:
    """What a checkpoint must match to be resumed: every param and the training data and base weights."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for path in (tokenized / "train.jsonl", Path(base_model) / "model.safetensors"):
        digest.update(sha256_of(path).encode())
    return digest.hexdigest()


def relaunch(params: dict) -> None:
    """Run this stage again under torchrun when it should be several processes and is not yet: `processes` per
    machine, and the machines that torchrun's PET_NNODES, PET_NODE_RANK, PET_MASTER_ADDR and PET_MASTER_PORT
    name (README "Team and scale"). One machine uses --standalone: a free port, so runs side by side don't meet."""
    processes = int(params.get("processes") or 1)
    nodes = os.environ.get("PET_NNODES", "1")
    if "LOCAL_RANK" in os.environ or (processes == 1 and nodes == "1"):
        return
    standalone = ["--standalone"] if nodes == "1" else []
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "torch.distributed.run", *standalone,
                              f"--nproc-per-node={processes}", "-m", "nerflow.train"])


def classification_scorer(params: dict, pad_id: int, tokenized: Path = TOKENIZED_DIR):
    """evaluate(model) -> (dev accuracy, dev loss), as the evaluate stage scores it."""
    windows = read_jsonl(tokenized / "dev.jsonl")
    gold = torch.tensor([w["labels"] for w in windows])

    def evaluate(model):
        probabilities, dev_loss = predict_classes(model, windows, params["eval_batch_size"], pad_id, loss=True)
        return (probabilities.argmax(-1) == gold).float().mean().item(), dev_loss

    return evaluate


def pieces_per_sentence(windows: list, processed: Path = PROCESSED_DIR) -> float:
    """NER's batch unit: a batch holds about batch_size sentences' worth of tokens, whether windows hold one
    sentence or several (document context)."""
    with open(processed / "train.jsonl", encoding="utf-8") as f:
        sentences = sum(1 for _ in f)
    return sum(len(w["input_ids"]) for w in windows) / sentences


def train_model(params: dict, labels: list, pad_id: int, tokenized: Path = TOKENIZED_DIR,
                processed: Path = PROCESSED_DIR, base_model: str = BASE_MODEL_DIR, checkpoint: Path = None,
                progress: bool = True):
    """Fine-tune the base model on tokenized/train.jsonl as this stage does, choosing the epoch on dev.
    Returns (model with the best epoch's weights, not yet merged; Outcome; the dev metric's name). On a
    process of a multi-process run other than the main one, the model is None."""
    task = classification.task_of(params)
    model = load_base_model(params, labels, base_model,
                            AutoModelForTokenClassification if task == "ner" else AutoModelForSequenceClassification)
    trainable, total = parameter_counts(model)
    print(f"train: tuning {params.get('tuning', 'full')}, {trainable:,} of {total:,} parameters trainable "
          f"({100 * trainable / total:.2f}%)")
    windows = [{"input_ids": w["input_ids"], "labels": w["labels"]} for w in read_jsonl(tokenized / "train.jsonl")]
    resumable = dict(checkpoint=checkpoint, fingerprint=fingerprint(params, tokenized, base_model) if checkpoint else "")
    if task == "ner":
        outcome = fit(model, windows, params, pad_id, dev_scorer(params, labels, pad_id, tokenized, processed),
                      tokens_per_example=pieces_per_sentence(windows, processed), progress=progress, **resumable)
        metric = "dev_f1"
    else:
        outcome = fit(model, windows, params, pad_id, classification_scorer(params, pad_id, tokenized),
                      metric="dev_accuracy", progress=progress, **resumable)
        metric = "dev_accuracy"
    if outcome.best_state is None:
        return None, outcome, metric
    model.load_state_dict(outcome.best_state)
    return model, outcome, metric


def main():
    params = load_params()
    relaunch(params)
    set_threads(params)  # before torch runs anything
    from dvclive import Live  # here, not at the top: train_model runs where DVC is not installed (scripts/gpu_recipe.py)

    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    tokenizer = load_tokenizer(BASE_MODEL_DIR)  # as tokenize used it; saved with its add_prefix_space
    model, outcome, metric = train_model(params, labels, tokenizer.pad_token_id, checkpoint=CHECKPOINT)
    if model is None:  # not the main process of a multi-process run: it writes nothing
        return
    trainable, total = parameter_counts(model)
    model = merged(model)  # LoRA: adapters merged in, so models/ner is a plain transformers model like any other
    with atomic_dir(CURVES_DIR) as curves, atomic_dir(MODEL_DIR) as out:
        live = Live(str(curves), dvcyaml=False, save_dvc_exp=False, report=None)
        for name, step, value in outcome.history:
            live.step = step
            live.log_metric(name, value)
        # Named under train/ so that `dvc exp show` keeps dev.f1 and test.f1 for metrics/eval.json.
        live.log_metric(f"train/best_{metric}", outcome.best_score, plot=False)
        live.log_metric("train/best_epoch", outcome.best_epoch, plot=False)
        live.log_metric("train/trainable_parameters", trainable, plot=False)
        live.end()
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        # How the tokenize stage made the windows and how tags are decoded: `nerflow predict` does the same.
        settings = json.loads((TOKENIZED_DIR / "settings.json").read_text())
        ner = classification.task_of(params) == "ner"
        extra = {"constrained_decoding": params["constrained_decoding"]} if ner else {}
        write_json_atomic(out / "nerflow.json", {**settings, **extra})
        render = render_model_card if ner else render_classifier_card
        write_text_atomic(out / "README.md", render(
            params, sha256_of(Path(BASE_MODEL_DIR) / "model.safetensors"),
            {f.name: sha256_of(f) for f in sorted(RAW_DIR.iterdir())}, labels, outcome.score_by_epoch, outcome.best_epoch,
            (trainable, total)))
    CHECKPOINT.unlink(missing_ok=True)
    print(f"kept epoch {outcome.best_epoch}: {metric.replace('_', ' ')} {100 * outcome.best_score:.2f}")


if __name__ == "__main__":
    main()
