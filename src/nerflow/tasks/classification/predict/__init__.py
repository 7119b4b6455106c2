"""Classification's predict part: the Classifier of raw texts (or pairs of texts) for `nerflow predict`, `serve` and
`rank`."""

from collections import Counter
from functools import cached_property

import torch

from nerflow.tasks import predict
from nerflow.tasks.predict import LabelConfig
from nerflow.tasks.classification.records import Example
from nerflow.tasks.classification.tokenize import encode
from nerflow.tasks.classification.train import Train


class Predict(predict.Predict):
    model_class = Train.model_class

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        return Classifier(model, tokenizer, min(settings["max_length"], tokenizer.model_max_length), batch_size,
                          settings.get("pair", False))


class Classifier:
    """A sequence-classification model and its tokenizer, labelling raw texts (or pairs of texts)."""

    control = "choices"  # a class for a text: Label Studio's <Choices>

    def __init__(self, model, tokenizer, max_length: int = 128, batch_size: int = 32, pair: bool = False):
        self.model, self.tokenizer, self.pair = model.eval(), tokenizer, pair
        self.max_length, self.batch_size = max_length, batch_size
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    def __call__(self, texts, text_pairs=None) -> list:
        """{"label", "score"} for each text (and its pair); a single str gives a single dict."""
        if isinstance(texts, str):
            return self([texts], None if text_pairs is None else [text_pairs])[0]
        best = self.probabilities(texts, text_pairs).max(-1)
        return [{"label": self.labels[i], "score": round(float(p), 4)} for p, i in zip(best.values, best.indices)]

    def probabilities(self, texts: list, text_pairs: list = None) -> torch.Tensor:
        """[texts, classes]: each text's class probabilities."""
        from nerflow.training.inference import predict_classes

        pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
        examples = [Example(text=t, line=i + 1, text_pair=p) for i, (t, p) in enumerate(zip(texts, pairs))]
        windows = encode(self.tokenizer, examples, self.max_length)
        return predict_classes(self.model, windows, self.batch_size, self.tokenizer.pad_token_id)

    def predict(self, texts: list, progress: bool = False) -> list:
        """For each text (one text each: a pair model's texts hold the pair split by a tab), {"label", "score",
        "uncertainty": {margin, mnlp, entropy}} (nerflow.training.inference)."""
        from nerflow.training.inference import uncertainty

        if self.pair:
            split = [text.partition("\t") for text in texts]
            if not all(tab for _, tab, _ in split):
                raise ValueError("a pair model needs two texts a record: a tab between them")
            texts, pairs = [a for a, _, _ in split], [b for _, _, b in split]
        probabilities = self.probabilities(texts, pairs if self.pair else None)
        found = []
        for row in probabilities:
            best = int(row.argmax())
            found.append({"label": self.labels[best], "score": round(float(row[best]), 4),
                          "uncertainty": uncertainty(row.clamp(min=1e-12).log().unsqueeze(0), torch.tensor([best]))})
        return found

    @cached_property
    def model_version(self) -> str:
        """Which model predicts, for Label Studio's predictions (its weights hashed when first asked)."""
        return predict.model_version(self.model.name_or_path)

    def labelstudio(self, texts: list, predictions: list, config: LabelConfig, strategy: str = "margin") -> tuple:
        """(Label Studio's prediction of each text: a <Choices> result under the project's names, "score" the
        text's uncertainty by `strategy`; Counter of the labels left out, those the config's choices lack)."""
        left_out, found = Counter(), []
        for prediction in predictions:
            known = config.labels is None or prediction["label"] in config.labels
            left_out.update([] if known else [prediction["label"]])
            result = [{"id": "n0", "from_name": config.from_name, "to_name": config.to_name, "type": "choices",
                       "value": {"choices": [prediction["label"]]}, "score": prediction["score"]}] if known else []
            found.append({"model_version": self.model_version, "score": round(prediction["uncertainty"][strategy], 4),
                          "result": result})
        return found, left_out

    def predict_records(self, records: list, from_arguments: bool, fmt: str = "entities", label_config=None) -> list:
        """What `nerflow predict` writes for each record: the record with its "label" and "score". A pair model
        reads each record's pair: TEXT arguments two at a time (the records become pairs), a "text_pair" field in
        JSON lines, or two texts split by a tab in a plain line; ValueError if a record has no pair, or for a
        `fmt` of the annotation tools' spans (entities are NER's)."""
        if fmt != "entities" or label_config is not None:
            raise ValueError("--format and --label-config write entities as spans for the annotation tools, which a "
                             "classifier does not predict")
        if not self.pair:
            return [{**r, **found} for r, found in zip(records, self([r["text"] for r in records]))]
        if from_arguments:
            if len(records) % 2:
                raise ValueError("a pair model takes TEXT arguments two at a time (premise, hypothesis)")
            records = [{"text": a["text"], "text_pair": b["text"]} for a, b in zip(records[::2], records[1::2])]
        for number, record in enumerate(records, 1):
            if "text_pair" not in record:
                first, tab, second = record["text"].partition("\t")
                if not tab:
                    raise ValueError(f"input record {number}: a pair model needs two texts: a tab between them, "
                                     'or a "text_pair" field in JSON lines')
                record["text"], record["text_pair"] = first, second
        found = self([r["text"] for r in records], [r["text_pair"] for r in records])
        return [{**r, **f} for r, f in zip(records, found)]
