"""NER's predict part: the Tagger of raw texts (`nerflow predict`, `nerflow.tools.predict.load`).

The model was trained on CoNLL tokens, so text is split the same way, by text.py (the Penn Treebank conventions
that CoNLL-2003 follows: "Germany's" is "Germany" "'s", "U.S." and "well-known" stay whole, punctuation stands
apart). A text's sentences are tagged as one word sequence. Whitespace only separates words; entity offsets never
depend on it. Texts are windowed as in training (`max_length`, `window_overlap` and `context` from the model
folder's nerflow.json): long sentences are cut into overlapping windows and, with `context: document`, the
sentences of one text share windows as those of one document did in training. Every word is predicted exactly
once at its first piece, and the IOB2 word tags become entities the conlleval/seqeval way (an I-X after O or after
another type starts a new entity).

Entities: {"label", "start", "end", "text", "score"}, where start/end are character offsets into the input text
(end exclusive: text[start:end] == entity text) and score is the mean over the entity's words of the softmax
probability of the word's predicted tag.
"""

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import torch

from nerflow.tasks import predict
from nerflow.tasks.ner.tokenize.windows import CONTEXTS, encode
from nerflow.tasks.ner.train import Train
from nerflow.tasks.ner.train.decoding import decode
from nerflow.tasks.ner.train.scoring import predict_word_scores
from nerflow.tasks.predict import LabelConfig
from nerflow.training.inference import uncertainty

# What a model folder without nerflow.json was trained and decoded with (folders written before it existed); a
# Tagger made without settings reads text the same way.
UNSET_SETTINGS = {"max_length": 128, "window_overlap": 32, "context": "sentence", "constrained_decoding": False,
                  "language": "en"}


class Predict(predict.Predict):
    model_class = Train.model_class

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        return Tagger(model, tokenizer, settings, batch_size)


@dataclass(frozen=True)
class TaggedWord:
    start: int  # character offsets of the word in its text, end exclusive
    end: int
    tag: str  # IOB2: O, B-X or I-X
    score: float  # probability of `tag`


def entities_from_words(text: str, words: list) -> list:
    """Entity dicts from IOB2-tagged words, as evaluation reads them (exports.entity_spans), with their text."""
    from nerflow.tasks.ner.evaluate.exports import entity_spans  # here: seqeval imports scikit-learn

    return [{"label": s["label"], "start": s["start"], "end": s["end"], "text": text[s["start"]:s["end"]],
             "score": s["score"]}
            for s in entity_spans([w.tag for w in words], [w.start for w in words], [w.end for w in words],
                                  [w.score for w in words])]


class Tagger:
    """A token-classification model and its (fast) tokenizer, tagging raw texts as `settings` (a model folder's
    nerflow.json; UNSET_SETTINGS for what it lacks) say."""

    control = "labels"  # spans of text: Label Studio's <Labels>

    def __init__(self, model, tokenizer, settings: dict = None, batch_size: int = 32):
        settings = {**UNSET_SETTINGS, **(settings or {})}
        if not tokenizer.is_fast:
            raise ValueError("nerflow needs a fast tokenizer (it maps pieces back to words)")
        if settings["context"] not in CONTEXTS:
            raise ValueError(f"context is {settings['context']!r}; expected document or sentence")
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size
        self.max_length = min(settings["max_length"], tokenizer.model_max_length)  # never past the position embeddings
        self.window_overlap, self.context = settings["window_overlap"], settings["context"]
        self.constrained, self.language = settings["constrained_decoding"], settings["language"]
        self.labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]

    @cached_property
    def model_version(self) -> str:
        """Which model predicts, for Label Studio's pre-annotations (its weights hashed when first asked)."""
        return predict.model_version(self.model.name_or_path)

    def tag_words(self, texts: list, progress: bool = False, uncertain: bool = False) -> list:
        """For each text, its words (split as span files are: nerflow.tasks.ner.preprocess.text) as TaggedWords,
        each predicted exactly once; with `uncertain`, (words, how sure the model is of the text: uncertainty) for
        each. With document context, each text is one document: its sentences share windows."""
        from nerflow.tasks.ner.preprocess.text import split_sentences  # here: sentencex serves raw text only

        spans = [split_sentences(text, self.language) for text in texts]  # per text, per sentence, (start, end) of each word
        sentences = [[text[start:end] for start, end in sentence] for text, text_spans in zip(texts, spans)
                     for sentence in text_spans]
        if not sentences:  # texts with no word have nothing to predict
            return [([], uncertainty(torch.zeros(0, 0), torch.zeros(0, dtype=torch.long))) if uncertain else []
                    for _ in texts]
        documents = [i for i, text_spans in enumerate(spans) for _ in text_spans]
        windows = encode(self.tokenizer, sentences, self.max_length, self.window_overlap,
                         documents=documents if self.context == "document" else None)
        word_scores = predict_word_scores(self.model, windows, [len(s) for s in sentences], self.batch_size,
                                          self.tokenizer.pad_token_id, "tagging" if progress else None)
        tags = iter(decode(word_scores, self.labels, self.constrained))
        scores = iter(word_scores)
        index = {label: i for i, label in enumerate(self.labels)}
        tagged = []
        for text_spans in spans:
            words, log_probs, chosen = [], [], []
            for sentence in text_spans:
                sentence_tags, sentence_log_probs = next(tags), next(scores)
                ids = [index[tag] for tag in sentence_tags]
                probabilities = sentence_log_probs[list(range(len(ids))), ids].exp().tolist()
                words += [TaggedWord(start, end, tag, p)
                          for (start, end), tag, p in zip(sentence, sentence_tags, probabilities)]
                log_probs.append(sentence_log_probs)
                chosen += ids
            if uncertain:
                empty = torch.zeros(0, len(self.labels))
                tagged.append((words, uncertainty(torch.cat(log_probs) if log_probs else empty, torch.tensor(chosen))))
            else:
                tagged.append(words)
        return tagged

    def __call__(self, texts, progress: bool = False) -> list:
        """Entity dicts for each text; a single str gives a single list."""
        if isinstance(texts, str):
            return self([texts], progress)[0]
        return [entities_from_words(text, words) for text, words in zip(texts, self.tag_words(texts, progress))]

    def predict(self, texts: list, progress: bool = False) -> list:
        """For each text, {"entities": [...], "uncertainty": {margin, mnlp, entropy}} (nerflow.training.inference:
        how unsure the model is of the text, to choose what to annotate next)."""
        return [{"entities": entities_from_words(text, words), "uncertainty": unsure}
                for text, (words, unsure) in zip(texts, self.tag_words(texts, progress, uncertain=True))]

    def labelstudio(self, texts: list, predictions: list, config: LabelConfig, strategy: str = "margin") -> tuple:
        """(Label Studio's prediction of each text, {"model_version", "score": the text's uncertainty by
        `strategy`, "result"}, under the project's names; Counter of the entities left out by type, those of types
        the config's labels lack)."""
        from nerflow.tasks.ner.evaluate.exports import ls_prediction

        left_out, found = Counter(), []
        for text, prediction in zip(texts, predictions):
            kept = [e for e in prediction["entities"] if config.labels is None or e["label"] in config.labels]
            left_out.update(e["label"] for e in prediction["entities"] if e not in kept)
            found.append(ls_prediction(text, kept, config.names, self.model_version,
                                       prediction["uncertainty"][strategy]))
        return found, left_out

    def predict_records(self, records: list, from_arguments: bool, fmt: str = "entities", label_config=None) -> list:
        """What `nerflow predict` writes for each record: the record with its "entities", or, for another `fmt`,
        the record as that tool imports pre-annotations (nerflow.tasks.ner.evaluate.exports.record_in; Label
        Studio's task score: the text's uncertainty, margin). A Label Studio project's `label_config`
        (nerflow.tasks.predict.LabelConfig) names the control, object and data key; entities of a type its labels
        lack are left out, counted in self.left_out (type -> entities)."""
        from nerflow.tasks.ner.evaluate.exports import record_in

        config = label_config or LabelConfig()
        found = self.predict([r["text"] for r in records], progress=True)
        self.left_out = Counter(e["label"] for p in found for e in p["entities"]
                                if config.labels is not None and e["label"] not in config.labels)
        for prediction in found:
            prediction["entities"] = [e for e in prediction["entities"]
                                      if config.labels is None or e["label"] in config.labels]
        if fmt == "entities":
            return [{**record, "entities": p["entities"]} for record, p in zip(records, found)]
        version = self.model_version if fmt == "labelstudio" else None
        return [record_in(fmt, record["text"], [{k: e[k] for k in ("start", "end", "label", "score")}
                                                for e in p["entities"]],
                          version, {k: v for k, v in record.items() if k != "text"}, config.names,
                          p["uncertainty"]["margin"])
                for record, p in zip(records, found)]
