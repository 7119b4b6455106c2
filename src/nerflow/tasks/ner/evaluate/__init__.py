"""NER's evaluate part: dev and test scored by entity (seqeval, conlleval mode and strict IOB2, per type), every word
predicted exactly once; the predictions written as `word gold predicted` lines (conlleval's input) in the scheme of
the user's files; the errors classified and reported (errors.py). Data read from span files are also scored by
exact character span and type (`char_spans`: the spans the input file holds against the predictions as written back,
apart from the tags; it equals the conlleval scores, as each gold span is exactly a run of words, but where texts
split across splits are left out of it: texts_not_written), and written back as spans in the shape they came in
(exports.py)."""

import json
from bisect import bisect_right
from pathlib import Path

import pyarrow.compute as pc
import torch

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.tasks import evaluate
from nerflow.tasks.evaluate import SplitEvaluation, f1_records
from nerflow.tasks.ner import records as tagging
from nerflow.tasks.ner.records import Sentence
from nerflow.tasks.ner.train import Train
from nerflow.training.inference import uncertainty


class Evaluate(evaluate.Evaluate):
    model_class = Train.model_class

    def evaluate_split(self, model, params: dict, pad_id: int, processed: Path, tokenized: Path, split: str,
                       predictions: Path) -> SplitEvaluation:
        """Entity scores of one split, every word predicted exactly once (checked); its error analysis; the
        predictions as `word gold predicted` lines (conlleval's input), in the tag scheme of the user's files.
        Windows are predicted a chunk of sentences at a time and each chunk written out: what is held for the
        whole split is its gold and predicted tags (seqeval scores whole lists)."""
        from nerflow.tasks.ner.train.decoding import count_stray_inside, decode
        from nerflow.tasks.ner.train.scoring import scored_chunks

        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        scheme, constrained = params["dataset"]["scheme"], params["constrained_decoding"]
        records, windows = store.read_split(processed, split), Windows(store.read_split(tokenized, split))
        lengths = pc.list_value_length(records.column("tokens")).to_pylist()
        gold, predicted, stray, doc = [], [], 0, None
        # Read from span files: the predictions also as spans over the texts, in the shape they came in.
        spans = DocumentSpans(predictions, split, model.name_or_path, labels) if "starts" in records.column_names \
            else None
        with open(predictions / f"{split}.conll", "w", encoding="utf-8", newline="\n") as out:
            for first, last, scores, _ in scored_chunks(model, windows, lengths, params["eval_batch_size"], pad_id,
                                                         progress=f"predict {split}"):
                sentences = [Sentence(**row) for row in records.slice(first, last - first).to_pylist()]
                argmax = decode(scores, labels, constrained=False)
                tags = decode(scores, labels, constrained=True) if constrained else argmax
                # What the argmax alone would emit that continues no entity (0 under constrained decoding's tags).
                stray += count_stray_inside(argmax)
                doc = write_conll(out, [Sentence(s.tokens, in_scheme(s.tags, scheme), s.doc, s.line) for s in sentences],
                                  [in_scheme(t, scheme) for t in tags], doc)
                if spans is not None:
                    spans.add(sentences, tags, scores)
                gold += [s.tags for s in sentences]
                predicted += tags
        # Imported once the predictions are made: seqeval imports scikit-learn (0.3 s).
        from nerflow.tasks.ner.evaluate.errors import (classify_errors, confusion_records, error_report_markdown,
                                                       error_summary)
        from nerflow.tasks.ner.train.metrics import entity_scores

        words_in, words_scored = sum(lengths), sum(map(len, predicted))
        if words_in != words_scored or len(gold) != len(lengths):
            raise AssertionError(f"{split} has {words_in} words but {words_scored} were predicted")
        scores = entity_scores(gold, predicted)
        if spans is not None:
            scores["char_spans"] = spans.close()
        scores["stray_inside_argmax"] = stray
        scores["constrained_decoding"] = params["constrained_decoding"]
        analysis = classify_errors(gold, predicted)
        errors = error_summary(analysis)
        tokens = TokensOf(records)  # the report quotes a few sentences: read when quoted
        return SplitEvaluation(
            scores=scores, errors=errors, report=error_report_markdown(tokens, gold, predicted, analysis, split),
            summary=f"{split}: entity F1 {100 * scores['f1']:.2f} (strict IOB2 {100 * scores['strict']['f1']:.2f}), "
                    f"{words_in} words; errors {errors['errors']}",
            confusion=confusion_records(analysis), f1_by_label=f1_records(scores["per_type"]))


class DocumentSpans:
    """The entities of a split read from span files, as character spans: written back in the shape each text came
    in (exports.SpanExport), a document at a time, and scored by exact span and type, apart from the tags: the
    gold are the spans as the reader took them from the input file (in code points, whitespace trimmed), the
    predictions the spans as the export wrote them, read back into code points.

    A text's first sentence carries the text and its spans. Where dev or test was split off train by sentences
    (too few texts to split whole), a split may hold later sentences of a text whose first sentence is in train:
    their text is not here to write back or score by character; they are counted (`texts_not_written`). A text
    whose first sentence is here is written whole, with the predictions of its sentences here, and scored against
    the gold spans within them."""

    def __init__(self, predictions: Path, split: str, model_version: str, labels: list):
        from nerflow.tasks.ner.evaluate.exports import SpanExport

        self.export, self.index = SpanExport(predictions, split, model_version), {l: i for i, l in enumerate(labels)}
        self.gold, self.predicted = set(), set()  # (document, start, end, type)
        self.doc = None  # the document being read
        self.document = None  # its text, source, predicted spans and the characters its sentences here cover
        self.not_written = 0

    def add(self, sentences: list, tags: list, scores: list) -> None:
        from nerflow.tasks.ner.evaluate.exports import entity_spans

        for sentence, predicted, log_probabilities in zip(sentences, tags, scores):
            if sentence.doc != self.doc:
                self._write()
                self.doc = sentence.doc
                self.document = None
                if sentence.text is not None:
                    self.document = {"text": sentence.text, "source": json.loads(sentence.source), "predicted": [],
                                     "sentences": [], "log_probabilities": [], "chosen": []}
                self.not_written += self.document is None
            if self.document is not None:
                ids = [self.index[t] for t in predicted]
                chosen = log_probabilities[list(range(len(predicted))), ids].exp().tolist()
                self.document["predicted"] += entity_spans(predicted, sentence.starts, sentence.ends, chosen)
                self.document["log_probabilities"].append(log_probabilities)
                self.document["chosen"] += ids
                self.document["sentences"].append((sentence.starts[0], sentence.ends[-1]))

    def _write(self) -> None:
        if self.document is None:
            return
        text, source, document = self.document["text"], self.document["source"], self.doc
        # The gold of the sentences here (all of the text's, but where some went to another split); a span lies
        # within one sentence, as the reader joins the sentences a span runs over.
        sentences = self.document["sentences"]
        firsts = [a for a, _ in sentences]
        gold = [(a, b, label) for a, b, label in source["spans"]
                if (i := bisect_right(firsts, a) - 1) >= 0 and b <= sentences[i][1]]
        unsure = uncertainty(torch.cat(self.document["log_probabilities"]), torch.tensor(self.document["chosen"]))
        written = self.export.add(text, source, [{"start": a, "end": b, "label": label} for a, b, label in gold],
                                  self.document["predicted"], unsure["margin"])
        self.gold |= {(document, *span) for span in gold}
        self.predicted |= {(document, *span) for span in written}

    def close(self) -> dict:
        """Write the last document; micro precision, recall and F1 of the entities by exact span and type."""
        self._write()
        self.export.close()
        correct = len(self.gold & self.predicted)
        precision = correct / len(self.predicted) if self.predicted else 0.0
        recall = correct / len(self.gold) if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores = {"precision": precision, "recall": recall, "f1": f1, "gold": len(self.gold),
                  "predicted": len(self.predicted), "correct": correct}
        return {**scores, "texts_not_written": self.not_written} if self.not_written else scores


def in_scheme(tags: list, scheme: str) -> list:
    """Tags as the user's files write them; IOB2 predictions are written exactly as predicted."""
    return tags if scheme == "iob2" else tagging.from_iob2(tags, scheme)


class TokensOf:
    """The tokens of a split's sentences by index, read from the stored records when asked for."""

    def __init__(self, records):
        self.column = records.column("tokens")

    def __getitem__(self, i: int) -> list:
        return self.column[i].as_py()


def write_conll(f, sentences, predictions, doc=None):
    """Write `word gold predicted` lines (the conlleval input format) to the open text file `f`, documents
    separated by -DOCSTART-; `doc` is the document of the sentence written before (None: none). Returns the
    document of the last sentence written, for the next call. A space inside a type (a span file's "Medical
    Condition") is written `_`, as columns are separated by spaces."""
    for sentence, predicted in zip(sentences, predictions, strict=True):
        if sentence.doc != doc:
            f.write("-DOCSTART- O O\n\n")
            doc = sentence.doc
        for token, gold, tag in zip(sentence.tokens, sentence.tags, predicted, strict=True):
            f.write(f"{token} {gold.replace(' ', '_')} {tag.replace(' ', '_')}\n")
        f.write("\n")
    return doc
