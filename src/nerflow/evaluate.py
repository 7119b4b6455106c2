"""Stage evaluate: models/ner on dev and test -> metrics/eval.json (scores), metrics/errors.json (error
counts), metrics/errors.md (report; cached by DVC, not git, as it quotes the data), metrics/plots/ (confusion,
per-type F1), data/predictions/{split}.conll.

Predictions are read at the first piece of each word and gathered from the windows back into whole
sentences; every input word is evaluated exactly once (checked). The plots are of dev, the split experiments
are chosen on; the report covers dev and test.
"""

from pathlib import Path

from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from nerflow import classification
from nerflow.align import load_tokenizer
from nerflow.conll import Sentence, write_conll
from nerflow.errors import classify_errors, confusion_records, error_report_markdown, error_summary, per_type_f1_records
from nerflow.files import atomic_dir, read_jsonl, write_csv_atomic, write_json_atomic, write_jsonl, write_text_atomic
from nerflow.decoding import count_stray_inside, decode
from nerflow.inference import default_device, predict_classes, predict_word_scores
from nerflow.metrics import entity_scores
from nerflow.params import load_params
from nerflow.runtime import set_threads
from nerflow.tags import from_iob2

PROCESSED_DIR = Path("data/processed")
TOKENIZED_DIR = Path("data/tokenized")
MODEL_DIR = "models/ner"
EVAL_METRICS = "metrics/eval.json"
ERROR_METRICS = "metrics/errors.json"
ERROR_REPORT = "metrics/errors.md"
PLOTS_DIR = "metrics/plots"
PREDICTIONS_DIR = "data/predictions"
SPLITS = ("dev", "test")


def in_input_scheme(tags: list, scheme: str) -> list:
    """Tags as the user's files write them; IOB2 predictions are written exactly as predicted."""
    return tags if scheme == "iob2" else from_iob2(tags, scheme)


def evaluate_classification(params: dict) -> None:
    """Dev and test of a text or pair classifier: accuracy, macro-F1, per class; the confusions and examples of
    each; data/predictions/{split}.jsonl (each example with its predicted label and probability)."""
    model = AutoModelForSequenceClassification.from_pretrained(MODEL_DIR).to(default_device())
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    pad_id = load_tokenizer(MODEL_DIR).pad_token_id
    scores, errors, report, predictions = {}, {}, [], {}
    for split in SPLITS:
        examples = [classification.Example(**r) for r in read_jsonl(PROCESSED_DIR / f"{split}.jsonl")]
        windows = read_jsonl(TOKENIZED_DIR / f"{split}.jsonl")
        probabilities = predict_classes(model, windows, params["eval_batch_size"], pad_id)
        predicted = [labels[i] for i in probabilities.argmax(-1).tolist()]
        gold = [e.label for e in examples]
        scores[split] = {**classification.scores(gold, predicted, labels),
                         "truncated": sum(w["truncated"] for w in windows)}
        errors[split] = classification.error_summary(gold, predicted)
        report.append(classification.error_report_markdown(examples, predicted, probabilities, labels, split))
        predictions[split] = [{**e.to_record(), "predicted": p, "score": round(float(probabilities[i].max()), 4)}
                              for i, (e, p) in enumerate(zip(examples, predicted))]
        print(f"{split}: accuracy {100 * scores[split]['accuracy']:.2f}, macro-F1 {100 * scores[split]['macro_f1']:.2f}, "
              f"{len(examples)} examples ({scores[split]['truncated']} truncated)")
    with atomic_dir(PREDICTIONS_DIR) as out:
        for split, records in predictions.items():
            write_jsonl(out / f"{split}.jsonl", records)
    with atomic_dir(PLOTS_DIR) as out:
        write_csv_atomic(out / "confusion.csv", classification.confusion_records(
            [r["label"] for r in predictions["dev"]], [r["predicted"] for r in predictions["dev"]]))
        write_json_atomic(out / "per_type_f1.json", per_type_f1_records(scores["dev"]["per_class"]))
    write_text_atomic(ERROR_REPORT, "\n\n".join(report))
    write_json_atomic(ERROR_METRICS, errors)
    write_json_atomic(EVAL_METRICS, scores)  # last: it exists only if everything before it was written


def main():
    params = load_params()
    set_threads(params)  # before torch runs anything
    if classification.task_of(params) != "ner":
        return evaluate_classification(params)
    scheme = params["dataset"].get("scheme", "iob2")
    model = AutoModelForTokenClassification.from_pretrained(MODEL_DIR).to(default_device())
    labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    pad_id = load_tokenizer(MODEL_DIR).pad_token_id
    scores, errors, report, predictions = {}, {}, [], {}
    for split in SPLITS:
        sentences = [Sentence(**s) for s in read_jsonl(PROCESSED_DIR / f"{split}.jsonl")]
        word_scores = predict_word_scores(model, read_jsonl(TOKENIZED_DIR / f"{split}.jsonl"),
                                          [len(s.tokens) for s in sentences], params["eval_batch_size"], pad_id,
                                          progress=f"predict {split}")
        predicted = decode(word_scores, labels, params["constrained_decoding"])
        gold = [s.tags for s in sentences]
        words_in, words_scored = sum(map(len, gold)), sum(map(len, predicted))
        if words_in != words_scored:
            raise SystemExit(f"evaluate: {split} has {words_in} words but {words_scored} were predicted")
        scores[split] = entity_scores(gold, predicted)
        # What the argmax alone would emit that continues no entity (0 under constrained decoding's tags).
        scores[split]["stray_inside_argmax"] = count_stray_inside(decode(word_scores, labels, constrained=False))
        scores[split]["constrained_decoding"] = params["constrained_decoding"]
        analysis = classify_errors(gold, predicted)
        errors[split] = error_summary(analysis)
        report.append(error_report_markdown([s.tokens for s in sentences], gold, predicted, analysis, split))
        predictions[split] = (sentences, predicted, analysis)
        print(f"{split}: entity F1 {100 * scores[split]['f1']:.2f} (strict IOB2 {100 * scores[split]['strict']['f1']:.2f}), "
              f"{words_in} words; errors {errors[split]['errors']}")
    with atomic_dir(PREDICTIONS_DIR) as out:
        for split, (sentences, predicted, _) in predictions.items():
            write_conll(out / f"{split}.conll",
                        [Sentence(s.tokens, in_input_scheme(s.tags, scheme), s.doc, s.line) for s in sentences],
                        [in_input_scheme(p, scheme) for p in predicted])
    with atomic_dir(PLOTS_DIR) as out:
        write_csv_atomic(out / "confusion.csv", confusion_records(predictions["dev"][2]))
        write_json_atomic(out / "per_type_f1.json", per_type_f1_records(scores["dev"]["per_type"]))
    write_text_atomic(ERROR_REPORT, "\n\n".join(report))
    write_json_atomic(ERROR_METRICS, errors)
    write_json_atomic(EVAL_METRICS, scores)  # last: it exists only if everything before it was written


if __name__ == "__main__":
    main()
