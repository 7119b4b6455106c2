"""The training loop's choices, for both devices: the CUDA branch is checked here even on a CPU-only machine."""

import random
import re
from pathlib import Path

import torch
from conftest import PARAMS, random_windows
from transformers import AutoModelForTokenClassification

from nerflow.training.batching import token_budget_batches
from nerflow.training.captured import Engine, engine_for, packed_shape
from nerflow.training.loop import fit, optimizer_for, planned_epochs
from nerflow.training.models import load_base_model



def test_cpu_steps_are_eager_padded_fp32_and_one_gpu_steps_captured(monkeypatch):
    assert engine_for(torch.device("cpu"), 1) == Engine()
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda *a, **k: True)
    assert engine_for(torch.device("cuda"), 1) == Engine(packed=True, capture=True, bf16=True, row_width=256)
    # Several processes: DDP's gradient hooks run eagerly.
    assert engine_for(torch.device("cuda"), 2) == Engine(bf16=True)


def test_weight_decay_skips_biases_and_layer_norms_and_lr_written_by_dvc_is_a_float(tiny_model_dir):
    model = load_base_model(PARAMS, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
    optimizer = optimizer_for(model, {**PARAMS, "lr": "3e-05"}, cuda=False, capturable=False)
    decayed, plain = optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert decayed["weight_decay"] == PARAMS["weight_decay"] and plain["weight_decay"] == 0.0
    assert all("bias" not in names[id(p)] and "LayerNorm" not in names[id(p)] for p in decayed["params"])
    assert {names[id(p)] for p in plain["params"]} >= {"classifier.bias", "bert.embeddings.LayerNorm.weight"}
    assert optimizer.param_groups[0]["lr"] == 3e-05


def test_attention_dropout_param_overrides_the_model_config(tiny_model_dir):
    assert load_base_model({**PARAMS, "attention_dropout": 0.0}, ["O", "B-X"], tiny_model_dir, AutoModelForTokenClassification).config.attention_probs_dropout_prob == 0.0
    assert load_base_model({**PARAMS, "attention_dropout": None}, ["O", "B-X"], tiny_model_dir, AutoModelForTokenClassification).config.attention_probs_dropout_prob == 0.1


def test_a_half_precision_checkpoint_is_trained_in_fp32(tiny_model_dir, tmp_path):
    from transformers import AutoModel

    AutoModel.from_pretrained(tiny_model_dir).half().save_pretrained(tmp_path)  # as an fp16 copy carries less
    for name in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (Path(tiny_model_dir) / name).exists() and not (tmp_path / name).exists():
            (tmp_path / name).write_bytes((Path(tiny_model_dir) / name).read_bytes())
    model = load_base_model(PARAMS, ["O", "B-X"], tmp_path, AutoModelForTokenClassification)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_packed_shape_fits_every_batch():
    rng = random.Random(0)
    windows = [{"input_ids": [0] * rng.randint(3, 128)} for _ in range(400)]
    batches = [list(range(i, min(i + 20, 400))) for i in range(0, 400, 20)]
    lengths = [len(w["input_ids"]) for w in windows]
    one_row = packed_shape(lengths, batches)
    assert one_row["rows"] == 1 and one_row["width"] % 64 == 0
    assert one_row["width"] >= max(sum(len(windows[i]["input_ids"]) for i in b) for b in batches)
    rows = packed_shape(lengths, batches, row_width=256)
    assert rows["width"] == 256 and rows["rows"] * 256 >= max(sum(len(windows[i]["input_ids"]) for i in b) for b in batches)


def test_loss_is_read_every_ten_steps_and_the_best_epoch_is_kept(tiny_model_dir):
    params = {**PARAMS, "epochs": 3, "batch_size": 4, "lr": 5e-4, "min_steps": 0, "patience": None}
    model = load_base_model(params, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
    scores = iter([0.2, 0.5, 0.4])
    windows = random_windows()
    outcome = fit(model, windows, params, 0, lambda m: (next(scores), 1.0), progress=False)
    batches = token_budget_batches([len(w["input_ids"]) for w in windows], 4, params["seed"])
    assert outcome.step == 3 * len(batches)
    steps = [step for name, step, _ in outcome.history if name == "train/loss"]
    assert steps == [1] + list(range(10, outcome.step + 1, 10))
    assert outcome.best_epoch == 2 and outcome.score_by_epoch == {1: 0.2, 2: 0.5, 3: 0.4}
    assert [v for n, _, v in outcome.history if n == "train/dev_score"] == [0.2, 0.5, 0.4]


def test_small_data_trains_for_min_steps_and_stops_when_dev_f1_stalls(tiny_model_dir, capsys):
    assert planned_epochs({"epochs": 3, "min_steps": 1000}, steps_per_epoch=452) == 3  # CoNLL-2003: as asked
    assert planned_epochs({"epochs": 3, "min_steps": 1000}, steps_per_epoch=63) == 16  # 2,000 sentences
    params = {**PARAMS, "epochs": 1, "min_steps": 100, "patience": 2, "batch_size": 4, "lr": 5e-4}
    model = load_base_model(params, ["O", "B-X", "I-X"], tiny_model_dir, AutoModelForTokenClassification)
    scores = iter([0.1, 0.3, 0.2, 0.3, 0.9, 0.9])  # best at epoch 2, no better at 3 and 4: stop before epoch 5
    outcome = fit(model, random_windows(), params, 0, lambda m: (next(scores), 1.0), progress=False)
    assert outcome.epoch == 4 and outcome.best_epoch == 2 and list(outcome.score_by_epoch) == [1, 2, 3, 4]
    log = capsys.readouterr().out
    assert re.search(r"^train: \d+ epochs, not 1: an epoch is \d+ steps and min_steps is 100 ", log,
                     re.MULTILINE)  # said once, in the log
    # Where it trains, once: here the CPU, its threads and numerics (on a GPU: its name, bf16 autocast).
    assert re.findall(r"^train: on .*$", log, re.MULTILINE) == [f"train: on CPU, {torch.get_num_threads()} threads, fp32"]
