"""The train stage's arguments, for both devices: the CUDA branch is checked here even on a CPU-only machine."""

from pathlib import Path

import pytest

from nerflow.params import load_params
from nerflow.finetune import training_options

PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")


def test_cpu_options_are_deterministic_fp32():
    options = training_options(PARAMS, "out", cuda=False)
    assert options["full_determinism"] is True
    assert not options["bf16"] and options["optim"] == "adamw_torch" and options["tf32"] is None
    assert options["learning_rate"] == pytest.approx(PARAMS["lr"]) and isinstance(options["learning_rate"], float)
    assert options["lr_scheduler_type"] == "linear" and options["warmup_steps"] == pytest.approx(PARAMS["warmup_ratio"])
    assert options["report_to"] == "none"  # curves go through DVCLive with dvcyaml=False, not the auto callback


def test_cuda_options_use_bf16_tf32_fused_adamw_and_pinned_memory(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_bf16_supported", lambda *a, **k: True)
    options = training_options(PARAMS, "out", cuda=True)
    assert options["bf16"] is True and options["tf32"] is True
    assert options["optim"] == "adamw_torch_fused" and options["dataloader_pin_memory"] is True
    assert options["full_determinism"] is False


def test_exponent_written_by_dvc_reaches_the_optimizer_as_float():
    options = training_options({**PARAMS, "lr": "3e-05"}, "out", cuda=False)
    assert options["learning_rate"] == 3e-05


def test_attention_dropout_param_overrides_the_model_config(tiny_model_dir):
    from nerflow.finetune import load_base_model

    assert load_base_model({**PARAMS, "attention_dropout": 0.0}, ["O", "B-X"], tiny_model_dir).config.attention_probs_dropout_prob == 0.0
    assert load_base_model({**PARAMS, "attention_dropout": None}, ["O", "B-X"], tiny_model_dir).config.attention_probs_dropout_prob == 0.1
