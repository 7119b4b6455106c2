"""How the train stage tunes the base model, one module per value of params' `tuning`, imported by name: the train
stage depends on the module it runs (dvc.yaml: src/nerflow/training/tuning/${tuning}.py), so that editing LoRA's code
does not retrain a fully tuned model.

Each module gives learning_rate(params), wrap(model, params, head) -> the model as training sees it, merged(model) -> the model to save
(a plain transformers model), and parameter_counts(model) -> (trainable, total).
"""

import importlib


def tuning_for(params: dict):
    """The module of params' `tuning` (full, lora)."""
    return importlib.import_module(f"nerflow.training.tuning.{params['tuning']}")
