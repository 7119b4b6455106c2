"""The DVC stages, one module each (dvc.yaml runs `python -m nerflow.stages.<stage>`): main() reads params.yaml and
the paths, asks the registry for the task, and calls the library. A stage takes no arguments; --help says what it
reads and writes.

  params      params.yaml checked, each stage's values (defaults filled in)  -> data/params
  download    the labelled files and the base encoder, checked by sha256     -> data/raw, data/base_model
  preprocess  the files read and checked, dev/test split off if missing        -> data/processed, metrics/data.json
  tokenize    the model's windows                                            -> data/tokenized, metrics/tokenize.json
  train       fine-tuning, the epoch chosen on dev                           -> models/finetuned, metrics/train
  evaluate    dev and test scored, errors analysed                           -> metrics/eval.json, errors, plots
  export      opt-in (export/dvc.yaml): ONNX, fp32 and int8, scored and timed  -> models/onnx, metrics/export.json
"""

import argparse
from pathlib import Path

from nerflow.params import PARAMS_FILE, ParamsError, load_params
from nerflow.paths import BASE_MODEL_DIR, MODEL_DIR, PROCESSED_DIR, RAW_DIR, TOKENIZED_DIR

# The stage that writes each folder another stage reads (dvc.yaml's outs), to name it when the folder is missing.
WRITTEN_BY = {RAW_DIR: "download", BASE_MODEL_DIR: "download", PROCESSED_DIR: "preprocess",
              TOKENIZED_DIR: "tokenize", MODEL_DIR: "train"}

HELP_EPILOG = """\
It takes no arguments: params.yaml says everything (every key: docs/params.md), and the stage checks it whole before
any work. `dvc repro` runs it when its code, data or params changed (dvc.yaml lists them); run alone, it reads and
writes the same paths, relative to the project root."""


def command_line(doc: str, stage: str) -> None:
    """--help prints the stage's docstring (what it reads and writes) and exits; any other argument is an error."""
    argparse.ArgumentParser(prog=f"python -m nerflow.stages.{stage}", description=doc, epilog=HELP_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()


def require(stage: str, *folders: Path) -> None:
    """Stop with one line if an input folder is missing, naming the stages that write them: before any work, and
    before a missing model folder sends transformers to the model hub (a minute of retries offline)."""
    missing = [folder for folder in folders if not Path(folder).exists()]
    if missing:
        named = ", ".join(f"{folder} ({WRITTEN_BY[folder]})" for folder in missing)
        target = "export/dvc.yaml" if stage == "export" else stage  # the opt-in stage's own pipeline file
        raise SystemExit(f"{stage}: missing {named}: run those stages first; `dvc repro {target}` runs whatever it "
                         "needs")


def read_params(model_dir=None) -> dict:
    """params.yaml checked whole against its schema (nerflow.params; with `model_dir`, max_length against the
    model's positions too), before any work: a problem ends the process with one line per problem, no traceback."""
    try:
        return load_params(PARAMS_FILE, model_dir)
    except ParamsError as error:
        raise SystemExit(str(error)) from None
