"""Named-entity recognition as a task: a tag for every word (IOB2 inside, any scheme in the files), scored by
entity with seqeval; the modules of this package do the parts (readers, tags, windows, decoding, metrics, error
analysis, prediction)."""

from pathlib import Path

from nerflow.data import store
from nerflow.data.textfiles import MAX_REPORTED
from nerflow.tasks import card
from nerflow.tasks.base import CardFacts, SplitEvaluation, Task, f1_records
from nerflow.tasks.ner import tags as tagging
from nerflow.tasks.ner.align import CONTEXTS, encode
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

    @property
    def model_class(self):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    # --- preprocess -------------------------------------------------------------------------------------------

    def read_options(self, dataset: dict) -> ReadOptions:
        return ReadOptions.from_params(dataset)

    def read_file(self, path: Path, options: ReadOptions, name: str, counts) -> list:
        sentences = read_split_file(path, options, name)
        counts.records += len(sentences)
        report_repairs(sentences, name)
        return sentences

    def labels(self, train: list) -> list:
        return tagging.label_list(s.tags for s in train)

    def document_of(self, sentence: Sentence) -> int:
        return sentence.doc

    def check_labels(self, splits: dict, labels: list, names: dict, options: ReadOptions) -> dict:
        """Stop on dev/test labels train never shows, or (unknown_labels: O) read them as O and count them."""
        unknown = {split: unknown_labels(labels, splits[split], names[split]) for split in ("dev", "test")
                   if split in names}
        if options.unknown_labels == "error" and any(unknown.values()):
            raise ValueError("\n".join(
                f"{split}: label {tag} (first at {where}) does not occur in train ({times(count)})"
                for split, found in unknown.items() for tag, (count, where) in found.items())
                + "\nSet dataset.unknown_labels: O to read them as O, or fix the files. Nothing was written.")
        for split, found in unknown.items():
            if found:
                for s in splits[split]:
                    if any(tag in found for tag in s.tags):
                        s.tags = ["O" if tag in found else tag for tag in s.tags]
                print(f"preprocess: {split}: read as O (unknown_labels: O): " + ", ".join(
                    f"{tag} {times(count)} (first at {where})" for tag, (count, where) in found.items()))
        if options.unknown_labels != "O":
            return {}
        return {split: {"mapped_to_O": {tag: count for tag, (count, _) in unknown.get(split, {}).items()}}
                for split in ("dev", "test")}

    def stats(self, sentences: list, labels: list, options: ReadOptions) -> dict:
        stats = {"tokens": sum(len(s.tokens) for s in sentences), "documents": len({s.doc for s in sentences}),
                 "entities": tagging.entity_counts(s.tags for s in sentences)}
        if options.repair:
            stats["repairs"] = sum(len(s.repairs) for s in sentences)
        return stats

    # --- tokenize ---------------------------------------------------------------------------------------------

    def window_settings(self, params: dict, splits: dict) -> dict:
        """`context: document` only if the data has documents, that is some split holds sentences of more than
        one: preprocess numbers documents by -DOCSTART- lines (CoNLL) or a change of the "doc" field (JSONL); data
        with neither is all document 0, and is read sentence by sentence."""
        if params["context"] not in CONTEXTS:
            raise ValueError(f"params.yaml: context is {params['context']!r}; expected document or sentence")
        has_documents = any(len({s.doc for s in sentences}) > 1 for sentences in splits.values())
        context = "document" if params["context"] == "document" and has_documents else "sentence"
        return {"task": self.name, "max_length": params["max_length"], "window_overlap": params["window_overlap"],
                "context": context}

    def encode(self, tokenizer, sentences: list, labels: list, settings: dict, params: dict, split: str) -> tuple:
        """Windows as nerflow.tasks.ner.align.encode makes them. Train windows carry labels per `label_all_tokens`;
        dev and test windows label first pieces only, so that evaluation counts each word once."""
        windows = encode(tokenizer, [s.tokens for s in sentences], settings["max_length"], settings["window_overlap"],
                         tags=[s.tags for s in sentences], label2id={label: i for i, label in enumerate(labels)},
                         label_all_tokens=params["label_all_tokens"] and split == "train",
                         documents=[s.doc for s in sentences] if settings["context"] == "document" else None)
        windows_per_sentence = [0] * len(sentences)
        for window in windows:  # only a windowed sentence is the first one owned by several windows
            windows_per_sentence[window["sentence"]] += 1
        return windows, {
            "sentences": len(sentences),
            "windows": len(windows),
            "windowed_sentences": sum(n > 1 for n in windows_per_sentence),
            "pieces": sum(len(w["input_ids"]) for w in windows),  # the tokens one pass over the split computes
            "longest_window": max(len(w["input_ids"]) for w in windows),
        }

    # --- train ------------------------------------------------------------------------------------------------

    def batch_unit(self, windows: list, processed: Path) -> float:
        """A batch holds about batch_size sentences' worth of tokens, whether windows hold one sentence or several
        (document context)."""
        return sum(len(w["input_ids"]) for w in windows) / len(store.read_split(processed, "train"))

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        from nerflow.tasks.ner.metrics import entity_f1
        from nerflow.tasks.ner.predict import predict_tags

        windows, sentences = store.read_split(tokenized, "dev"), store.read_split(processed, "dev")
        gold, lengths = [s["tags"] for s in sentences], [len(s["tokens"]) for s in sentences]

        def score(model):
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
        predictions as `word gold predicted` lines (conlleval's input), in the tag scheme of the user's files."""
        from nerflow.tasks.ner.decoding import count_stray_inside, decode
        from nerflow.tasks.ner.errors import classify_errors, confusion_records, error_report_markdown, error_summary
        from nerflow.tasks.ner.metrics import entity_scores
        from nerflow.tasks.ner.predict import predict_word_scores

        labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
        sentences = [Sentence(**s) for s in store.read_split(processed, split)]
        word_scores = predict_word_scores(model, store.read_split(tokenized, split), [len(s.tokens) for s in sentences],
                                          params["eval_batch_size"], pad_id, progress=f"predict {split}")
        predicted = decode(word_scores, labels, params["constrained_decoding"])
        gold = [s.tags for s in sentences]
        words_in, words_scored = sum(map(len, gold)), sum(map(len, predicted))
        if words_in != words_scored:
            raise AssertionError(f"{split} has {words_in} words but {words_scored} were predicted")
        scores = entity_scores(gold, predicted)
        # What the argmax alone would emit that continues no entity (0 under constrained decoding's tags).
        scores["stray_inside_argmax"] = count_stray_inside(decode(word_scores, labels, constrained=False))
        scores["constrained_decoding"] = params["constrained_decoding"]
        analysis = classify_errors(gold, predicted)
        errors = error_summary(analysis)
        scheme = params["dataset"].get("scheme", "iob2")
        write_conll(predictions / f"{split}.conll",
                    [Sentence(s.tokens, in_scheme(s.tags, scheme), s.doc, s.line) for s in sentences],
                    [in_scheme(p, scheme) for p in predicted])
        return SplitEvaluation(
            scores=scores, errors=errors,
            report=error_report_markdown([s.tokens for s in sentences], gold, predicted, analysis, split),
            summary=f"{split}: entity F1 {100 * scores['f1']:.2f} (strict IOB2 {100 * scores['strict']['f1']:.2f}), "
                    f"{words_in} words; errors {errors['errors']}",
            confusion=confusion_records(analysis), f1_by_label=f1_records(scores["per_type"]))

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        from nerflow.tasks.ner.predict import Tagger

        return Tagger(model, tokenizer, settings, batch_size)


def in_scheme(tags: list, scheme: str) -> list:
    """Tags as the user's files write them; IOB2 predictions are written exactly as predicted."""
    return tags if scheme == "iob2" else tagging.from_iob2(tags, scheme)


def unknown_labels(labels: list, sentences, name: str) -> dict:
    """label -> (occurrences, "file:line" of the first) for the tags of `sentences` not in `labels`."""
    known, found = set(labels), {}
    for s in sentences:
        for i, tag in enumerate(s.tags):
            if tag not in known:
                count, where = found.get(tag, (0, f"{name}:{s.line_of(i)}"))
                found[tag] = (count + 1, where)
    return found


def times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def report_repairs(sentences, name: str) -> None:
    """Print the tag sequence errors repaired in `sentences` (read from file `name`, under repair: true)."""
    repairs = [f"{name}:{line}: {message}" for s in sentences for line, message in s.repairs]
    if repairs:
        more = f"\n  ... and {len(repairs) - MAX_REPORTED} more" if len(repairs) > MAX_REPORTED else ""
        print(f"preprocess: {name}: repaired {len(repairs)} tag sequence error(s) (repair: true):\n  "
              + "\n  ".join(repairs[:MAX_REPORTED]) + more)
