"""Stage train: fine-tune the base encoder with transformers' Trainer -> models/ner/, metrics/train/ (curves).

AdamW with linear warmup and decay, weight decay, gradient clipping, batches of windows of similar length
holding about the same number of tokens, bf16 autocast on CUDA (nerflow.finetune). Dev entity F1 and dev
loss are measured after each epoch and the best epoch's weights are kept (in memory: no checkpoint folders).
"""

import json
import tempfile
from pathlib import Path

from dvclive import Live
from transformers import DataCollatorForTokenClassification, TrainerCallback

from nerflow.align import load_tokenizer
from nerflow.card import render_model_card
from nerflow.files import atomic_dir, read_jsonl, sha256_of, write_json_atomic, write_text_atomic
from nerflow.finetune import NerTrainer, load_base_model, training_arguments
from nerflow.inference import predict_tags
from nerflow.metrics import entity_f1
from nerflow.params import load_params

PROCESSED_DIR = Path("data/processed")
TOKENIZED_DIR = Path("data/tokenized")
RAW_DIR = Path("data/raw")
BASE_MODEL_DIR = "data/base_model"
MODEL_DIR = "models/ner"
CURVES_DIR = "metrics/train"


class DevF1Callback(TrainerCallback):
    """Logs the training loss by step, dev loss at each epoch's last step and dev entity F1 by epoch to
    DVCLive; remembers the best epoch."""

    def __init__(self, live, windows, sentences, id2label, batch_size, pad_id):
        self.live, self.windows, self.id2label = live, windows, id2label
        self.gold = [s["tags"] for s in sentences]
        self.lengths = [len(s["tokens"]) for s in sentences]
        self.batch_size, self.pad_id = batch_size, pad_id
        self.best_f1, self.best_epoch, self.best_state = -1.0, 0, None
        self.f1_by_epoch = {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.live.step = state.global_step
            self.live.log_metric("train/loss", logs["loss"])

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        epoch = round(state.epoch)
        predicted, dev_loss = predict_tags(model, self.windows, self.lengths, self.id2label, self.batch_size,
                                           self.pad_id, progress=f"dev F1 after epoch {epoch}", loss=True)
        f1 = entity_f1(self.gold, predicted)
        self.f1_by_epoch[epoch] = f1
        print(f"epoch {epoch}: dev entity F1 {100 * f1:.2f}, dev loss {dev_loss:.4f}")
        self.live.step = state.global_step  # by step, so that it overlays the training loss
        self.live.log_metric("train/dev_loss", dev_loss)
        self.live.step = epoch
        self.live.log_metric("train/dev_f1", f1)
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch = f1, epoch
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def main():
    params = load_params()
    labels = json.loads((PROCESSED_DIR / "labels.json").read_text())
    id2label = dict(enumerate(labels))
    tokenizer = load_tokenizer(BASE_MODEL_DIR)  # as tokenize used it; saved with its add_prefix_space
    model = load_base_model(params, labels, BASE_MODEL_DIR)
    train_windows = [{"input_ids": w["input_ids"], "labels": w["labels"]} for w in read_jsonl(TOKENIZED_DIR / "train.jsonl")]
    with tempfile.TemporaryDirectory() as scratch, atomic_dir(CURVES_DIR) as curves, atomic_dir(MODEL_DIR) as out:
        live = Live(str(curves), dvcyaml=False, save_dvc_exp=False, report=None)
        callback = DevF1Callback(live, read_jsonl(TOKENIZED_DIR / "dev.jsonl"), read_jsonl(PROCESSED_DIR / "dev.jsonl"),
                                 id2label, params["eval_batch_size"], tokenizer.pad_token_id)
        trainer = NerTrainer(
            model=model,
            args=training_arguments(params, scratch),
            train_dataset=train_windows,
            data_collator=DataCollatorForTokenClassification(tokenizer),
            processing_class=tokenizer,
            callbacks=[callback],
        )
        trainer.train()
        model.load_state_dict(callback.best_state)
        # Named under train/ so that `dvc exp show` keeps dev.f1 and test.f1 for metrics/eval.json.
        live.log_metric("train/best_dev_f1", callback.best_f1, plot=False)
        live.log_metric("train/best_epoch", callback.best_epoch, plot=False)
        live.end()
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        # How the tokenize stage windowed the training data; `nerflow predict` windows new text the same way.
        write_json_atomic(out / "nerflow.json", {"max_length": params["max_length"], "window_overlap": params["window_overlap"]})
        write_text_atomic(out / "README.md", render_model_card(
            params, sha256_of(Path(BASE_MODEL_DIR) / "model.safetensors"),
            {f.name: sha256_of(f) for f in sorted(RAW_DIR.iterdir())}, labels, callback.f1_by_epoch, callback.best_epoch))
    print(f"kept epoch {callback.best_epoch}: dev entity F1 {100 * callback.best_f1:.2f}")


if __name__ == "__main__":
    main()
