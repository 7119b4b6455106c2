"""Classification's train part: a sequence-classification head (the encoder's pooled first token and a new linear
layer), dev scored by accuracy after each epoch, and the model card. Windows are not packed: the head reads each
window's first token, which packing would move, so the captured fixed-shape GPU step is NER's."""

from pathlib import Path

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.tasks import train
from nerflow.tasks.train import MODEL, CardFacts

# The keys of params.yaml a classifier's card lists.
CARD_KEYS = ("task", "seed", "lr", "epochs", "batch_size", "weight_decay", "warmup_ratio", "max_grad_norm", "max_length")


def is_pair(params: dict) -> bool:
    """Whether the examples are pairs of texts: dataset.columns names a second text."""
    return params["dataset"]["columns"]["text_pair"] is not None


class Train(train.Train):
    dev_metric = "accuracy"
    packable = False

    @property
    def model_class(self):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        import torch

        from nerflow.training.inference import predict_classes

        windows = Windows(store.read_split(tokenized, "dev"))
        gold = torch.tensor(windows.column("labels"))

        def score(model):
            probabilities, dev_loss = predict_classes(model, windows, params["eval_batch_size"], pad_id, loss=True)
            return (probabilities.argmax(-1) == gold).float().mean().item(), dev_loss

        return score

    def model_settings(self, params: dict, window_settings: dict) -> dict:
        return {**window_settings, "pair": is_pair(params)}  # `nerflow predict` reads a pair model's inputs as pairs

    def card(self, params: dict, facts: CardFacts) -> str:
        pair = is_pair(params)
        example = '"A man plays a guitar." "Someone makes music."' if pair else '"A warm, funny film."'
        return train.render(
            params, facts, pipeline_tag="text-classification", tags="[nerflow]",
            title=f"{'Sentence-pair' if pair else 'Text'} classifier fine-tuned from {params['model']}",
            describes=f"Labels: {', '.join(facts.labels)}.", data_note="", keys=CARD_KEYS,
            score_title="Dev accuracy by epoch", score_name="dev accuracy",
            after_scores=["Test scores are in metrics/eval.json (accuracy, macro-F1, per class), written by the "
                          "evaluate stage."],
            use=["```sh", f"nerflow predict {MODEL} {example}   # JSON lines: label, score"
                 + (" (two texts: a pair)" if pair else ""), "```", "",
                 f"Texts longer than {params['max_length']} pieces are cut to that length, as in training."])
