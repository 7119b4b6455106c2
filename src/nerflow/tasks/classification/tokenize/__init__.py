"""Classification's tokenize part: an example is one input, [CLS] text [SEP] (text_pair [SEP]), cut to
`max_length` pieces (for a pair, the longer text loses pieces first: transformers' "longest_first"). A label belongs
to the whole text, so windows would each need a label and their votes merged; truncation is the rule, and the
examples it shortened are counted in metrics/tokenize.json (`truncated`)."""

from nerflow.tasks import tokenize
from nerflow.tasks.classification.records import Example


def encode(tokenizer, examples: list, max_length: int, label2id: dict = None) -> list:
    """One window per example: {"input_ids", "labels" (the class id; not without label2id), "truncated"}."""
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    texts = [e.text for e in examples]
    full = tokenizer(texts, pairs, truncation=False)["input_ids"]
    cut = tokenizer(texts, pairs, truncation="longest_first", max_length=max_length)["input_ids"]
    windows = [{"input_ids": ids, "truncated": len(ids) < len(whole)} for ids, whole in zip(cut, full)]
    if label2id is not None:
        for window, e in zip(windows, examples):
            window["labels"] = label2id[e.label]
    return windows


class Tokenize(tokenize.Tokenize):
    record_type = Example

    def encode(self, tokenizer, examples: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        windows = encode(tokenizer, examples, settings["max_length"], {label: i for i, label in enumerate(labels)})
        return windows, {"examples": len(windows), "truncated": sum(w["truncated"] for w in windows)}
