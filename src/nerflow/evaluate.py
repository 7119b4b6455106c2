"""Stage evaluate: models/ner on dev and test -> metrics/eval.json (scores), metrics/errors.json (error
counts), metrics/errors.md (report; cached by DVC, not git, as it quotes the data), metrics/plots/ (confusion,
per-type F1), data/predictions/{split}.conll.

Predictions are read at the first piece of each word and gathered from the windows back into whole
sentences; every input word is evaluated exactly once (checked). The plots are of dev, the split experiments
are chosen on; the report covers dev and test.
"""

from pathlib import Path

from transformers import AutoModelForTokenClassification

from nerflow.align import load_tokenizer
from nerflow.conll import Sentence, write_conll
from nerflow.errors import classify_errors, confusion_records, error_report_markdown, error_summary, per_type_f1_records
from nerflow.files import atomic_dir, read_jsonl, write_csv_atomic, write_json_atomic, write_text_atomic
from nerflow.decoding import count_stray_inside, decode
from nerflow.inference import default_device, predict_word_scores
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


def main():
    params = load_params()
    set_threads(params)  # before torch runs anything
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
