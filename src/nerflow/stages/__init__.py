"""The five DVC stages, one module each (dvc.yaml runs `python -m nerflow.stages.<stage>`): main() reads
params.yaml and the paths, asks the registry for the task, and calls the library.

  download    the labelled files and the base encoder, checked by sha256     -> data/raw, data/base_model
  preprocess  the files read and checked, dev/test split off if missing        -> data/processed, metrics/data.json
  tokenize    the model's windows                                            -> data/tokenized, metrics/tokenize.json
  train       fine-tuning, the epoch chosen on dev                           -> models/finetuned, metrics/train
  evaluate    dev and test scored, errors analysed                           -> metrics/eval.json, errors, plots
"""

from nerflow.params import PARAMS_FILE, ParamsError, load_params


def read_params(model_dir=None) -> dict:
    """params.yaml checked whole against its schema (nerflow.params; with `model_dir`, max_length against the
    model's positions too), before any work: a problem ends the process with one line per problem, no traceback."""
    try:
        return load_params(PARAMS_FILE, model_dir)
    except ParamsError as error:
        raise SystemExit(str(error)) from None
