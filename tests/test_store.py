"""The stages' Arrow splits (nerflow.data.store), and preprocess and tokenize reading and writing them a bounded
part at a time: record batches, document-aligned shards in several processes, the same output whatever the
number of processes."""

import json
import random

import pyarrow as pa
import pytest
import yaml
from conftest import FIXTURES, ROOT, project, records, succeeds

from nerflow.data import store
from nerflow.data.store import SplitWriter, Windows
from nerflow.params import load_params
from nerflow.tasks import task_part
from nerflow.tasks import tokenize as tokenize_base
from nerflow.tasks.ner.tokenize.windows import encode
from nerflow.tasks.ner.preprocess.conll import read_conll
from nerflow.training.tokenizer import load_tokenizer


def test_split_round_trip_over_several_part_files_and_record_batches(tmp_path):
    rows = [{"doc": i // 3, "tokens": ["w"] * (1 + i % 4), "tags": ["O"] * (1 + i % 4), "line": i} for i in range(25)]
    for index, (start, stop) in enumerate(((0, 10), (10, 11), (11, 25))):
        with SplitWriter(tmp_path / "train" / store.part_name(index), batch_rows=4) as writer:
            for row in rows[start:stop]:
                writer.add(row)
    table = store.read_split(tmp_path, "train")
    assert table.num_rows == store.count_rows(tmp_path, "train") == 25
    assert table.to_pylist() == rows == list(store.rows(tmp_path, "train"))
    assert [b.num_rows for b in store.batches(tmp_path, "train")] == [4, 4, 2, 1, 4, 4, 4, 2]
    assert table.schema.field("tokens").type == pa.list_(pa.string()) and table.schema.field("doc").type == pa.int64()


def test_windows_of_a_table_and_of_a_list_are_the_same(tmp_path):
    rng = random.Random(0)
    rows = [{"input_ids": [rng.randrange(100) for _ in range(rng.randint(1, 9))], "labels": [1, 2][:1]} for _ in range(30)]
    for index in range(3):
        with SplitWriter(tmp_path / "dev" / store.part_name(index)) as writer:
            for row in rows[10 * index:10 * index + 10]:
                writer.add(row)
    mapped, listed = Windows(store.read_split(tmp_path, "dev")), Windows(rows)
    assert mapped.lengths.tolist() == listed.lengths.tolist() == [len(r["input_ids"]) for r in rows]
    indices = [29, 0, 11, 11, 5]
    assert mapped.take(indices) == listed.take(indices) == [rows[i] for i in indices]
    assert mapped.slice(8, 21).take([0, 12]) == [rows[8], rows[20]]
    assert Windows(mapped, ["input_ids"]).take([3]) == [{"input_ids": rows[3]["input_ids"]}]


def tokenize_project(tmp_path, name, tiny_model_dir, **top) -> dict:
    """The tiny fixture preprocessed, then tokenized; {split: windows} as stored."""
    folder = tmp_path / name
    params = {**yaml.safe_load((ROOT / "params.yaml").read_text()), "max_length": 16, "window_overlap": 4, **top}
    params["model"] = str(tiny_model_dir)
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "raw").symlink_to(FIXTURES / "tiny")
    params["dataset"].update(source="local", sha256={})
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    succeeds(folder)
    task = task_part(params, "tokenize")
    stats = task.tokenize(params, tiny_model_dir, folder / "data/processed", folder / "data/tokenized",
                          workers=params["data_workers"])
    return {split: list(store.rows(folder / "data/tokenized", split)) for split in ("train", "dev", "test")}, stats, folder


@pytest.mark.parametrize("context", ["document", "sentence"])
def test_shards_in_several_processes_give_the_windows_of_one_pass(tmp_path, tiny_model_dir, monkeypatch, context):
    monkeypatch.setattr(tokenize_base, "SHARD_RECORDS", 3)  # several shards a split, each ending where a document ends
    sharded, stats, folder = tokenize_project(tmp_path, "two", tiny_model_dir, data_workers=2, context=context)
    one, _, _ = tokenize_project(tmp_path, "one", tiny_model_dir, data_workers=1, context=context)
    assert sharded == one
    files = {name: {f.relative_to(tmp_path / name / "data/tokenized"): f.read_bytes()
                    for f in (tmp_path / name / "data/tokenized").rglob("*") if f.is_file()} for name in ("one", "two")}
    assert len([f for f in files["two"] if f.parts[0] == "train"]) > 2  # the train split in several part files
    assert files["two"] == files["one"]  # the same bytes, whatever the number of processes
    tokenizer = load_tokenizer(tiny_model_dir)
    labels = json.loads((folder / "data/processed/labels.json").read_text())
    for split in ("train", "dev", "test"):  # and those of encoding each whole split in one call
        sentences = list(read_conll(FIXTURES / "tiny" / f"{split}.txt"))
        whole = encode(tokenizer, [s.tokens for s in sentences], 16, 4, tags=[s.tags for s in sentences],
                       label2id={label: i for i, label in enumerate(labels)},
                       documents=[s.doc for s in sentences] if context == "document" else None)
        assert sharded[split] == whole
        assert stats[split]["windows"] == len(whole) and stats[split]["sentences"] == len(sentences)


def test_shards_end_where_documents_end(tmp_path, monkeypatch):
    monkeypatch.setattr(tokenize_base, "SHARD_RECORDS", 4)
    documents = [0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 3, 3, 4]
    with SplitWriter(tmp_path / "train" / store.part_name(0), batch_rows=5) as writer:
        for i, doc in enumerate(documents):
            writer.add({"doc": doc, "line": i, "tokens": ["a"], "tags": ["O"]})
    shards = task_part("ner", "tokenize").shards(tmp_path, "train")
    assert shards[0][0] == 0 and shards[-1][1] == len(documents)
    assert all(a[1] == b[0] for a, b in zip(shards, shards[1:]))  # every record in exactly one shard
    assert all(documents[stop - 1] != documents[stop] for _, stop in shards[:-1])  # no document cut
    assert len(shards) > 2


def test_split_off_and_limit_route_records_across_record_batches(tmp_path, monkeypatch):
    """Train read in record batches of 4, split by whole documents, cut to train_examples: as in one pass."""
    monkeypatch.setattr(store, "BATCH_ROWS", 4)
    lines = "".join(f'{{"tokens": ["w{i}"], "tags": ["O"], "doc": {i // 3}}}\n' for i in range(60))
    folder = project(tmp_path / "p", {"train.jsonl": lines}, split={"dev": 0.2, "test": 0.2, "seed": 5},
                     train_examples=20)
    task = task_part("ner", "preprocess")
    stats = task.prepare(load_params(folder / "params.yaml")["dataset"], folder / "data/raw",
                         folder / "data/processed")
    kept = {split: [int(r["tokens"][0][1:]) for r in records(folder, split)] for split in ("train", "dev", "test")}
    assert all(numbers == sorted(numbers) for numbers in kept.values())  # file order
    every = [n for numbers in kept.values() for n in numbers]
    assert len(every) == len(set(every)) == 20 + 12 + 12  # dev and test 12 each; train its first 20
    for split in ("dev", "test"):  # whole documents: the three sentences of a document stay together
        assert all(sum(n // 3 == d for n in kept[split]) == 3 for d in {n // 3 for n in kept[split]})
    assert {k: stats["train"][k] for k in ("records", "sentences", "split_off", "dropped")} == {
        "records": 60, "sentences": 20, "split_off": {"dev": 12, "test": 12}, "dropped": {"train_examples": 16}}
