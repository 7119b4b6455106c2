import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(ROOT / "src"))  # the package under test, also where it is not installed


# --- training inputs --------------------------------------------------------------------------------------

def load_default_params() -> dict:
    from nerflow.params import load_params

    return load_params(ROOT / "params.yaml")


PARAMS = load_default_params()  # the project's params.yaml


def random_windows(n=40, seed=0) -> list:
    """Windows of random ids and labels (3 labels), 2 to 20 pieces long."""
    rng = random.Random(seed)
    windows = [{"input_ids": [rng.randrange(5, 40) for _ in range(rng.randint(2, 20))]} for _ in range(n)]
    for w in windows:
        w["labels"] = [rng.randrange(0, 3) for _ in w["input_ids"]]
    return windows


# --- a project: a git repository with a copy of this one, run with DVC -------------------------------------

def run(args, cwd, env, check=True, input=None):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args, cwd, env, check=True):
    return run([sys.executable, "-m", "dvc", *args], cwd, env, check)


def git(*args, cwd, env):
    return run(["git", *args], cwd, env)


def words_in(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith("-DOCSTART-"))


def make_project(repo: Path, fixture: Path, model_dir: Path, top: dict = None, **dataset) -> dict:
    """A git repository holding a copy of the project, with params pointed at `fixture` and `model_dir` (and
    `top`'s top-level params)."""
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore", "export/dvc.yaml"):
        if (ROOT / name).exists():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    shutil.copytree(fixture, repo / "fixture")

    from nerflow.params import load_params

    params = load_params(repo / "params.yaml")
    params["dataset"].update(source="local", sha256={}, **dataset)
    params["model"] = str(model_dir)
    params.update({**dict(max_length=16, window_overlap=4, epochs=2, min_steps=0, batch_size=2, eval_batch_size=8,
                          lr=5e-4), **(top or {})})
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    env = dict(os.environ, PYTHONPATH=str(repo / "src"), DVC_NO_ANALYTICS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.invalid",
               GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.invalid")
    git("init", "-q", "-b", "main", cwd=repo, env=env)
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "project", cwd=repo, env=env)
    return env



# --- a stage run in a folder holding params.yaml and data/raw ------------------------------------------------

def project(tmp_path, raw: dict, **dataset) -> Path:
    """A folder with params.yaml (dataset block: source local, the files of `raw` as its files, and `dataset`) and
    data/raw/{name} files."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    files = {name.split(".")[0]: f"data/raw/{name}" for name in raw if name.split(".")[0] in ("train", "dev", "test")}
    files = files if "train" in files else {**files, "train": "data/raw/train"}  # a project whose train is missing
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"dataset": {"source": "local", "files": files, **dataset}}))
    (tmp_path / "data" / "raw").mkdir(parents=True)
    for name, content in raw.items():
        (tmp_path / "data" / "raw" / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


def preprocess(folder):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "nerflow.stages.preprocess"], cwd=folder, env=env, capture_output=True, text=True)


def succeeds(folder) -> str:
    result = preprocess(folder)
    assert result.returncode == 0, result.stderr
    return result.stdout


def records(folder, split) -> list:
    """The processed records of a split, as dicts (None-valued fields left out, as the stages write them)."""
    from nerflow.data import store

    return [{k: v for k, v in row.items() if v is not None} for row in store.rows(folder / "data/processed", split)]


def data_metrics(folder) -> dict:
    return json.loads((folder / "metrics/data.json").read_text())


def fails(folder) -> str:
    """Run preprocess expecting failure (a problem with the data, or with params.yaml); check that nothing at all
    was written; return its message."""
    result = preprocess(folder)
    assert result.returncode != 0
    assert result.stderr.startswith(("preprocess: ", "params.yaml: ")), result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in (folder / "data").iterdir()] == ["raw"]  # no data/processed, no temporary folder
    assert not (folder / "metrics").exists()
    return result.stderr





def fixture_words() -> set:
    """The words of the tiny CoNLL fixture (all splits)."""
    return {line.split()[0] for split in ("train", "dev", "test")
            for line in (FIXTURES / "tiny" / f"{split}.txt").read_text().splitlines()
            if line.strip() and not line.startswith("-DOCSTART-")}


def build_tiny_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT with a small uncased WordPiece vocabulary (no download)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    words = sorted({word.lower() for word in fixture_words()})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # Whole words only for the first half, so that the rest split into several pieces.
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + letters + ["##" + c for c in letters]
    vocab += [w for w in words[: len(words) // 2] if w not in vocab]
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)}, do_lower_case=True)  # a fast one
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def build_tiny_roberta(folder: Path) -> Path:
    """A randomly initialised 2-layer RoBERTa with a small cased byte-level BPE vocabulary (no download).

    Saved as roberta-base's tokenizer is, without add_prefix_space: nerflow must switch it on itself.
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    words = sorted(fixture_words())
    # Merges learnt on half of the words (each with its word-start "Ġ"), so that the rest split into pieces.
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator(words[: len(words) // 2], vocab_size=400, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])  # roberta-base's ids 0-4
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))
    tokenizer = RobertaTokenizerFast(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"),
                                     model_max_length=128)
    tokenizer.save_pretrained(folder)
    # RoBERTa numbers positions from pad_token_id + 1: 130 positions leave room for 128 pieces.
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=130, type_vocab_size=1,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)
    import torch

    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_roberta_dir(tmp_path_factory) -> Path:
    return build_tiny_roberta(tmp_path_factory.mktemp("tiny-roberta"))



def build_tiny_cjk_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT whose WordPiece vocabulary holds the characters of the Chinese and
    Japanese span fixture (no download); its tokenizer splits CJK characters, as bert-base-chinese's does."""
    from transformers import BertConfig, BertModel, BertTokenizer

    characters = sorted({c for split in ("train", "dev", "test")
                         for line in (FIXTURES / "spans" / "cjk" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
                         for c in json.loads(line)["text"]})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters]
    folder.mkdir(parents=True, exist_ok=True)
    BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)}, tokenize_chinese_chars=True).save_pretrained(folder)
    import torch

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_cjk_model_dir(tmp_path_factory) -> Path:
    return build_tiny_cjk_bert(tmp_path_factory.mktemp("tiny-cjk-bert"))


# --- a tiny trained tagger: PEOPLE and PLACES (a lookup, whatever the context), saved like models/finetuned ---

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
PEOPLE = ["Angela Merkel", "John Garcia", "Anna"]  # "merkel" is not in the tiny vocabulary: m ##e ##r ##k ##e ##l
PLACES = ["Berlin", "London", "Zürich", "Geneva", "New York"]  # zurich, new and york split into letters too
FILLER = "a an and backed cars commission exports fined for in joined left ( ) , . ; !".split()
def training_data(rng: random.Random, n: int):
    sentences, tags = [], []
    for _ in range(n):
        words, word_tags = [], []
        for _ in range(rng.randint(3, 10)):
            kind = rng.choice(["PER", "LOC", "O", "O", "O"])
            if kind == "O":
                words.append(rng.choice(FILLER))
                word_tags.append("O")
            else:
                name = rng.choice(PEOPLE if kind == "PER" else PLACES).split()
                words += name
                word_tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
        sentences.append(words)
        tags.append(word_tags)
    return sentences, tags


@pytest.fixture(scope="session")
def ner_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny random BERT taught to tag PEOPLE and PLACES (a lookup, whatever the context), saved like models/finetuned."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from nerflow.tasks.ner.tokenize.windows import encode

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    label2id = {label: i for i, label in enumerate(LABELS)}
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(
        tiny_model_dir, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=label2id)
    sentences, tags = training_data(random.Random(0), 120)
    windows = encode(tokenizer, sentences, 64, 16, tags=tags, label2id=label2id)
    width = max(len(w["input_ids"]) for w in windows)
    input_ids = torch.zeros((len(windows), width), dtype=torch.long)
    labels = torch.full((len(windows), width), -100)
    for row, window in enumerate(windows):
        input_ids[row, : len(window["input_ids"])] = torch.tensor(window["input_ids"])
        labels[row, : len(window["labels"])] = torch.tensor(window["labels"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: a second thread only waits on the first, the more so on a busy machine
    for _ in range(200):
        loss = model(input_ids=input_ids, attention_mask=(input_ids != 0).long(), labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_num_threads(threads)
    folder = tmp_path_factory.mktemp("ner")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
