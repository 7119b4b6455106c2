"""Stage preprocess: data/raw -> data/processed (the checked records of each split, labels.json) and
metrics/data.json (for each split: records read, kept, dropped by reason, split off; what the task counts).

Labels come from train; dev and test, when they have no file, are split off train (dataset.split). Every file
is checked before anything is written: a problem stops the stage with `file:line` messages.

Reads:  params.yaml, data/raw
Writes: data/processed, metrics/data.json
"""

from nerflow.data.files import write_json_atomic
from nerflow.paths import DATA_METRICS, PROCESSED_DIR, RAW_DIR
from nerflow.stages import command_line, read_params, require
from nerflow.tasks import task_part


def main():
    command_line(__doc__, "preprocess")
    params = read_params()
    require("preprocess", RAW_DIR)
    try:
        stats = task_part(params, "preprocess").prepare(params["dataset"], RAW_DIR, PROCESSED_DIR)
    except ValueError as error:
        raise SystemExit(f"preprocess: {error}") from None
    write_json_atomic(DATA_METRICS, stats)


if __name__ == "__main__":
    main()
