"""Named-entity recognition as a task: a tag for every word (IOB2 inside, any scheme in the files), scored by
entity with seqeval; the modules of this package do the parts (readers, tags, windows, decoding, metrics, error
analysis, prediction)."""

from pathlib import Path

import pyarrow.compute as pc

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.data.textfiles import MAX_REPORTED
from nerflow.paths import SPLITS
from nerflow.tasks import card
from nerflow.tasks.base import CardFacts, SplitEvaluation, Task, f1_records
from nerflow.tasks.ner import tags as tagging
from nerflow.tasks.ner.align import encode
from nerflow.tasks.ner.conll import Sentence, write_conll
from nerflow.tasks.ner.formats import ReadOptions, read_split_file

# The keys of params.yaml a NER card lists.
CARD_KEYS = ("seed", "lr", "epochs", "batch_size", "weight_decay", "warmup_ratio", "max_grad_norm",
             "attention_dropout", "max_length", "window_overlap", "label_all_tokens")


class NER(Task):
    name = "ner"
    unit = "sentences"
    dev_metric = "f1"
    packable = True
    record_type = Sentence
    document_column = "doc"
    unknown_labels_hint = "Set dataset.unknown_labels: O to read them as O, or fix the files. Nothing was written."

    @property
    def model_class(self):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    # --- preprocess -------------------------------------------------------------------------------------------

    def read_options(self, dataset: dict) -> ReadOptions:
        return ReadOptions.from_params(dataset)

    def read_file(self, path: Path, options: ReadOptions, name: str, counts):
        repairs = []
        for sentence in read_split_file(path, options, name):
            counts.records += 1
            repairs += [f"{name}:{line}: {message}" for line, message in sentence.repairs]
            yield sentence
        if options.repair:
            counts.extra["repairs"] = len(repairs)
        if repairs:
            more = f"\n  ... and {len(repairs) - MAX_REPORTED} more" if len(repairs) > MAX_REPORTED else ""
            print(f"preprocess: {name}: repaired {len(repairs)} tag sequence error(s) (repair: true):\n  "
                  + "\n  ".join(repairs[:MAX_REPORTED]) + more)

    def labels_of(self, sentence: Sentence) -> list:
        return sentence.tags

    def label_list(self, seen: set) -> list:
        return tagging.label_list([seen])

    def unknown_labels(self, sentence: Sentence, known: set, name: str) -> list:
        return [(tag, f"{name}:{sentence.line_of(i)}") for i, tag in enumerate(sentence.tags) if tag not in known]

    def on_unknown_labels(self, options: ReadOptions) -> str:
        return options.unknown_labels

    def without(self, sentence: Sentence, unknown: set) -> Sentence:
        sentence.tags = ["O" if tag in unknown else tag for tag in sentence.tags]
        return sentence

    def stats(self, table, labels: list, options: ReadOptions) -> dict:
        """Tokens, documents and entities (B- tags) of a split, counted on the stored columns."""
        if not table.num_rows:
            return {"tokens": 0, "documents": 0, "entities": {}}
        tags = pc.value_counts(pc.list_flatten(table.column("tags")))
        entities = {tag.as_py()[2:]: count.as_py() for tag, count in zip(tags.field("values"), tags.field("counts"))
                    if tag.as_py().startswith("B-")}
        return {"tokens": pc.sum(pc.list_value_length(table.column("tokens"))).as_py(),
                "documents": pc.count_distinct(table.column("doc")).as_py(), "entities": dict(sorted(entities.items()))}

    # --- tokenize ---------------------------------------------------------------------------------------------

    def window_settings(self, params: dict, processed: Path) -> dict:
        """`context: document` only if the data has documents, that is some split holds sentences of more than
        one: preprocess numbers documents by -DOCSTART- lines (CoNLL) or a change of the "doc" field (JSONL); data
        with neither is all document 0, and is read sentence by sentence."""
        has_documents = any(pc.count_distinct(store.read_split(processed, split).column("doc")).as_py() > 1
                            for split in SPLITS)
        context = "document" if params["context"] == "document" and has_documents else "sentence"
        return {"task": self.name, "max_length": params["max_length"], "window_overlap": params["window_overlap"],
                "context": context}

    def encode(self, tokenizer, sentences: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        """Windows as nerflow.tasks.ner.align.encode makes them, numbering sentences from `first`. Train windows
        carry labels per `label_all_tokens`; dev and test windows label first pieces only, so that evaluation
        counts each word once."""
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
            "pieces": sum(len(w["input_ids"]) for w in windows),  # the tokens one pass over the split computes
            "longest_window": max((len(w["input_ids"]) for w in windows), default=0),
        }

    # --- train ------------------------------------------------------------------------------------------------

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
            from nerflow.tasks.ner.metrics import entity_f1
            from nerflow.tasks.ner.predict import predict_tags

            predicted, dev_loss = predict_tags(model, windows, lengths, labels, params["eval_batch_size"], pad_id,
                                               params["constrained_decoding"], progress="dev F1", loss=True)
            return entity_f1(gold, predicted), dev_loss

        return score

    def model_settings(self, params: dict, window_settings: dict) -> dict:
        return {**window_settings, "constrained_decoding": params["constrained_decoding"]}

    def card(self, params: dict, facts: CardFacts) -> str:
        types = sorted({label[2:] for label in facts.labels if label != "O"})
        return card.render(
            params, facts, pipeline_tag="token-classification", tags="[ner, nerflow]",
            title=f"NER model fine-tuned from {params['model']}",
            describes=f"Entity types: {', '.join(types)} (labels {', '.join(facts.labels)}, IOB2).",
            data_note=f"scheme {params['dataset'].get('scheme', 'iob2')}", keys=CARD_KEYS,
            score_title="Dev entity F1 (seqeval, conlleval mode) by epoch", score_name="dev F1",
            after_scores=["Test scores are not looked at during training: the evaluate stage writes them to "
                          "metrics/eval.json, with", "per-type scores and an error analysis (metrics/errors.json, "
                          "metrics/errors.md)."],
            use=["```sh", f'nerflow predict {card.MODEL} "Angela Merkel visited Paris."   # JSON lines: label, '
                 "start, end, text, score", "```", "", "```python", "from nerflow.tools.predict import load",
                 f'tagger = load("{card.MODEL}")', 'tagger(["Angela Merkel visited Paris."])', "",
                 "from transformers import pipeline  # the folder also works without nerflow",
                 f'pipeline("token-classification", model="{card.MODEL}", aggregation_strategy="first")'
                 '("Angela Merkel visited Paris.")', "```", "",
                 f"Long texts: nerflow windows them ({params['max_length']} pieces, {params['window_overlap']} "
                 "shared; nerflow.json); the transformers pipeline truncates at the model's maximum length."])

    # --- evaluate and predict ---------------------------------------------------------------------------------

    def evaluate_split(self, model, params: dict, pad_id: int, processed: Path, tokenized: Path, split: str,
                       predictions: Path) -> SplitEvaluation:
        """Entity scores of one split, every word predicted exactly once (checked); its error analysis; the
        predictions as `word gold predicted` lines (conlleval's input), in the tag scheme of the user's files.
        Windows are predicted a chunk of sentences at a time and each chunk written out: what is held for the
        whole split is its gold and predicted tags (seqeval scores whole lists)."""
        from nerflow.tasks.ner.decoding import count_stray_inside, decode
        from nerflow.tasks.ner.predict import scored_chunks

        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        scheme, constrained = params["dataset"]["scheme"], params["constrained_decoding"]
        records, windows = store.read_split(processed, split), Windows(store.read_split(tokenized, split))
        lengths = pc.list_value_length(records.column("tokens")).to_pylist()
        gold, predicted, stray, doc = [], [], 0, None
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
                gold += [s.tags for s in sentences]
                predicted += tags
        # Imported once the predictions are made: seqeval imports scikit-learn (0.3 s).
        from nerflow.tasks.ner.errors import classify_errors, confusion_records, error_report_markdown, error_summary
        from nerflow.tasks.ner.metrics import entity_scores

        words_in, words_scored = sum(lengths), sum(map(len, predicted))
        if words_in != words_scored or len(gold) != len(lengths):
            raise AssertionError(f"{split} has {words_in} words but {words_scored} were predicted")
        scores = entity_scores(gold, predicted)
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

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        from nerflow.tasks.ner.predict import Tagger

        return Tagger(model, tokenizer, settings, batch_size)


def in_scheme(tags: list, scheme: str) -> list:
    """Tags as the user's files write them; IOB2 predictions are written exactly as predicted."""
    return tags if scheme == "iob2" else tagging.from_iob2(tags, scheme)


class TokensOf:
    """The tokens of a split's sentences by index, read from the stored records when asked for."""

    def __init__(self, records):
        self.column = records.column("tokens")

    def __getitem__(self, i: int) -> list:
        return self.column[i].as_py()
