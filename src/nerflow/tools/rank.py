"""`nerflow rank MODEL_DIR POOL`: the texts of a pool in the order most worth annotating next, by how unsure the model
is of each, with its predictions, for Label Studio and doccano.

    nerflow rank models/finetuned unlabelled.jsonl --out next          # next/ranked.labelstudio.json, .doccano.jsonl
    nerflow rank models/finetuned tasks.json --strategy mnlp --label-config config.xml --out next

POOL: plain text (a text a line; blank lines skipped), JSON lines with a "text" field (doccano's and Prodigy's
exports among them: their other fields kept), a .json Label Studio task list (its tasks kept, the predictions added),
a folder of .txt files (a text each, BRAT's), or with --conll a CoNLL file (a sentence a text, -DOCSTART- skipped).

Strategies (--strategy), each a score in [0, 1], higher: less sure, first:
  margin   1 - the smallest margin between a word's two most probable labels (default: the least sure decision)
  mnlp     1 - the geometric mean probability of the predicted labels (length-normalised: Shen et al. 2017)
  entropy  the mean entropy of the words' label distributions, over log(labels)
  random   a seeded random order: the control to compare a strategy with
Texts of fewer than --min-words words go last, whatever their score: what uncertainty picks first and annotators gain
least from (a lone token, a heading). Ties keep the pool's order.

Writes OUT/ranked.labelstudio.json (tasks with the predictions, `score` the rank's score: import, then sort by
prediction score in the Data Manager) and OUT/ranked.doccano.jsonl (a record a text: NER's spans in doccano's UTF-16
offsets, or a classifier's label, with "score" and "rank"). Its cost is `nerflow predict`'s on the same pool.
"""

import argparse
import io
import json
import random
import sys
from pathlib import Path

from nerflow.tasks.predict import LabelConfig, parse_label_config
from nerflow.tools.predict import RUNTIMES
from nerflow.training.inference import STRATEGIES


class PoolError(ValueError):
    pass


def read_pool(path: Path, conll: bool, data_key: str) -> tuple:
    """(a record {"text", its other fields} for each text, the Label Studio tasks they came from or None)."""
    from nerflow.tools.predict import InputError, read_records, read_tasks

    if path.is_dir():
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise PoolError(f"{path}: a folder without .txt files")
        return [{"text": f.read_text(encoding="utf-8"), "file": f.relative_to(path).as_posix()} for f in files], None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PoolError(f"{path}: {error.strerror}") from None
    try:
        if path.name.lower().endswith(".json"):
            return read_tasks(data, str(path), data_key)
        if conll:
            return conll_sentences(path), None
        jsonl = path.name.lower().endswith(".jsonl")
        records = read_records(io.BytesIO(data), str(path), jsonl)
    except InputError as error:
        raise PoolError(str(error)) from None
    return [r for r in records if jsonl or r["text"].strip()], None


def conll_sentences(path: Path) -> list:
    """A CoNLL file's sentences as texts, their tokens joined by spaces (-DOCSTART- documents' marks left out)."""
    from nerflow.data.textfiles import DataError
    from nerflow.tasks.ner.preprocess.conll import read_conll

    try:
        return [{"text": " ".join(s.tokens), "line": s.line} for s in read_conll(path)]
    except DataError as error:
        raise PoolError(str(error)) from None


def words_in(text: str, language: str) -> int:
    """The words of a text as the models read them (a Chinese character is one, as a Thai one with its marks)."""
    from nerflow.tasks.ner.preprocess.text import split_sentences

    return sum(len(sentence) for sentence in split_sentences(text, language))


def ranked(records: list, predictions: list, strategy: str, min_words: int, seed: int, language: str = "en") -> list:
    """Indices of the records, most worth annotating first, and each one's score: (index, score)."""
    rng = random.Random(seed)
    scores = [rng.random() if strategy == "random" else p["uncertainty"][strategy] for p in predictions]
    short = [words_in(r["text"], language) < min_words for r in records]
    order = sorted(range(len(records)), key=lambda i: (short[i], -scores[i], i))
    return [(i, scores[i]) for i in order]


def doccano_record(record: dict, prediction: dict, score: float, rank: int) -> dict:
    """A doccano record of one text with the model's predictions: NER's spans (UTF-16 offsets), a classifier's label."""
    from nerflow.tasks.ner.evaluate.exports import doccano

    fields = {k: v for k, v in record.items() if k != "text"}
    if "entities" in prediction:
        found = doccano(record["text"], prediction["entities"], fields)
    else:
        found = {**fields, "text": record["text"], "label": [prediction["label"]]}
    return {**found, "score": round(score, 6), "rank": rank}


def labelstudio_task(record: dict, task, prediction: dict, config: LabelConfig, score: float, rank: int) -> dict:
    """A Label Studio task of one text, its prediction's score the rank's score."""
    if task is None:
        task = {"data": {config.data_key: record["text"], **{k: v for k, v in record.items() if k != "text"}}}
    elif "data" not in task:
        task = {"data": task}
    return {**task, "predictions": [*task.get("predictions", []), {**prediction, "score": round(score, 6)}],
            "meta": {**task.get("meta", {}), "nerflow_rank": rank}}


def run(args) -> int:
    from nerflow.tools.predict import load

    try:
        if not Path(args.model_dir).is_dir():
            raise PoolError(f"{args.model_dir}: no such model folder")
        predictor = load(args.model_dir, batch_size=args.batch_size, runtime=args.runtime)
        config = (parse_label_config(Path(args.label_config).read_text(encoding="utf-8"), predictor.control)
                  if args.label_config else LabelConfig(control=predictor.control))
        records, tasks = read_pool(Path(args.pool), args.conll, config.data_key)
        texts = [r["text"] for r in records]
        predictions = predictor.predict(texts, progress=True)
        labelstudio, left_out = predictor.labelstudio(texts, predictions, config, "margin")
    except (OSError, ValueError) as error:
        print(f"nerflow rank: error: {error}", file=sys.stderr)
        return 1
    language = getattr(predictor, "language", "en")
    order = ranked(records, predictions, args.strategy, args.min_words, args.seed, language)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ranked.labelstudio.json", "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n" + ",\n".join(json.dumps(labelstudio_task(records[i], tasks[i] if tasks else None, labelstudio[i],
                                                                config, score, rank), ensure_ascii=False)
                                   for rank, (i, score) in enumerate(order, 1)) + ("\n]\n" if order else "]\n"))
    with open(out / "ranked.doccano.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for rank, (i, score) in enumerate(order, 1):
            f.write(json.dumps(doccano_record(records[i], predictions[i], score, rank), ensure_ascii=False) + "\n")
    short = sum(words_in(r["text"], language) < args.min_words for r in records)
    print(f"nerflow rank: {len(records)} texts by {args.strategy} into {out}/ranked.labelstudio.json and "
          f"ranked.doccano.jsonl" + (f"; {short} of fewer than {args.min_words} words last" if short else "")
          + (f"; left out of Label Studio's predictions, labels the config lacks: "
             + ", ".join(f"{label} {n}" for label, n in sorted(left_out.items())) if left_out else ""),
          file=sys.stderr)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a trained model folder, e.g. models/finetuned")
    parser.add_argument("pool", metavar="POOL", help="the texts to rank (formats below)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="margin", help="default margin")
    parser.add_argument("--out", metavar="DIR", default=".", help="where the two files go (default: here)")
    parser.add_argument("--label-config", metavar="FILE", help="the Label Studio project's labelling config: its "
                        "names, and its labels only (nerflow predict --help)")
    parser.add_argument("--min-words", type=int, default=2, help="texts with fewer words go last (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random's seed (default 0)")
    parser.add_argument("--conll", action="store_true", help="POOL is a CoNLL file: a sentence a text")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto", help="torch or onnx (ONNX Runtime, for "
                        "models/onnx); auto: as the folder holds (nerflow predict --help)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per batch (default 32)")
    parser.description = __doc__.split("\n\n")[0]
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.set_defaults(run=run)
