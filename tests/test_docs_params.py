"""Every params block the docs show, pasted as a user would into a fresh params.yaml holding only it (and the task
and tuning, which dvc.yaml's deps follow), runs: the params stage checks it and writes every stage's values, `dvc repro
status` finds every stage's params, and a block of files on disk goes through download and preprocess for real.
Placeholders (`<sha256>`, `<package>==<version>`, ...) are filled with values of their kind."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, dvc, git, make_project

pytestmark = pytest.mark.slow  # DVC, a run per block

# Where the docs' local files are, in the fixtures.
LOCAL = {"corpus": FIXTURES / "tiny", "notes": FIXTURES / "disease_notes", "doccano": FIXTURES / "spans/doccano",
         "ls": FIXTURES / "spans/labelstudio", "prodigy": FIXTURES / "spans/prodigy", "brat": FIXTURES / "spans/brat"}
PLACEHOLDERS = [(r"<sha256>", "ab" * 32), (r"<commit sha>|<commit>", "0123456789abcdef0123456789abcdef01234567"),
                (r"<package>==<version>", "example==1.0"), (r"<package>-<version>", "example-1.0"),
                (r"<user>/<dataset>", "someone/corpus")]


def examples() -> list:
    """(page, the example's YAML) of every ```yaml block of the docs, a block split where a top-level key it already
    holds comes again (a block of alternatives: one dataset a source)."""
    found = []
    for page in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            current, keys = [], set()
            for line in block.splitlines():
                key = re.match(r"^([A-Za-z_]\w*):", line)
                if key and key.group(1) in keys:
                    found.append((page.name, "\n".join(current)))
                    current, keys = [], set()
                if key:
                    keys.add(key.group(1))
                current.append(line)
            found.append((page.name, "\n".join(current)))
    return found


def filled(text: str) -> str:
    for pattern, value in PLACEHOLDERS:
        text = re.sub(pattern, value, text)
    assert "<" not in text, f"a placeholder this test cannot fill: {text}"
    return text


EXAMPLES = examples()


def test_the_docs_show_params_blocks_of_each_source_and_format():
    assert len(EXAMPLES) >= 10
    sources = {yaml.safe_load(filled(text)).get("dataset", {}).get("source") for _, text in EXAMPLES}
    assert {"local", "url", "sdist", "hf"} <= sources


@pytest.mark.parametrize("page, text", EXAMPLES, ids=[f"{page}:{i}" for i, (page, _) in enumerate(EXAMPLES)])
def test_a_docs_params_block_alone_runs(tmp_path, tiny_model_dir, page, text):
    env = make_project(tmp_path, FIXTURES / "tiny", tiny_model_dir)
    example = yaml.safe_load(filled(text))
    params = {"task": "ner", "tuning": "full", "model": str(tiny_model_dir), **example}  # what DVC reads itself
    dataset = params.get("dataset", {})
    local = dataset.get("source") == "local"
    if local or "dataset" not in example:  # offline: the tiny model (and data) of the tests
        params.setdefault("dataset", {"source": "local", "files": {"train": "fixture/train.txt"}})
    for name, path in dataset.get("files", {}).items() if local else []:
        source = LOCAL[Path(path).parts[0]] / Path(path).name
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    git("add", "-A", cwd=tmp_path, env=env)
    git("commit", "-qm", "the docs' block", cwd=tmp_path, env=env)
    dvc("repro", "params", cwd=tmp_path, env=env)
    written = {stage: yaml.safe_load((tmp_path / f"data/params/{stage}.yaml").read_text())
               for stage in ("download", "preprocess", "train")}
    assert (written["train"]["lr"], written["train"]["seed"]) == (2e-4, 42)  # the defaults, filled in
    assert set(written["preprocess"]["dataset"]) >= {"scheme", "spans", "split", "columns"}
    assert set(written["download"]["dataset"]) >= {"source", "wheel", "sdist", "archive", "hf"}
    status = json.loads(dvc("status", "--json", "dvc.yaml", cwd=tmp_path, env=env).stdout)
    changed_params = [change for stage in status.values() for entry in stage if isinstance(entry, dict)
                      for change in entry.get("changed deps", {}).values() if isinstance(change, dict)]
    assert not [c for c in changed_params if "deleted" in c.values()], changed_params  # no key missing
    if params["dataset"]["source"] == "local" and "model_revision" not in params:
        dvc("repro", "preprocess", cwd=tmp_path, env=env)
        assert (tmp_path / "metrics/data.json").exists()
