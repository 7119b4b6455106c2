"""What the stages cost as the corpus grows: wall time and peak memory of preprocess, tokenize and train (up to its
first optimizer step) on CoNLL-2003 train repeated K times, the same as span files (doccano records over its
detokenized text: benchmarks/conll_spans.py), and on a synthetic review TSV of N rows.

    python benchmarks/scale.py --ks 1,10,30,100 --reviews 10000,100000,1000000   # after `dvc repro download`
    python benchmarks/scale.py --ks 1,10 --src ../old/src --module nerflow.{stage} --code before   # older code
    python benchmarks/scale.py --ks 10 --span-ks 10 --code 2026-12-04    # the same data as span files, beside

Each K gets a scratch project (params.yaml as the project's, data/raw with train.txt repeated K times, documents
kept, dev and test as they are; data/base_model linked) and runs the stages there, each a fresh process as
`dvc repro` runs it, one after the other and alone. The train stage is stopped once its progress bar shows the
first optimizer step. Memory is sampled every 20 ms over the stage's whole process tree (its tokenize workers
included): `peak_rss_mb` is the largest sum of their resident memory (RSS) seen, shared pages counted in each
process that maps them (an upper bound); for train, `rss_at_first_step_mb` is the sum when the first step showed.
Results merge into metrics/bench_scale.json under the code's name (--code), per K (or N), per stage.
Run it alone on the machine: a second busy process slows every stage.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "metrics" / "bench_scale.json"
FIRST_STEP = re.compile(r"\|\s*1/\d+ \[")  # tqdm's bar after the first optimizer step: "|   1/1521 ["
WORDS = ("film movie plot actors acting score story slow sharp warm dull funny long short best worst great bad good "
         "boring brilliant script scene director cast ending music").split()


def sample_tree(process: psutil.Process, stop: threading.Event, peak: dict, every: float = 0.02) -> None:
    """Keep in `peak` the largest resident memory summed over `process` and its descendants, and the latest sum."""
    while not stop.is_set():
        try:
            tree = [process] + process.children(recursive=True)
            total = 0
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            break
        peak["now"] = total
        peak["max"] = max(peak.get("max", 0), total)
        time.sleep(every)


def run_stage(command: list, cwd: Path, env: dict, until_first_step: bool = False, log: Path = None) -> dict:
    """Run one stage; its wall time and memory. With until_first_step, stop it once training shows step 1."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    peak, stop = {}, threading.Event()
    sampler = threading.Thread(target=sample_tree, args=(psutil.Process(process.pid), stop, peak), daemon=True)
    sampler.start()
    result, tail = {}, b""
    while True:
        chunk = process.stderr.read1(65536) if hasattr(process.stderr, "read1") else process.stderr.read(4096)
        if not chunk:
            break
        tail = (tail + chunk)[-65536:]
        if until_first_step and FIRST_STEP.search(tail.decode("utf-8", "replace")):
            result["wall_s"] = time.perf_counter() - start
            result["rss_at_first_step_mb"] = peak.get("now", 0) / 2**20
            result["peak_rss_mb"] = peak.get("max", 0) / 2**20
            os.killpg(process.pid, signal.SIGKILL)
            break
    code = process.wait()
    stop.set()
    sampler.join()
    if log is not None:
        log.write_bytes(tail)
    if "wall_s" not in result:
        if code != 0:
            raise SystemExit(f"{' '.join(command)} failed ({code}) in {cwd}:\n{tail.decode('utf-8', 'replace')[-3000:]}")
        result = {"wall_s": time.perf_counter() - start, "peak_rss_mb": peak.get("max", 0) / 2**20}
    return {key: round(value, 2) for key, value in result.items()}


def ner_project(folder: Path, k: int, raw: Path, base_model: Path) -> dict:
    """A scratch project with CoNLL-2003 train repeated k times (each copy starts with its -DOCSTART-)."""
    (folder / "data" / "raw").mkdir(parents=True)
    train = (raw / "train.txt").read_bytes()
    with open(folder / "data" / "raw" / "train.txt", "wb") as out:
        for _ in range(k):
            out.write(train)
    for split in ("dev", "test"):
        shutil.copy(raw / f"{split}.txt", folder / "data" / "raw" / f"{split}.txt")
    (folder / "data" / "base_model").symlink_to(base_model.resolve())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"].update(source="local", sha256={}, files={s: f"{s}.txt" for s in ("train", "dev", "test")})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sentences = train.count(b"\n\n") * k  # about: blank lines between sentences
    return {"k": k, "train_bytes": len(train) * k, "train_sentences_about": sentences}


def spans_project(folder: Path, k: int, raw: Path, base_model: Path) -> dict:
    """A scratch project with CoNLL-2003 as doccano span records (benchmarks/conll_spans.py), train K times over."""
    from conll_spans import write

    written = write(raw, folder / "data" / "spans", k)
    (folder / "data" / "raw").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (folder / "data" / "spans" / f"{split}.jsonl").rename(folder / "data" / "raw" / f"{split}.spans")
    (folder / "data" / "base_model").symlink_to(base_model.resolve())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"].update(source="local", sha256={}, format="spans",
                             files={s: f"{s}.jsonl" for s in ("train", "dev", "test")})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return {"k": k, "train_texts": written["train"], "train_bytes": (folder / "data/raw/train.spans").stat().st_size}


def reviews_project(folder: Path, n: int, base_model: Path, seed: int = 0) -> dict:
    """A scratch project with a synthetic review TSV of n train rows (and 2,000 each for dev and test)."""
    (folder / "data" / "raw").mkdir(parents=True)
    rng = random.Random(seed)
    for split, rows in (("train", n), ("dev", 2000), ("test", 2000)):
        with open(folder / "data" / "raw" / f"{split}.tsv", "w", encoding="utf-8", newline="\n") as out:
            out.write("text\tlabel\n")
            for _ in range(rows):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40)))
                out.write(f"{text}\t{'positive' if rng.random() < 0.5 else 'negative'}\n")
    (folder / "data" / "base_model").symlink_to(base_model.resolve())
    params = yaml.safe_load((ROOT / "examples" / "sentiment.yaml").read_text())
    params["dataset"].update(source="local", sha256={}, format="tsv", drop_labels=[],
                             columns={"text": "text", "text_pair": None, "label": "label"},
                             files={s: f"{s}.tsv" for s in ("train", "dev", "test")})
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return {"n": n}


def measure(folder: Path, args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(args.src).resolve()), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("OMP_NUM_THREADS", None)  # as ./run.sh runs the stages: torch's default threads
    stages = {}
    for stage in ("preprocess", "tokenize", "train"):
        command = [sys.executable, "-m", args.module.format(stage=stage)]
        stages[stage] = run_stage(command, folder, env, until_first_step=stage == "train",
                                  log=folder / f"{stage}.log")
        print(f"  {stage}: {stages[stage]}", file=sys.stderr)
    return stages


def merge(results: dict, path: Path) -> None:
    report = json.loads(path.read_text()) if path.exists() else {}
    for kind, runs in results.items():
        for code, sizes in runs.items():
            report.setdefault(kind, {}).setdefault(code, {}).update(sizes)
    report["machine"] = machine()
    report["date"] = time.strftime("%Y-%m-%d")
    path.write_text(json.dumps(report, indent=1, sort_keys=False) + "\n")


def plot(report: dict, path: Path) -> None:
    """Wall time and peak memory of each stage against K, before and after, as a PNG (needs matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("the plot needs matplotlib (pip install matplotlib); the JSON is written") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"preprocess": "tab:blue", "tokenize": "tab:orange", "train": "tab:green"}
    for code, style in (("before", "--"), ("after", "-")):
        runs = report.get("ner", {}).get(code, {})
        ks = sorted(runs, key=int)
        for stage, color in colors.items():
            memory = "rss_at_first_step_mb" if stage == "train" else "peak_rss_mb"
            label = f"{stage} ({code})" + (", to its first step" if stage == "train" else "")
            axes[0].plot([int(k) for k in ks], [runs[k][stage]["wall_s"] for k in ks], style, color=color, marker="o",
                         label=label)
            axes[1].plot([int(k) for k in ks], [runs[k][stage][memory] / 1024 for k in ks], style, color=color,
                         marker="o", label=label)
    for axis, title in zip(axes, ("wall time (s)", "memory (GB): peak RSS, train at its first step")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("K: CoNLL-2003 train repeated K times (K = 100: 1.4M sentences)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[1].axhline(1.5, color="grey", linewidth=0.8)
    axes[0].legend(fontsize=7)
    figure.suptitle(f"nerflow stages against corpus size ({report.get('machine', '')}, {report.get('date', '')})",
                    fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", default="1,10,30,100", help="comma-separated K: CoNLL-2003 train repeated K times")
    parser.add_argument("--span-ks", default="", help="comma-separated K: the same as span files (doccano records)")
    parser.add_argument("--reviews", default="", help="comma-separated N: synthetic review rows (classification)")
    parser.add_argument("--code", default="after", help="the name the results are kept under (after, before, ...)")
    parser.add_argument("--src", default=str(ROOT / "src"), help="the package to run (PYTHONPATH)")
    parser.add_argument("--module", default="nerflow.stages.{stage}", help="how the stages are run: python -m ...")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw", help="CoNLL-2003 train/dev/test .txt")
    parser.add_argument("--base-model", type=Path, default=ROOT / "data" / "base_model")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/nerflow-scale"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--plot", type=Path, default=None, help="draw the JSON's NER runs into this PNG, then stop")
    args = parser.parse_args()
    if args.plot:
        return plot(json.loads(args.output.read_text()), args.plot)
    projects = (  # (results key, folder name, sizes, how its scratch project is made)
        ("ner", "ner", args.ks, lambda folder, k: ner_project(folder, k, args.raw, args.base_model)),
        ("ner_spans", "spans", args.span_ks, lambda folder, k: spans_project(folder, k, args.raw, args.base_model)),
        ("classification", "reviews", args.reviews, lambda folder, n: reviews_project(folder, n, args.base_model)))
    results = {kind: {args.code: {}} for kind, *_ in projects}
    for kind, name, sizes, make in projects:
        for n in [int(x) for x in sizes.split(",") if x]:
            folder = args.scratch / f"{args.code}-{name}-{n}"
            shutil.rmtree(folder, ignore_errors=True)
            print(f"{name} {n}", file=sys.stderr)
            size = make(folder, n)
            results[kind][args.code][str(n)] = {**size, **measure(folder, args)}
            merge(results, args.output)
            shutil.rmtree(folder)

if __name__ == "__main__":
    main()
