"""The model card names what the model was trained from, the hub revision of its base model included, and how it was
tuned."""

from nerflow.params import check_params
from nerflow.tasks.train import CardFacts
from nerflow.tasks import task_part

PARAMS = check_params({"model": "user/encoder", "dataset": {"source": "local", "files": {"train": "t.txt"}},
                       "max_length": 16, "window_overlap": 4})
LORA = {"tuning": "lora", "lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.1, "lora_targets": "all-linear",
        "lora_lr": 5e-4}


def card(parameters=(1000, 1000), **params) -> str:
    return task_part("ner", "train").card({**PARAMS, **params}, CardFacts("f" * 64, {"train.txt": "a" * 64}, ["O", "B-PER", "I-PER"],
                                                     {1: 0.5}, 1, parameters))


def test_card_records_the_hub_revision_of_the_base_model():
    assert f"- Base model: `user/encoder` at hub revision `0123abc`, model.safetensors sha256 `{'f' * 64}`" in card(
        model_revision="0123abc")
    assert "revision" not in card(model_revision=None)  # the wheel default is pinned by its sha256 alone


def test_card_says_how_the_model_was_tuned_and_that_lora_adapters_were_merged():
    assert "- Tuning: full fine-tuning, all 1,000 parameters trained." in card()
    lora = card((29, 1000), **LORA)
    assert ("- Tuning: LoRA (peft): rank 16, alpha 32, dropout 0.1, on modules `all-linear`, the new head trained "
            "whole, learning rate 0.0005 (param lora_lr, in place of lr); 29 of 1,000 parameters trained (2.90%).") in lora
    assert "merged into the weights" in lora and "merged" not in card()
