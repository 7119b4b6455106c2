"""Stage preprocess end to end (a subprocess in a temp dir holding params.yaml and data/raw), and how train is split
(plan_split)."""

import json
from pathlib import Path

import pytest
import yaml
from conftest import data_metrics, fails, project, records, succeeds

from nerflow.tasks.ner.records import Sentence
from nerflow.data.splits import document_sizes, plan_split
from nerflow.paths import SPLITS

DISEASE = Path(__file__).parent / "fixtures" / "disease"  # tab-separated IOB1: index, token, tag, source


def jsonl(*sentences) -> str:
    """JSONL text from (tokens, tags) or (tokens, tags, doc) tuples."""
    return "".join(json.dumps({"tokens": s[0], "tags": s[1], **({"doc": s[2]} if len(s) > 2 else {})}) + "\n"
                   for s in sentences)


DISEASE_FILES = {f"{split}.txt": (DISEASE / f"{split}.txt").read_bytes() for split in ("train", "dev", "test")}
DISEASE_PARAMS = {"scheme": "iob1", "separator": "\t", "token_column": 1, "tag_column": 2}


def test_tab_separated_iob1_disease_file(tmp_path):
    folder = project(tmp_path, DISEASE_FILES, **DISEASE_PARAMS)
    succeeds(folder)
    train = records(folder, "train")
    assert train[0] == {"doc": 0, "line": 1, "tokens": ["Patients", "with", "von Willebrand disease", "bleed", "."],
                        "tags": ["O", "O", "B-DISEASE", "O", "O"]}
    assert train[2]["tokens"][0] == "Type 2" and train[2]["tags"][:3] == ["B-DISEASE", "I-DISEASE", "B-DISEASE"]
    assert records(folder, "test")[0]["tags"] == ["B-DISEASE", "I-DISEASE", "B-DISEASE", "O", "B-DISEASE"]
    assert json.loads((folder / "data/processed/labels.json").read_text()) == ["O", "B-DISEASE", "I-DISEASE"]
    assert data_metrics(folder) == {  # counted by hand; no extra keys with default repair and unknown_labels
        "train": {"records": 3, "sentences": 3, "dropped": {}, "tokens": 18, "documents": 1, "entities": {"DISEASE": 5}},
        "dev": {"records": 1, "sentences": 1, "dropped": {}, "tokens": 4, "documents": 1, "entities": {"DISEASE": 1}},
        "test": {"records": 1, "sentences": 1, "dropped": {}, "tokens": 5, "documents": 1, "entities": {"DISEASE": 3}}}


def test_disease_file_with_the_default_columns_fails(tmp_path):
    # Read as whitespace-separated IOB2 (the defaults), the same files are malformed: each problem is named.
    message = fails(project(tmp_path, DISEASE_FILES))
    assert "data/raw/train.txt:3: 6 columns, expected 4" in message
    assert "data/raw/dev.txt:1: invalid tag 'pubmed'" in message  # every file is checked, not just the first


def test_jsonl_files(tmp_path):
    folder = project(tmp_path, {
        "train.jsonl": jsonl((["New York", "is", "big"], ["B-LOC", "O", "O"], "d1"), (["Paris"], ["B-LOC"], "d1"),
                             (["Aspirin", "helps"], ["B-DRUG", "O"], "d2")),
        "dev.jsonl": jsonl((["Rome"], ["B-LOC"])),
        "test.txt": "Ibuprofen B-DRUG\n"})  # formats may differ between splits
    succeeds(folder)
    assert records(folder, "train") == [
        {"doc": 0, "line": 1, "tokens": ["New York", "is", "big"], "tags": ["B-LOC", "O", "O"]},
        {"doc": 0, "line": 2, "tokens": ["Paris"], "tags": ["B-LOC"]},
        {"doc": 1, "line": 3, "tokens": ["Aspirin", "helps"], "tags": ["B-DRUG", "O"]}]
    assert records(folder, "test") == [{"doc": 0, "line": 1, "tokens": ["Ibuprofen"], "tags": ["B-DRUG"]}]
    assert data_metrics(folder)["train"]["documents"] == 2


def test_bioes_file(tmp_path):
    train = "-DOCSTART- O\n\nPeter B-PER\nvan I-PER\nBlackburn E-PER\nin O\nParis S-LOC\n\nEU S-ORG\n"
    folder = project(tmp_path, {"train.txt": train, "dev.txt": "Rome S-LOC\n", "test.txt": "Ann S-PER\n"}, scheme="bioes")
    succeeds(folder)
    assert [r["tags"] for r in records(folder, "train")] == [["B-PER", "I-PER", "I-PER", "O", "B-LOC"], ["B-ORG"]]
    assert data_metrics(folder)["train"]["entities"] == {"LOC": 1, "ORG": 1, "PER": 1}


def test_bioes_sequence_error(tmp_path):
    folder = project(tmp_path, {"train.txt": "Peter B-PER\nBlackburn O\n", "dev.txt": "a O\n", "test.txt": "a O\n"},
                     scheme="bioes")
    assert "data/raw/train.txt:1: B-PER ends the PER entity (BIOES ends an entity with E-PER" in fails(folder)


# Twelve documents of two sentences each, the second one of each unique to it (so the split can be checked).
TWELVE_DOCS = jsonl(*[s for d in range(12) for s in ((["Paris"], ["B-LOC"], d), ([f"doc{d}"], ["O"], d))])


def processed(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in (folder / "data/processed").rglob("*") if p.is_file()}


def test_train_only_is_split_by_documents_and_deterministically(tmp_path):
    first, again, other = (project(tmp_path / name, {"train.jsonl": TWELVE_DOCS}, split={"dev": 0.25, "test": 0.1, "seed": seed})
                           for name, seed in (("first", 7), ("again", 7), ("other", 8)))
    assert "dev and test split off train by documents (seed 7): train 16 sentences, dev 6 sentences, test 2 sentences" in succeeds(first)
    succeeds(again), succeeds(other)
    assert processed(first) == processed(again)
    assert processed(first) != processed(other)
    docs = {split: [r["doc"] for r in records(first, split)] for split in ("train", "dev", "test")}
    assert [len(set(d)) for d in docs.values()] == [8, 3, 1]  # round(0.25 * 12) and round(0.1 * 12) documents
    assert sorted(sum(docs.values(), [])) == sorted(2 * list(range(12)))  # every sentence once, documents whole
    assert all(d == sorted(d) for d in docs.values())  # file order kept
    assert set(data_metrics(first)) == {"train", "dev", "test"}


def test_only_the_missing_split_is_made(tmp_path):
    folder = project(tmp_path, {"train.jsonl": TWELVE_DOCS, "dev.txt": "Rome B-LOC\n"})  # default split: 0.1, seed 42
    succeeds(folder)
    assert records(folder, "dev") == [{"doc": 0, "line": 1, "tokens": ["Rome"], "tags": ["B-LOC"]}]
    assert len({r["doc"] for r in records(folder, "test")}) == 1
    assert len(records(folder, "train")) == 22


def test_split_train_by_documents_or_sentences():
    sentences = [Sentence([f"w{i}"], ["O"], doc=i // 3, line=i) for i in range(30)]  # 10 documents of 3
    sizes = document_sizes([s.doc for s in sentences])
    owner, unit = plan_split(sizes, ["dev", "test"], {"dev": 0.2, "test": 0.1}, seed=3)
    split = {name: [s for s, o in zip(sentences, owner) if o == name] for name in SPLITS}
    assert unit == "documents" and [len(split[s]) for s in ("train", "dev", "test")] == [21, 6, 3]
    assert owner == plan_split(sizes, ["dev", "test"], {"dev": 0.2, "test": 0.1}, seed=3)[0]
    for part in split.values():  # whole documents in file order
        assert [s.line for s in part] == sorted(s.line for s in part)
        assert all(sum(s.doc == doc for s in part) == 3 for doc in {s.doc for s in part})
    # One document: split by sentences (at least one each).
    owner, unit = plan_split(document_sizes([None] * 5), ["dev", "test"], {"dev": 0.1, "test": 0.1}, seed=0)
    assert unit == "sentences" and [list(owner).count(s) for s in ("dev", "test", "train")] == [1, 1, 3]
    with pytest.raises(ValueError, match="train has 2 sentences: too few to split off dev and test"):
        plan_split(document_sizes([None] * 2), ["dev", "test"], {"dev": 0.1, "test": 0.1}, seed=0)


@pytest.mark.parametrize("seed", range(20))
def test_uneven_documents_do_not_distort_the_shares(seed):
    """Documents of 100, 5 and 5 sentences: no draw of whole documents gives dev and test a tenth each."""
    owner, unit = plan_split([100, 5, 5], ["dev", "test"], {"dev": 0.1, "test": 0.1}, seed=seed)
    assert unit == "sentences" and [list(owner).count(s) for s in ("train", "dev", "test")] == [88, 11, 11]


DRUG_DEV = "Aspirin B-DRUG\nhelps O\n\nParis B-LOC\n\nIbuprofen B-DRUG\nand O\nnaproxen B-DRUG\nsodium I-DRUG\n"


def test_unknown_labels_are_an_error_with_counts(tmp_path):
    folder = project(tmp_path, {"train.txt": "Paris B-LOC\n", "dev.txt": DRUG_DEV, "test.txt": "a O\n"},
                     files={"train": "/x/train.txt", "dev": "/x/dev.txt", "test": "/x/test.txt"})
    message = fails(folder)
    assert "data/raw/dev.txt (= /x/dev.txt):1: label 'B-DRUG' does not occur in train (3 times)" in message
    assert "data/raw/dev.txt (= /x/dev.txt):9: label 'I-DRUG' does not occur in train (once)" in message
    assert "unknown_labels: O" in message


def test_unknown_labels_read_as_o(tmp_path):
    test = jsonl((["x", "y"], ["O", "B-DRUG"]))
    folder = project(tmp_path, {"train.txt": "Paris B-LOC\n", "dev.txt": DRUG_DEV, "test.jsonl": test},
                     unknown_labels="O")
    out = succeeds(folder)
    assert ("dev: read as O (unknown_labels: O): B-DRUG 3 times (first at data/raw/dev.txt:1), "
            "I-DRUG once (first at data/raw/dev.txt:9)") in out
    assert "test: read as O (unknown_labels: O): B-DRUG once (first at data/raw/test.jsonl:1)" in out
    assert [r["tags"] for r in records(folder, "dev")] == [["O", "O"], ["B-LOC"], ["O", "O", "O", "O"]]
    stats = data_metrics(folder)
    assert stats["dev"]["mapped_to_O"] == {"B-DRUG": 3, "I-DRUG": 1} and stats["dev"]["entities"] == {"LOC": 1}
    assert stats["test"]["mapped_to_O"] == {"B-DRUG": 1} and "mapped_to_O" not in stats["train"]


STRAY_I = {"train.txt": "EU O\nrejects I-ORG\n\nPeter B-PER\n", "dev.txt": "a I-PER\n", "test.txt": "a O\n"}


def test_stray_i_is_an_error_without_repair(tmp_path):
    message = fails(project(tmp_path, STRAY_I))
    assert "data/raw/train.txt:2: I-ORG does not continue an entity (strict IOB2); set dataset.repair: true" in message
    assert "data/raw/dev.txt:1: I-PER does not continue" in message
    assert "1 problem(s) (entity not started: 1)" in message


def test_stray_i_is_repaired_and_counted(tmp_path):
    folder = project(tmp_path, STRAY_I, repair=True)
    out = succeeds(folder)
    assert ("data/raw/train.txt: repaired 1 tag sequence error(s) (repair: true):\n  data/raw/train.txt:2: I-ORG does "
            "not continue") in out
    assert [r["tags"] for r in records(folder, "train")] == [["O", "B-ORG"], ["B-PER"]]
    assert {split: s["repairs"] for split, s in data_metrics(folder).items()} == {"train": 1, "dev": 1, "test": 0}


@pytest.mark.parametrize("raw, dataset, says", [
    ({"dev.txt": "a O\n"}, {}, "data/raw holds no train file; run the download stage first"),
    ({"train.txt": "a O\n", "train.jsonl": jsonl((["a"], ["O"]))}, {}, "both data/raw/train.txt and data/raw/train.jsonl exist"),
    ({"train.jsonl": '{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["a", "b"], "tags": ["O"]}\n'}, {},
     "data/raw/train.jsonl:2: 2 tokens but 1 tags"),
    ({"train.jsonl": jsonl((["a"], ["O"])) + "{oops\n"}, {}, "data/raw/train.jsonl:2: not JSON"),
    ({"train.jsonl": jsonl((["a"], ["O"]), ([], []))}, {}, "data/raw/train.jsonl:2: a sentence with no tokens"),
    ({"train.txt": b"\xef\xbb\xbf"}, {}, "data/raw/train.txt:1: no sentences"),
    ({"train.txt": "a\tO\n\tO\n"}, {"separator": "\t"}, "data/raw/train.txt:2: empty token"),
    ({"train.txt": "a B-X\n", "dev.txt": "a O\n"}, {}, "train has 1 sentences: too few to split off test"),
    ({"train.txt": "a B-X\n"}, {"split": {"dev": 0, "test": 0.1}}, "params.yaml: dataset.split.dev is 0; expected a number > 0"),
    ({"train.txt": "a B-X\n"}, {"split": 0.2}, "params.yaml: dataset.split is 0.2; expected a mapping"),
    ({"train.txt": "a B-X\n"}, {"split": {"dev": 0.6, "test": 0.5}},
     "params.yaml: dataset.split.test is 0.5; expected less than 1 - dev (0.4): dev and test would take all of train"),
    ({"train.txt": "a B-X\n"}, {"scheme": "bio"}, "params.yaml: dataset.scheme is 'bio'; expected one of iob2, iob1, bioes, bilou"),
    ({"train.txt": "a B-X\n"}, {"unknown_labels": "drop"}, "params.yaml: dataset.unknown_labels is 'drop'; expected one of error, O"),
    ({"train.txt": "a B-X\n"}, {"tag_column": 2}, "data/raw/train.txt:1: 2 columns: token_column 0 and tag_column 2"),
])
def test_failures_write_nothing(tmp_path, raw, dataset, says):
    assert says in fails(project(tmp_path, raw, **dataset))


def test_train_examples_keeps_the_first_train_sentences_after_dev_and_test_are_split_off(tmp_path):
    split = {"dev": 0.25, "test": 0.1, "seed": 7}
    whole = project(tmp_path / "whole", {"train.jsonl": TWELVE_DOCS}, split=split)
    cut = project(tmp_path / "cut", {"train.jsonl": TWELVE_DOCS}, split=split, train_examples=5)
    succeeds(whole), succeeds(cut)
    assert records(cut, "train") == records(whole, "train")[:5]
    for name in ("dev", "test"):  # the same dev and test whatever the limit
        assert records(cut, name) == records(whole, name)
    whole_counts, cut_counts = data_metrics(whole)["train"], data_metrics(cut)["train"]
    assert cut_counts["sentences"] == 5 and cut_counts["records"] == whole_counts["records"] == 12 * 2
    assert cut_counts["dropped"] == {"train_examples": whole_counts["sentences"] - 5}  # read, then left out: counted
    assert cut_counts["split_off"] == whole_counts["split_off"] == {"dev": len(records(cut, "dev")),
                                                                     "test": len(records(cut, "test"))}
    assert whole_counts["records"] == whole_counts["sentences"] + sum(whole_counts["split_off"].values())
    assert data_metrics(cut)["dev"]["records"] == 0  # no dev file: split off train
    bad = project(tmp_path / "bad", {"train.jsonl": TWELVE_DOCS}, train_examples=0)
    assert "dataset.train_examples is 0" in fails(bad)


def test_classification_tables_split_limit_and_name_unknown_labels(tmp_path):
    rows = "".join(f"{'fresh' if i % 3 else 'rotten'},review number {i}\n" for i in range(20))
    folder = project(tmp_path / "ok", {"train.csv": "label,text\n" + rows + "plot,a plot summary\n"},
                     format="csv", drop_labels=["plot"], train_examples=4, split={"dev": 0.25, "test": 0.25, "seed": 1})
    params = yaml.safe_load((folder / "params.yaml").read_text())
    (folder / "params.yaml").write_text(yaml.safe_dump({**params, "task": "classification"}))
    assert "dev and test split off train by examples (seed 1): train 10 examples, dev 5 examples, test 5 examples" in succeeds(folder)
    train, dev, test = (records(folder, split) for split in ("train", "dev", "test"))
    assert len(train) == 4 and len(dev) == len(test) == 5
    lines = [r["line"] for r in train + dev + test]
    assert len(set(lines)) == len(lines) and all(2 <= n <= 21 for n in lines)  # each row once, by its file line
    assert all(r["text"] == f"review number {r['line'] - 2}" for r in train + dev + test)
    # 21 records: 1 plot row dropped for its label, 5 + 5 split off, 4 kept and 6 beyond train_examples.
    assert data_metrics(folder)["train"] == {"records": 21, "examples": 4, "dropped": {"drop_labels": 1, "train_examples": 6},
                                             "split_off": {"dev": 5, "test": 5},
                                             "labels": {"fresh": sum(r["label"] == "fresh" for r in train),
                                                        "rotten": sum(r["label"] == "rotten" for r in train)}}
    unknown = project(tmp_path / "unknown", {"train.csv": "label,text\nfresh,a\nrotten,b\n", "dev.csv": "label,text\nfresh,c\nmeh,d\n"},
                      format="csv")
    params = yaml.safe_load((unknown / "params.yaml").read_text())
    (unknown / "params.yaml").write_text(yaml.safe_dump({**params, "task": "classification"}))
    message = fails(unknown)
    assert "dev.csv" in message and ":3: label 'meh' does not occur in train" in message
