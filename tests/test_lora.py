"""tuning: lora: what peft trains, that the training loop runs it unchanged, and that the saved (merged) model is a
plain transformers folder predicting exactly as the model in memory did."""

import pytest
import torch
from transformers import AutoModelForTokenClassification
from conftest import PARAMS, random_windows
from transformers import AutoModelForSequenceClassification, BertConfig, pipeline

from nerflow.training.batching import position_offset
from nerflow.training.tuning import full
from nerflow.training.tuning.lora import merged, parameter_counts, wrap
from nerflow.training.loop import fit, optimizer_for
from nerflow.training.models import load_base_model
from nerflow.tools.predict import load

LABELS = ["O", "B-X", "I-X"]
LORA = {**PARAMS, "tuning": "lora", "lora_rank": 4, "lora_targets": ["query", "value"]}
BATCH = {"input_ids": torch.tensor([[2, 7, 9, 11, 3], [2, 8, 12, 3, 0]]),
         "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])}


def trainable_names(model) -> set:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(**BATCH).logits


def test_lora_trains_the_adapters_of_the_targets_and_the_head_and_nothing_else(tiny_model_dir):
    model = load_base_model(LORA, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    adapters = {f"base_model.model.bert.encoder.layer.{layer}.attention.self.{module}.lora_{ab}.default.weight"
                for layer in (0, 1) for module in ("query", "value") for ab in "AB"}
    head = {"base_model.model.classifier.modules_to_save.default.weight",
            "base_model.model.classifier.modules_to_save.default.bias"}
    assert trainable_names(model) == adapters | head
    # hidden 32, rank 4: A is 4x32 and B 32x4 on 2 modules of 2 layers; the head 3x32 + 3.
    plain = load_base_model(PARAMS, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    assert parameter_counts(model) == (2 * 2 * (4 * 32 + 32 * 4) + 3 * 32 + 3, plain.num_parameters())
    optimizer = optimizer_for(model, LORA, cuda=False, capturable=False)
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == {
        id(p) for p in model.parameters() if p.requires_grad}
    assert optimizer.param_groups[0]["lr"] == LORA["lora_lr"] != LORA["lr"]


def test_sequence_classification_is_wrapped_by_the_same_function(tiny_model_dir):
    model = wrap(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2), LORA, ["classifier"])
    assert type(model).__name__ == "PeftModelForSequenceClassification"
    assert {name for name in trainable_names(model) if ".lora_" not in name} == {
        "base_model.model.classifier.modules_to_save.default.weight", "base_model.model.classifier.modules_to_save.default.bias"}
    assert type(merged(model)).__name__ == "BertForSequenceClassification"


def test_all_linear_adapts_every_linear_layer_but_the_head(tiny_model_dir):
    model = load_base_model({**LORA, "lora_targets": "all-linear"}, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    adapted = {name.split(".lora_A.")[0].removeprefix("base_model.model.") for name in trainable_names(model)
               if ".lora_A." in name}
    plain = load_base_model(PARAMS, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    linear = {name for name, module in plain.named_modules() if isinstance(module, torch.nn.Linear)}
    assert adapted == linear - {"classifier"} and len(adapted) == 2 * 6


def test_default_lora_trains_at_most_five_percent_of_a_minilm_sized_model():
    # all-MiniLM-L6-v2's shape (22.7M parameters), random weights: the share depends on the shape only.
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, num_labels=9)
    model = wrap(AutoModelForTokenClassification.from_config(config), PARAMS | {"tuning": "lora"}, ["classifier"])
    trainable, total = parameter_counts(model)
    assert 22_000_000 < total < 23_000_000 and trainable / total <= 0.05


def test_full_tuning_leaves_the_model_unwrapped(tiny_model_dir):
    assert PARAMS["tuning"] == "full"
    model = load_base_model(PARAMS, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    assert type(model).__name__ == "BertForTokenClassification" and full.merged(model) is model
    assert trainable_names(model) == {name for name, _ in model.named_parameters()}
    assert full.parameter_counts(model) == (model.num_parameters(), model.num_parameters())


def test_positions_of_a_lora_wrapped_roberta_start_where_the_plain_model_says(tiny_roberta_dir):
    plain = load_base_model(PARAMS, LABELS, tiny_roberta_dir, AutoModelForTokenClassification)
    wrapped = load_base_model({**LORA, "lora_targets": "all-linear"}, LABELS, tiny_roberta_dir, AutoModelForTokenClassification)
    assert position_offset(plain) == position_offset(wrapped) == 2


def test_saved_lora_model_is_a_plain_folder_that_predicts_as_the_model_in_memory(tiny_model_dir, tiny_tokenizer, tmp_path):
    params = {**LORA, "epochs": 2, "batch_size": 4, "min_steps": 0, "patience": None, "lora_lr": 5e-3}
    model = load_base_model(params, LABELS, tiny_model_dir, AutoModelForTokenClassification)
    scores = iter([0.5, 0.4])  # epoch 1 kept: its weights go back into the wrapper, as in the train stage
    outcome = fit(model, random_windows(), params, 0, lambda m: (next(scores), 1.0), progress=False)
    model.load_state_dict(outcome.best_state)
    assert outcome.best_epoch == 1
    assert all(p.abs().sum() > 0 for name, p in model.named_parameters() if ".lora_B." in name)  # adapters trained
    in_memory = logits(model)
    merged(model).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    assert not (tmp_path / "adapter_config.json").exists()
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert type(reloaded).__name__ == "BertForTokenClassification"
    torch.testing.assert_close(logits(reloaded), in_memory, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits(load(tmp_path, device="cpu").model), in_memory, rtol=1e-5, atol=1e-5)
    tagger = pipeline("token-classification", model=str(tmp_path), device="cpu")
    torch.testing.assert_close(logits(tagger.model), in_memory, rtol=1e-5, atol=1e-5)
    assert all(entity["entity"] in LABELS for entity in tagger("japan beat syria"))


def test_killed_lora_run_resumes_to_the_same_weights(tiny_model_dir, tmp_path):
    params = {**LORA, "epochs": 3, "batch_size": 4, "min_steps": 0, "patience": None}

    def run(checkpoint, kill_at=None) -> tuple:
        """(weights, epochs evaluated) of a run that raises at the end of epoch `kill_at`, before its checkpoint."""
        model = load_base_model(params, LABELS, tiny_model_dir, AutoModelForTokenClassification)
        evaluated = []

        def evaluate(m):
            evaluated.append(len(evaluated) + 1)
            if evaluated[-1] == kill_at:
                raise RuntimeError("killed")
            return 0.5, 1.0

        fit(model, random_windows(), params, 0, evaluate, checkpoint=checkpoint, fingerprint="f", progress=False)
        return model.state_dict(), evaluated

    whole, _ = run(None)
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "last.pt", kill_at=3)  # epochs 1 and 2 checkpointed
    resumed, evaluated = run(tmp_path / "last.pt")
    assert evaluated == [1]  # only the third epoch ran
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
