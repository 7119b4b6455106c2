"""`nerflow predict`: a trained model on new texts, on the command line; `load` gives the same in Python.

    from nerflow.tools.predict import load
    tagger = load("models/finetuned")
    tagger(["Angela Merkel visited Paris."])
    # [[{"label": "PER", "start": 0, "end": 13, "text": "Angela Merkel", "score": 0.98},
    #   {"label": "LOC", "start": 22, "end": 27, "text": "Paris", "score": 0.97}]]

What the model gives is its task's (the model folder's nerflow.json names it; a folder without one is NER): entities
with character offsets (nerflow.tasks.ner.predict.Tagger) or a label and its probability
(nerflow.tasks.classification.predict.Classifier).
"""

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

from nerflow.paths import MODEL_SETTINGS


@contextlib.contextmanager
def no_progress_bars():
    """transformers' own bars off for the block: from_pretrained draws a "Loading weights" bar on stderr, even
    for a one-line `nerflow predict`. Off through transformers' switch and back on only if it was on."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


# Task names that model folders written by earlier versions hold in their nerflow.json.
EARLIER_TASKS = {"text-classification": {"task": "classification", "pair": False},
                 "pair-classification": {"task": "classification", "pair": True}}


def model_settings(path) -> dict:
    """A model folder's nerflow.json (the task, windows and decoding its predictions follow); {} where it has none."""
    settings_file = Path(path) / MODEL_SETTINGS
    settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
    return {**settings, **EARLIER_TASKS.get(settings.get("task"), {})}


def model_task(path) -> str:
    """The task of a model folder: its nerflow.json's, NER for a folder without one."""
    return model_settings(path).get("task", "ner")


RUNTIMES = ("auto", "torch", "onnx")


def load(path, device=None, batch_size: int = 32, runtime: str = "auto"):
    """The predictor of a saved model folder (as the train stage writes models/finetuned, or the export stage
    models/onnx), for the task its nerflow.json names (a folder without one is NER's): run by torch (CUDA if
    available), or by ONNX Runtime on the CPU (`runtime` onnx; auto: a folder holding an exported model.onnx and no
    torch weights), the same words, windows and decoding either way."""
    from nerflow.tasks import task_part
    from nerflow.training.onnx import ONNX_FILE
    from nerflow.training.runtime import default_device
    from nerflow.training.tokenizer import load_tokenizer

    path = Path(path)
    if runtime == "auto":
        runtime = "onnx" if (path / ONNX_FILE).exists() and not (path / "model.safetensors").exists() else "torch"
    settings = model_settings(path)
    task = task_part(model_task(path), "predict")
    tokenizer = load_tokenizer(path)
    if runtime == "onnx":
        if not (path / ONNX_FILE).exists():
            raise ValueError(f"{path} holds no {ONNX_FILE}: `dvc repro export/dvc.yaml` exports the model to "
                             "models/onnx, which --runtime onnx runs")
        import torch
        from transformers import AutoConfig

        from nerflow.training.onnx import OnnxModel, served_file

        model = OnnxModel(served_file(path), AutoConfig.from_pretrained(path), torch.get_num_threads())
    else:
        with no_progress_bars():
            model = task.model_class.from_pretrained(path).to(device or default_device())
    return task.predictor(model, tokenizer, settings, batch_size)


# --- command line -------------------------------------------------------------------------------------------

class InputError(ValueError):
    """Bad input, with its place (file:line)."""


def read_records(binary_lines, name: str, jsonl: bool) -> list:
    """Plain text: one document per line, blank lines included (so output line n answers input line n).
    JSON lines: one object with a "text" field per line; blank lines are skipped."""
    records = []
    for number, raw in enumerate(binary_lines, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").removesuffix("\n").removesuffix("\r")
        except UnicodeDecodeError as error:
            raise InputError(f"{name}:{number}: not UTF-8 ({error.reason} at byte {error.start})") from None
        if not jsonl:
            records.append({"text": line})
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{name}:{number}: bad JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(record, dict) or "text" not in record:
            raise InputError(f'{name}:{number}: expected a JSON object with a "text" field')
        if not isinstance(record["text"], str):
            raise InputError(f'{name}:{number}: "text" must be a string')
        records.append(record)
    return records


def read_tasks(data: bytes, name: str, data_key: str) -> tuple:
    """A Label Studio task list (a JSON list of tasks {"data": {...}}, or of data objects, as Label Studio imports
    them): (a record {"text", the data's other keys} for each task, the tasks)."""
    try:
        tasks = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{name}: not a JSON list of Label Studio tasks ({error})") from None
    if not isinstance(tasks, list):
        raise InputError(f"{name}: not a JSON list of Label Studio tasks")
    records = []
    for number, task in enumerate(tasks, 1):
        data = task.get("data", task) if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(data_key), str):
            raise InputError(f'{name}:record {number}: expected a task with a "{data_key}" text in its data (the '
                             "data key the labelling config's <Text> reads: --label-config)")
        records.append({"text": data[data_key], **{k: v for k, v in data.items() if k != data_key}})
    return records, tasks


def read_input(args, data_key: str = "text") -> tuple:
    """(the records to predict, each {"text", ...}; the Label Studio tasks they came from, or None)."""
    if args.texts and args.file:
        raise InputError("give TEXT arguments or --file, not both")
    if args.texts:
        if args.jsonl:
            raise InputError("--jsonl applies to --file or stdin; TEXT arguments are plain text")
        return [{"text": text} for text in args.texts], None
    if args.file in (None, "-"):
        if args.file is None and sys.stdin.isatty():
            raise InputError("nothing to tag: give TEXT arguments, --file PATH, or pipe text to stdin")
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as f:
                name, data = args.file, f.read()
        except OSError as error:
            raise InputError(f"{args.file}: {error.strerror}") from None
    if name.lower().endswith(".json"):  # what Label Studio exports, and imports
        return read_tasks(data, name, data_key)
    return read_records(io.BytesIO(data), name, args.jsonl), None


def with_predictions(task, predicted: dict) -> dict:
    """A task of the input task list with the model's prediction added to its own (a task given as its data alone
    is put under "data", as Label Studio reads a task with predictions)."""
    task = dict(task) if "data" in task else {"data": task}
    return {**task, "predictions": [*task.get("predictions", []), *predicted["predictions"]]}


def run(args) -> int:
    from nerflow.tasks.predict import LabelConfig, parse_label_config

    try:
        if args.batch_size < 1:
            raise InputError("--batch-size must be at least 1")
        config = None
        if args.label_config:
            try:
                config = parse_label_config(Path(args.label_config).read_text(encoding="utf-8"))
            except OSError as error:
                raise InputError(f"{args.label_config}: {error.strerror}") from None
        records, tasks = read_input(args, (config or LabelConfig()).data_key)
        if not Path(args.model_dir).is_dir():
            raise InputError(f"{args.model_dir}: no such model folder")
        predictor = load(args.model_dir, batch_size=args.batch_size, runtime=args.runtime)
        # ValueError: not a fast tokenizer, input the model cannot take (a pair model given one text), or a format
        # its task does not write.
        results = predictor.predict_records(records, from_arguments=bool(args.texts), fmt=args.format,
                                            label_config=config)
    except (OSError, ValueError) as error:  # OSError: no loadable model
        print(f"nerflow predict: error: {error}", file=sys.stderr)
        return 1
    left_out = getattr(predictor, "left_out", None)
    if left_out:
        print(f"nerflow predict: left out {sum(left_out.values())} entities of types the labelling config does not "
              f"have: {', '.join(f'{label} {n}' for label, n in sorted(left_out.items()))}", file=sys.stderr)
    if args.format == "labelstudio":  # Label Studio imports a JSON list of tasks
        if tasks is not None:
            results = [with_predictions(task, result) for task, result in zip(tasks, results)]
        lines = ["[\n", ",\n".join(json.dumps(r, ensure_ascii=False) for r in results), "\n]\n" if results else "]\n"]
    else:
        lines = (json.dumps(result, ensure_ascii=False) + "\n" for result in results)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
    else:
        sys.stdout.reconfigure(encoding="utf-8")  # JSON is UTF-8, whatever the terminal's locale
        sys.stdout.writelines(lines)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a trained model folder, e.g. models/finetuned")
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="texts to tag, one document each")
    parser.add_argument("--file", metavar="PATH", help="read documents from PATH ('-': stdin); without TEXT "
                        "or --file, documents are read from stdin when it is not a terminal. A .json file is read as "
                        "Label Studio's tasks (its export, or a task list to import): each task's text, and with "
                        "--format labelstudio the tasks come back with the predictions added")
    parser.add_argument("--jsonl", action="store_true", help='input is JSON lines with a "text" field; other '
                        "fields are copied to the output (blank lines skipped)")
    parser.add_argument("--output", metavar="PATH", help="write JSON lines to PATH instead of stdout")
    parser.add_argument("--label-config", metavar="FILE", help="NER: the Label Studio project's labelling config (its "
                        "XML, Settings > Labeling Interface > Code): predictions are written under its <Labels> control "
                        "and <Text> object, read from its data key, and entities of types it lacks are left out "
                        "(counted on stderr); without it: label, text and $text")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per batch (default 32)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto", help="torch, or onnx: ONNX Runtime on the "
                        "CPU, for a folder the export stage wrote (models/onnx: its served variant, fp32 or int8); "
                        "auto (default): onnx for a folder holding model.onnx and no torch weights")
    parser.add_argument("--format", choices=("entities", "labelstudio", "doccano", "spans"), default="entities",
                        help="NER: what to write: entities (default, below); labelstudio: a JSON list of tasks with "
                        "the entities as predictions, to import into Label Studio; doccano: JSON lines "
                        "{text, label: [[start, end, TYPE]]} in doccano's UTF-16 offsets; spans: JSON lines {text, "
                        "spans: [{start, end, label, score}]} (Prodigy, spaCy)")
    parser.description = "Tag texts with a trained model and write their entities as JSON lines."
    parser.epilog = HELP_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the epilog's line breaks
    parser.set_defaults(run=run)


HELP_EPILOG = """\
Plain-text input is one document per line. Every line, blank ones included,
gives one output line, so output line n answers input line n. Output is JSON
lines, one per document:
  {"text": ..., "entities": [{"label": "PER", "start": 0, "end": 5,
                              "text": "Alice", "score": 0.97}, ...]}
start/end are character offsets into text (end exclusive); score is the mean
over the entity's words of the probability of the predicted tag.

Words are split as the training data was: in CoNLL-2003's Penn Treebank
conventions ("Germany's" is two words, "Germany" and "'s"; "U.S." and
"well-known" are one; punctuation stands apart), a Chinese or Japanese
character one word, sentences by the rules of the training data's language
(nerflow.json: language). Texts longer than max_length pieces are windowed
(MODEL_DIR/nerflow.json: max_length, window_overlap and context; else 128, 32
and sentence). Tags are decoded as in evaluation (constrained_decoding in
nerflow.json; else the best valid IOB2 sequence).
"""
