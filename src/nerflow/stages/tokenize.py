"""Stage tokenize: data/processed -> data/tokenized (the model windows of each split, and settings.json: how they
were made, which the model folder keeps for `nerflow predict`) and metrics/tokenize.json. Shards of each split
are encoded in `data_workers` processes (null: one per core); the windows are the same whatever their number.

Reads:  params.yaml, data/processed, data/base_model
Writes: data/tokenized, metrics/tokenize.json
"""

from nerflow.data.files import write_json_atomic
from nerflow.paths import BASE_MODEL_DIR, PROCESSED_DIR, TOKENIZE_METRICS, TOKENIZED_DIR
from nerflow.stages import command_line, read_params, require
from nerflow.tasks import task_part


def main():
    command_line(__doc__, "tokenize")
    params = read_params(model_dir=BASE_MODEL_DIR)
    require("tokenize", PROCESSED_DIR, BASE_MODEL_DIR)
    try:
        stats = task_part(params, "tokenize").tokenize(params, BASE_MODEL_DIR, PROCESSED_DIR, TOKENIZED_DIR, workers=params["data_workers"])
    except ValueError as error:  # not a fast tokenizer, or a task of one's own that does not import
        raise SystemExit(f"tokenize: {error}") from None
    write_json_atomic(TOKENIZE_METRICS, stats)


if __name__ == "__main__":
    main()
