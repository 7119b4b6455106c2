"""nerflow rank: a pool in the order most worth annotating, with the model's predictions, as a Label Studio task list
and doccano records that the span reader reads back."""

import json

import pytest
import torch

from nerflow.data.splits import Counts
from nerflow.tasks.ner.preprocess.spans import SpanOptions, read_span_file
from nerflow.tools import cli
from nerflow.tools.predict import load

TEXTS = ["Anna left Berlin.", "a", "John Garcia joined Anna in Zürich and Geneva.", "cars fined in London",
         "exports for commission", "Anna"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rank(model, pool, out, *options) -> tuple:
    assert cli.main(["rank", str(model), str(pool), "--out", str(out), *options]) == 0
    tasks = json.loads((out / "ranked.labelstudio.json").read_text())
    records = [json.loads(line) for line in (out / "ranked.doccano.jsonl").read_text().splitlines()]
    return tasks, records


def test_the_least_sure_first_short_texts_last_and_both_files_agree(ner_model_dir, tmp_path):
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TEXTS[:3]) + "\n\n" + "\n".join(TEXTS[3:]) + "\n")  # a blank line: no text
    tasks, records = rank(ner_model_dir, pool, tmp_path / "out")
    predictions = {t: p for t, p in zip(TEXTS, load(ner_model_dir, device="cpu").predict(TEXTS))}
    assert [r["text"] for r in records] == [t["data"]["text"] for t in tasks] and len(records) == 6
    assert [r["rank"] for r in records] == [1, 2, 3, 4, 5, 6] and [t["meta"]["nerflow_rank"] for t in tasks] == [1, 2, 3, 4, 5, 6]
    long_ones = [r for r in records if len(r["text"].split()) >= 2]
    assert {r["text"] for r in records[-2:]} == {"a", "Anna"}  # one word: last
    assert [r["score"] for r in long_ones] == sorted((predictions[r["text"]]["uncertainty"]["margin"]
                                                     for r in long_ones), reverse=True)
    assert all(t["predictions"][0]["score"] == r["score"] for t, r in zip(tasks, records))
    # doccano's records read back as annotations: the model's entities, at their characters.
    (tmp_path / "back.jsonl").write_text((tmp_path / "out/ranked.doccano.jsonl").read_text())
    for sentence in read_span_file(tmp_path / "back.jsonl", SpanOptions(), "back", Counts()):
        if sentence.text is not None:
            expected = [(e["start"], e["end"], e["label"]) for e in predictions[sentence.text]["entities"]]
            assert json.loads(sentence.source)["spans"] == [list(s) for s in expected]


def test_random_is_a_seeded_control_and_a_task_list_keeps_its_tasks(ner_model_dir, tmp_path):
    tasks = [{"id": 10 + i, "data": {"body": t, "ward": "B"}} for i, t in enumerate(TEXTS)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "config.xml").write_text('<View><Labels name="ents" toName="note"><Label value="PER"/></Labels>'
                                         '<Text name="note" value="$body"/></View>')
    first, _ = rank(ner_model_dir, tmp_path / "tasks.json", tmp_path / "a", "--strategy", "random", "--seed", "3",
                    "--label-config", str(tmp_path / "config.xml"))
    again, _ = rank(ner_model_dir, tmp_path / "tasks.json", tmp_path / "b", "--strategy", "random", "--seed", "3",
                    "--label-config", str(tmp_path / "config.xml"))
    other, _ = rank(ner_model_dir, tmp_path / "tasks.json", tmp_path / "c", "--strategy", "random", "--seed", "4",
                    "--label-config", str(tmp_path / "config.xml"))
    assert [t["id"] for t in first] == [t["id"] for t in again] != [t["id"] for t in other]
    assert all(t["data"]["ward"] == "B" for t in first)
    regions = [r for t in first for r in t["predictions"][0]["result"]]
    assert regions and all((r["from_name"], r["to_name"], r["value"]["labels"]) == ("ents", "note", ["PER"])
                           for r in regions)


def test_conll_and_brat_pools(ner_model_dir, tmp_path):
    (tmp_path / "pool.txt").write_text("-DOCSTART- O\n\nAnna O\nleft O\nBerlin O\n\nJohn O\nGarcia O\n")
    _, records = rank(ner_model_dir, tmp_path / "pool.txt", tmp_path / "a", "--conll", "--strategy", "entropy")
    assert sorted(r["text"] for r in records) == ["Anna left Berlin", "John Garcia"]
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "n1.txt").write_text("Anna left Berlin.\n")
    (folder / "n1.ann").write_text("")
    _, records = rank(ner_model_dir, folder, tmp_path / "b")
    assert [(r["file"], r["text"]) for r in records] == [("n1.txt", "Anna left Berlin.\n")]


def test_a_bad_pool_is_named(ner_model_dir, tmp_path, capsys):
    (tmp_path / "pool.jsonl").write_text('{"text": "Anna"}\n{"id": 2}\n')
    assert cli.main(["rank", str(ner_model_dir), str(tmp_path / "pool.jsonl"), "--out", str(tmp_path)]) == 1
    assert 'pool.jsonl:2: expected a JSON object with a "text" field' in capsys.readouterr().err
