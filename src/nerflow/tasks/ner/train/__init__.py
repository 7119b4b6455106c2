"""NER's train part: a token-classification head, dev scored by entity F1 after each epoch exactly as the evaluate
stage scores (scoring.py: every word predicted once from the windows; decoding.py: valid IOB2 sequences;
metrics.py: seqeval), batches sized in sentences, and the model card."""

from pathlib import Path

import pyarrow.compute as pc

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.tasks import train
from nerflow.tasks.train import MODEL, CardFacts

# The keys of params.yaml a NER card lists.
CARD_KEYS = ("seed", "lr", "epochs", "batch_size", "weight_decay", "warmup_ratio", "max_grad_norm",
             "attention_dropout", "max_length", "window_overlap", "label_all_tokens")


class Train(train.Train):
    dev_metric = "f1"
    packable = True

    @property
    def model_class(self):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def batch_unit(self, windows, processed: Path) -> float:
        """A batch holds about batch_size sentences' worth of tokens, whether windows hold one sentence or several
        (document context)."""
        return int(Windows(windows).lengths.sum()) / store.count_rows(processed, "train")

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        windows, sentences = Windows(store.read_split(tokenized, "dev")), store.read_split(processed, "dev")
        gold = sentences.column("tags").to_pylist()
        lengths = pc.list_value_length(sentences.column("tokens")).to_pylist()

        def score(model):
            # Imported at the first epoch's end, not before the first step: seqeval imports scikit-learn (0.3 s).
            from nerflow.tasks.ner.train.metrics import entity_f1
            from nerflow.tasks.ner.train.scoring import predict_tags

            predicted, dev_loss = predict_tags(model, windows, lengths, labels, params["eval_batch_size"], pad_id,
                                               params["constrained_decoding"], progress="dev F1", loss=True)
            return entity_f1(gold, predicted), dev_loss

        return score

    def model_settings(self, params: dict, window_settings: dict) -> dict:
        """How `nerflow predict` reads raw text as training read it: windows, decoding, and the language whose
        sentence rules split it."""
        return {**window_settings, "constrained_decoding": params["constrained_decoding"],
                "language": params["dataset"]["language"]}

    def card(self, params: dict, facts: CardFacts) -> str:
        types = sorted({label[2:] for label in facts.labels if label != "O"})
        return train.render(
            params, facts, pipeline_tag="token-classification", tags="[ner, nerflow]",
            title=f"NER model fine-tuned from {params['model']}",
            describes=f"Entity types: {', '.join(types)} (labels {', '.join(facts.labels)}, IOB2).",
            data_note=f"scheme {params['dataset']['scheme']}", keys=CARD_KEYS,
            score_title="Dev entity F1 (seqeval, conlleval mode) by epoch", score_name="dev F1",
            after_scores=["Test scores are not looked at during training: the evaluate stage writes them to "
                          "metrics/eval.json, with", "per-type scores and an error analysis (metrics/errors.json, "
                          "metrics/errors.md)."],
            use=["```sh", f'nerflow predict {MODEL} "Angela Merkel visited Paris."   # JSON lines: label, '
                 "start, end, text, score", "```", "", "```python", "from nerflow.tools.predict import load",
                 f'tagger = load("{MODEL}")', 'tagger(["Angela Merkel visited Paris."])', "",
                 "from transformers import pipeline  # the folder also works without nerflow",
                 f'pipeline("token-classification", model="{MODEL}", aggregation_strategy="first")'
                 '("Angela Merkel visited Paris.")', "```", "",
                 f"Long texts: nerflow windows them ({params['max_length']} pieces, {params['window_overlap']} "
                 "shared; nerflow.json); the transformers pipeline truncates at the model's maximum length."])
