"""Classification's records: an Example, what preprocess writes and tokenize and evaluate read: a text (and, for
pairs, a second text) and its label."""

from dataclasses import asdict, dataclass

UNIT = "examples"  # what a record is called in metrics and messages


@dataclass
class Example:
    text: str
    line: int  # where the example starts in its file (1-based; the header is line 1 of a CSV/TSV)
    label: str = None  # None: to be predicted
    text_pair: str = None

    def to_record(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}
