"""What the export stage does for every task: the trained model exported to ONNX (fp32) and quantized (int8), each
variant scored on dev and test by the task's own evaluate part (the evaluate stage's windows, decoding and scores),
and timed against the torch model in the same process: throughput at the evaluate batch size, and the latency of one
window. A rule of params chooses the variant the folder serves: int8 only where its dev score is within
`int8_max_loss` points of torch's (export_variant: auto), so that no silently worse model is served."""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nerflow.data.files import write_json_atomic
from nerflow.data.store import Windows, read_split
from nerflow.paths import EVALUATED, MODEL_SETTINGS
from nerflow.tasks import task_part
from nerflow.training.inference import predict_classes, predict_windows
from nerflow.training.onnx import INT8_FILE, SERVED_FILE, OnnxModel, export, optimize, per_position, quantize
from nerflow.training.tokenizer import load_tokenizer

VARIANTS = ("torch", "fp32", "int8")  # the model as trained, and its two ONNX variants
LATENCY_WINDOWS = 200  # test windows predicted one at a time, for the latency of one


def export_model(params: dict, model_dir: Path, processed: Path, tokenized: Path, out: Path) -> dict:
    """Write `out` (an ONNX model folder: model.onnx, model.int8.onnx, served.json, the tokenizer, config and
    nerflow.json) from the model in `model_dir`; return metrics/export.json: each variant's dev and test score,
    speed and size, and the variant served."""
    evaluate, metric = task_part(params, "evaluate"), task_part(params, "train").dev_metric
    model = evaluate.model_class.from_pretrained(model_dir).eval()  # torch as evaluate runs it: the baseline
    tokenizer = load_tokenizer(model_dir)
    # Exported with eager attention, whose graph ONNX Runtime's optimizer fuses (training/onnx.py).
    fp32 = export(evaluate.model_class.from_pretrained(model_dir, attn_implementation="eager").eval(), out)
    fused = optimize(fp32, model.config)
    int8 = quantize(fp32, out / INT8_FILE)
    tokenizer.save_pretrained(out)
    model.config.save_pretrained(out)
    shutil.copy(Path(model_dir) / MODEL_SETTINGS, out / MODEL_SETTINGS)
    threads = torch.get_num_threads()
    models = {"torch": model, "fp32": OnnxModel(fp32, model.config, threads), "int8": OnnxModel(int8, model.config, threads)}
    report = {"metric": metric, "threads": threads, "fused": fused, **{split: {} for split in EVALUATED}, "speed": {}}
    with tempfile.TemporaryDirectory() as scratch:  # the evaluate part writes its predictions: not kept here
        for name, variant in models.items():
            for split in EVALUATED:
                scores = evaluate.evaluate_split(variant, params, tokenizer.pad_token_id, processed, tokenized, split,
                                                 Path(scratch)).scores
                report[split][name] = round(100 * scores[metric], 2)
            report["speed"][name] = speed(variant, read_split(tokenized, "test"), read_split(processed, "test").num_rows,
                                          params["eval_batch_size"], tokenizer.pad_token_id, per_position(model))
    sizes = {"torch": Path(model_dir) / "model.safetensors", "fp32": fp32, "int8": int8}
    for name, path in sizes.items():
        report["speed"][name]["size_mb"] = round(path.stat().st_size / 2 ** 20, 1)
    report["served"] = served(params, report["dev"])
    write_json_atomic(out / SERVED_FILE, {**report["served"], "file": {"fp32": fp32.name, "int8": int8.name}[
        report["served"]["variant"]]})
    return report


def served(params: dict, dev: dict) -> dict:
    """The variant the folder serves, and why: params' export_variant, `auto` choosing int8 only within
    int8_max_loss points of torch's dev score."""
    loss = round(dev["torch"] - dev["int8"], 2)
    if params["export_variant"] != "auto":
        return {"variant": params["export_variant"], "why": "export_variant", "int8_dev_loss": loss}
    within = loss <= params["int8_max_loss"]
    return {"variant": "int8" if within else "fp32", "int8_dev_loss": loss,
            "why": f"int8 loses {loss} points of dev {'within' if within else 'beyond'} int8_max_loss "
                   f"({params['int8_max_loss']})"}


def speed(model, windows, texts: int, batch_size: int, pad_id: int, tagger: bool) -> dict:
    """Texts (the split's `texts`: sentences, examples) and tokens (pieces) a second, predicting the test split's
    windows at the evaluate batch size, and the latency of one window (the first LATENCY_WINDOWS, one at a time: p50,
    p95 in ms)."""
    windows = Windows(windows, ["input_ids"])
    predict = predict_windows if tagger else predict_classes
    predict(model, windows.take(range(min(len(windows), 8))), batch_size, pad_id)  # warm: first-call allocations
    start = time.perf_counter()
    predict(model, windows, batch_size, pad_id)
    seconds = time.perf_counter() - start
    single = []
    for i in range(min(len(windows), LATENCY_WINDOWS)):
        start = time.perf_counter()
        predict(model, windows.take([i]), 1, pad_id)
        single.append(1000 * (time.perf_counter() - start))
    quantiles = statistics.quantiles(single, n=20) if len(single) > 1 else single * 19
    return {"texts_per_s": round(texts / seconds, 1), "tokens_per_s": round(int(windows.lengths.sum()) / seconds),
            "latency_ms": {"p50": round(statistics.median(single), 2), "p95": round(quantiles[18], 2)}}
