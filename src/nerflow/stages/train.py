"""Stage train: the base encoder fine-tuned on data/tokenized's train windows (nerflow.training.loop.fine_tune) ->
models/finetuned/ (a transformers folder with its tokenizer, nerflow.json and a model card) and metrics/train/
(DVCLive: training loss by step, dev loss and the dev score by epoch).

The dev score is measured after each epoch and the best epoch's weights are kept. Each epoch's end is
checkpointed (outside DVC's outputs); a rerun after a kill resumes from there, and the checkpoint is removed once
the stage has written its outputs. Several processes (`processes` param) run under torchrun (README "Team and
scale"); only the main process writes.

Reads:  params.yaml, data/tokenized, data/processed, data/raw, data/base_model
Writes: models/finetuned, metrics/train
"""

from nerflow.data.files import atomic_dir, read_json, sha256_of, write_json_atomic, write_text_atomic
from nerflow.paths import (BASE_MODEL_DIR, CHECKPOINT, CURVES_DIR, LABELS_FILE, MODEL_DIR, MODEL_SETTINGS,
                           PROCESSED_DIR, RAW_DIR, TOKENIZED_DIR, WINDOW_SETTINGS)
from nerflow.stages import command_line, read_params, require
from nerflow.tasks import task_part
from nerflow.tasks.train import CardFacts
from nerflow.training.runtime import place_process, relaunch


def main():
    command_line(__doc__, "train")
    params = read_params(model_dir=BASE_MODEL_DIR)
    require("train", TOKENIZED_DIR, PROCESSED_DIR, RAW_DIR, BASE_MODEL_DIR)
    relaunch(params, "nerflow.stages.train")  # several processes: this stage again, under torchrun
    place_process(params)  # its GPU and CPU threads, before torch runs anything
    train(params)


def train(params: dict, curves: bool = True) -> None:
    """The stage's work. Without `curves`, the curves are not written: DVCLive needs DVC, which a machine that only
    trains may lack (scripts/gpu_sweep.py)."""
    from nerflow.training.loop import fine_tune
    from nerflow.training.tokenizer import load_tokenizer
    from nerflow.training.tuning import tuning_for

    task, labels = task_part(params, "train"), read_json(PROCESSED_DIR / LABELS_FILE)
    tokenizer = load_tokenizer(BASE_MODEL_DIR)  # as tokenize used it; saved with its add_prefix_space
    model, state = fine_tune(task, params, labels, tokenizer.pad_token_id, TOKENIZED_DIR, PROCESSED_DIR,
                             BASE_MODEL_DIR, CHECKPOINT)
    if model is None:  # not the main process of a multi-process run: it writes nothing
        return
    tuning = tuning_for(params)
    parameters = tuning.parameter_counts(model)
    model = tuning.merged(model)  # LoRA: adapters merged in, so the folder is a plain transformers model like any other
    metric = f"dev_{task.dev_metric}"
    with atomic_dir(CURVES_DIR) as curves_dir, atomic_dir(MODEL_DIR) as out:
        if curves:
            write_curves(curves_dir, state, metric, parameters[0])
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        # How the windows were made and how predictions are decoded: `nerflow predict` does the same.
        write_json_atomic(out / MODEL_SETTINGS, task.model_settings(params, read_json(TOKENIZED_DIR / WINDOW_SETTINGS)))
        facts = CardFacts(sha256_of(BASE_MODEL_DIR / "model.safetensors"),
                          {f.name: sha256_of(f) for f in sorted(RAW_DIR.iterdir())}, labels, state.score_by_epoch,
                          state.best_epoch, parameters)
        write_text_atomic(out / "README.md", task.card(params, facts))
    CHECKPOINT.unlink(missing_ok=True)
    print(f"kept epoch {state.best_epoch}: {metric.replace('_', ' ')} {100 * state.best_score:.2f}")


def write_curves(folder, state, metric: str, trainable: int) -> None:
    """Training loss by step, dev loss and the dev score by epoch, and the best epoch, as DVCLive writes them."""
    from dvclive import Live  # imported once there is something to write: it imports dvc and pandas (0.4 s)

    live = Live(str(folder), dvcyaml=False, save_dvc_exp=False, report=None)
    for name, step, value in state.history:
        live.step = step
        live.log_metric(name, value)
    # Named under train/ so that `dvc exp show` keeps dev.f1 and test.f1 for metrics/eval.json.
    live.log_metric(f"train/best_{metric}", state.best_score, plot=False)
    live.log_metric("train/best_epoch", state.best_epoch, plot=False)
    live.log_metric("train/trainable_parameters", trainable, plot=False)
    live.end()


if __name__ == "__main__":
    main()
