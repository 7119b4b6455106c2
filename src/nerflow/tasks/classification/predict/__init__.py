"""Classification's predict part: the Classifier of raw texts (or pairs of texts) for `nerflow predict`."""

from nerflow.tasks import predict
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

    def __init__(self, model, tokenizer, max_length: int = 128, batch_size: int = 32, pair: bool = False):
        self.model, self.tokenizer, self.pair = model.eval(), tokenizer, pair
        self.max_length, self.batch_size = max_length, batch_size
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    def __call__(self, texts, text_pairs=None) -> list:
        """{"label", "score"} for each text (and its pair); a single str gives a single dict."""
        from nerflow.training.inference import predict_classes

        if isinstance(texts, str):
            return self([texts], None if text_pairs is None else [text_pairs])[0]
        pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
        examples = [Example(text=t, line=i + 1, text_pair=p) for i, (t, p) in enumerate(zip(texts, pairs))]
        windows = encode(self.tokenizer, examples, self.max_length)
        probabilities = predict_classes(self.model, windows, self.batch_size, self.tokenizer.pad_token_id)
        best = probabilities.max(-1)
        return [{"label": self.labels[i], "score": round(float(p), 4)} for p, i in zip(best.values, best.indices)]

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
