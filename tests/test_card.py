"""The model card names what the model was trained from, the hub revision of its base model included."""

from nerflow.card import render_model_card

PARAMS = {"model": "user/encoder", "dataset": {"source": "local", "scheme": "iob2"}, "max_length": 16,
          "window_overlap": 4}


def card(**params) -> str:
    return render_model_card({**PARAMS, **params}, "f" * 64, {"train.txt": "a" * 64}, ["O", "B-PER", "I-PER"],
                             {1: 0.5}, 1)


def test_card_records_the_hub_revision_of_the_base_model():
    assert f"- Base model: `user/encoder` at hub revision `0123abc`, model.safetensors sha256 `{'f' * 64}`" in card(
        model_revision="0123abc")
    assert "revision" not in card(model_revision=None)  # the wheel default is pinned by its sha256 alone
