"""Every path of the pipeline, once: what each stage reads and writes (dvc.yaml lists the same as deps and outs),
relative to the project root where `dvc repro` runs the stages.

The library takes the folders as arguments, from the stages and tools (so that tests and scripts can point it
elsewhere); the names of the files inside those folders are here too.
"""

from pathlib import Path

PARAMS_FILE = Path("params.yaml")  # the keys you set; every stage checks it whole before any work (nerflow.params)
# params: for each stage, {stage}.yaml, the values of the params it reads (the schema's defaults where params.yaml
# leaves a key out): what DVC compares to rerun it
STAGE_PARAMS_DIR = Path("data/params")
SPLITS = ("train", "dev", "test")  # the data splits, one file or folder each, in this order
EVALUATED = ("dev", "test")  # the splits a model is scored on: dev chooses, test reports

# download
RAW_DIR = Path("data/raw")  # the labelled files as fetched: {split}{format suffix}{compression}
RAW_SUFFIX = {"conll": ".txt", "jsonl": ".jsonl", "spans": ".spans", "csv": ".csv", "tsv": ".tsv"}  # dataset.format -> suffix
BASE_MODEL_DIR = Path("data/base_model")  # the pretrained encoder and its tokenizer
# preprocess
PROCESSED_DIR = Path("data/processed")  # the checked records of each split, and labels.json
DATA_METRICS = Path("metrics/data.json")
# tokenize
TOKENIZED_DIR = Path("data/tokenized")  # the model windows of each split, and settings.json
TOKENIZE_METRICS = Path("metrics/tokenize.json")
# train
MODEL_DIR = Path("models/finetuned")  # the fine-tuned model: transformers folder, card, nerflow.json
CURVES_DIR = Path("metrics/train")  # DVCLive: loss by step, dev score by epoch
CHECKPOINT = Path("checkpoints/train/last.pt")  # the last complete epoch while train runs (not in git or DVC)
# evaluate
PREDICTIONS_DIR = Path("data/predictions")
EVAL_METRICS = Path("metrics/eval.json")
ERROR_METRICS = Path("metrics/errors.json")
ERROR_REPORT = Path("metrics/errors.md")
PLOTS_DIR = Path("metrics/plots")
# export (opt-in: export/dvc.yaml)
ONNX_DIR = Path("models/onnx")  # the model as ONNX, fp32 and int8, and what it serves
EXPORT_METRICS = Path("metrics/export.json")

# Inside folders
LABELS_FILE = "labels.json"  # in PROCESSED_DIR: the label set, read from train
WINDOW_SETTINGS = "settings.json"  # in TOKENIZED_DIR: how the windows were made
MODEL_SETTINGS = "nerflow.json"  # in a model folder: the task, window and decoding settings `nerflow predict` follows
