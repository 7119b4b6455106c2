"""Stage evaluate: the fine-tuned model on dev and test -> metrics/eval.json (scores), metrics/errors.json (error
counts), metrics/errors.md (report; cached by DVC, not git, as it quotes the data), metrics/plots/ (dev confusion
and F1 per label, the split experiments are chosen on) and data/predictions/ (each split's predictions).

Reads:  params.yaml, data/tokenized, data/processed, models/finetuned
Writes: data/predictions, metrics/eval.json, metrics/errors.json, metrics/errors.md, metrics/plots
"""

from nerflow.data.files import atomic_dir, write_csv_atomic, write_json_atomic, write_text_atomic
from nerflow.paths import (ERROR_METRICS, ERROR_REPORT, EVAL_METRICS, EVALUATED, MODEL_DIR, PLOTS_DIR,
                           PREDICTIONS_DIR, PROCESSED_DIR, TOKENIZED_DIR)
from nerflow.stages import command_line, read_params, require
from nerflow.tasks import task_part
from nerflow.training.runtime import default_device, place_process


def main():
    command_line(__doc__, "evaluate")
    params = read_params()
    require("evaluate", TOKENIZED_DIR, PROCESSED_DIR, MODEL_DIR)
    place_process(params)  # its GPU and CPU threads, before torch runs anything
    from nerflow.training.tokenizer import load_tokenizer

    task = task_part(params, "evaluate")
    model = task.model_class.from_pretrained(MODEL_DIR).to(default_device())
    pad_id = load_tokenizer(MODEL_DIR).pad_token_id
    results = {}
    with atomic_dir(PREDICTIONS_DIR) as predictions:
        for split in EVALUATED:
            results[split] = task.evaluate_split(model, params, pad_id, PROCESSED_DIR, TOKENIZED_DIR, split, predictions)
            print(results[split].summary, flush=True)
    with atomic_dir(PLOTS_DIR) as plots:
        write_csv_atomic(plots / "confusion.csv", results["dev"].confusion)
        write_json_atomic(plots / "per_type_f1.json", results["dev"].f1_by_label)
    write_text_atomic(ERROR_REPORT, "\n\n".join(result.report for result in results.values()))
    write_json_atomic(ERROR_METRICS, {split: result.errors for split, result in results.items()})
    # Last: it exists only if everything before it was written.
    write_json_atomic(EVAL_METRICS, {split: result.scores for split, result in results.items()})


if __name__ == "__main__":
    main()
