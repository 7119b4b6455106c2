"""NER's tokenize part: a split's Sentences encoded into windows (windows.py): long sentences windowed, never
truncated, and with document context a document's sentences packed into shared windows."""

from pathlib import Path

import pyarrow.compute as pc

from nerflow.data import store
from nerflow.paths import SPLITS
from nerflow.tasks import tokenize
from nerflow.tasks.ner.records import DOCUMENT_COLUMN, Sentence
from nerflow.tasks.ner.tokenize.windows import encode


class Tokenize(tokenize.Tokenize):
    record_type = Sentence
    document_column = DOCUMENT_COLUMN

    def window_settings(self, params: dict, processed: Path) -> dict:
        """`context: document` only if the data has documents, that is some split holds sentences of more than
        one: preprocess numbers documents by -DOCSTART- lines (CoNLL) or a change of the "doc" field (JSONL); data
        with neither is all document 0, and is read sentence by sentence."""
        has_documents = any(pc.count_distinct(store.read_split(processed, split).column(DOCUMENT_COLUMN)).as_py() > 1
                            for split in SPLITS)
        context = "document" if params["context"] == "document" and has_documents else "sentence"
        return {**super().window_settings(params, processed), "window_overlap": params["window_overlap"],
                "context": context}

    def encode(self, tokenizer, sentences: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        """Windows as nerflow.tasks.ner.tokenize.windows.encode makes them, numbering sentences from `first`. Train
        windows carry labels per `label_all_tokens`; dev and test windows label first pieces only, so that
        evaluation counts each word once."""
        windows = encode(tokenizer, [s.tokens for s in sentences], settings["max_length"], settings["window_overlap"],
                         tags=[s.tags for s in sentences], label2id={label: i for i, label in enumerate(labels)},
                         label_all_tokens=params["label_all_tokens"] and split == "train",
                         documents=[s.doc for s in sentences] if settings["context"] == "document" else None)
        windows_per_sentence = [0] * len(sentences)
        for window in windows:  # only a windowed sentence is the first one owned by several windows
            windows_per_sentence[window["sentence"]] += 1
            window["sentence"] += first
        return windows, {
            "sentences": len(sentences),
            "windows": len(windows),
            "windowed_sentences": sum(n > 1 for n in windows_per_sentence),
        }
