"""The DVC stages, one module each (dvc.yaml runs `python -m nerflow.stages.<stage>`): main() reads params.yaml and
the paths, asks the registry for the task, and calls the library. A stage takes no arguments; --help says what it
reads and writes.

  params      params.yaml checked, each stage's values (defaults filled in)  -> data/params
  download    the labelled files and the base encoder, checked by sha256     -> data/raw, data/base_model
  preprocess  the files read and checked, dev/test split off if missing        -> data/processed, metrics/data.json
  tokenize    the model's windows                                            -> data/tokenized, metrics/tokenize.json
  train       fine-tuning, the epoch chosen on dev                           -> models/finetuned, metrics/train
  evaluate    dev and test scored, errors analysed                           -> metrics/eval.json, errors, plots
"""

import argparse

from nerflow.params import PARAMS_FILE, ParamsError, load_params

HELP_EPILOG = """\
It takes no arguments: params.yaml says everything (every key: docs/params.md), and the stage checks it whole before
any work. `dvc repro` runs it when its code, data or params changed (dvc.yaml lists them); run alone, it reads and
writes the same paths, relative to the project root."""


def command_line(doc: str, stage: str) -> None:
    """--help prints the stage's docstring (what it reads and writes) and exits; any other argument is an error."""
    argparse.ArgumentParser(prog=f"python -m nerflow.stages.{stage}", description=doc, epilog=HELP_EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()


def read_params(model_dir=None) -> dict:
    """params.yaml checked whole against its schema (nerflow.params; with `model_dir`, max_length against the
    model's positions too), before any work: a problem ends the process with one line per problem, no traceback."""
    try:
        return load_params(PARAMS_FILE, model_dir)
    except ParamsError as error:
        raise SystemExit(str(error)) from None
