"""Text and pair classification: reading tables (by line), windows, scores and the error report."""

import bz2
import json
from pathlib import Path

import pytest
import torch

from nerflow.params import check_params
from nerflow.tasks import task_part
from nerflow.tasks.classification.evaluate import confusion_records, error_report_markdown, error_summary, scores
from nerflow.tasks.classification.preprocess import ReadOptions, read_examples
from nerflow.tasks.classification.records import Example
from nerflow.tasks.classification.tokenize import encode
from nerflow.training.batching import collate
from nerflow.data.splits import Counts
from nerflow.data.textfiles import DataError

FIXTURES = Path(__file__).parent / "fixtures"
REVIEWS = {"text": "text", "text_pair": None, "label": "category"}
PAIRS = {"text": "sentence1", "text_pair": "sentence2", "label": "gold_label"}


def read(path: Path, columns: dict, name: str, drop=()) -> tuple:
    """(examples, counts) of one file, as the preprocess stage reads it."""
    counts = Counts()
    options = ReadOptions(columns, tuple(drop), quoting="auto")
    return list(read_examples(path, options, name, counts)), counts


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_csv_rows_keep_their_file_line_across_quoted_line_breaks_and_compression(tmp_path):
    examples, counts = read(FIXTURES / "reviews/test.csv", REVIEWS, "test.csv", ["plot"])
    lines = (FIXTURES / "reviews/test.csv").read_text().splitlines()
    dropped = counts.dropped["drop_labels"]
    assert counts.records == len(examples) + dropped
    quoted = next(e for e in examples if e.text.startswith('a "quoted" review,\nover two lines'))
    assert lines[quoted.line - 1].startswith('rotten,"a ""quoted"" review,') or lines[quoted.line - 1].startswith('fresh,"a')
    after = examples[examples.index(quoted) + 1]
    assert after.line == quoted.line + 2 and lines[after.line - 1].endswith(after.text.split()[-1] + ",movie 4")
    assert dropped == sum(line.startswith("plot,") for line in lines) > 0
    assert {e.label for e in examples} == {"fresh", "rotten"}
    # The same table compressed reads the same.
    packed = tmp_path / "test.csv.bz2"
    packed.write_bytes(bz2.compress((FIXTURES / "reviews/test.csv").read_bytes()))
    assert read(packed, REVIEWS, "x", ["plot"])[0] == examples


def test_jsonl_pairs_and_dropped_labels():
    examples, counts = read(FIXTURES / "pairs/test.jsonl", PAIRS, "test.jsonl", ["-"])
    records = [json.loads(line) for line in (FIXTURES / "pairs/test.jsonl").read_text().splitlines()]
    kept = [r for r in records if r["gold_label"] != "-"]
    assert (counts.records, counts.dropped) == (len(records), {"drop_labels": len(records) - len(kept)})
    assert len(records) > len(kept)
    assert [(e.text, e.text_pair, e.label) for e in examples] == [(r["sentence1"], r["sentence2"], r["gold_label"]) for r in kept]
    assert examples[0].line == 1 + next(i for i, r in enumerate(records) if r["gold_label"] != "-")


@pytest.mark.parametrize("content, line, problem", [
    ("category,text\nfresh,good film\nrotten,\n", 3, "empty text"),
    ("category,text\nfresh,good film\nrotten\n", 3, "1 fields, expected 2"),
    ("category,text\nfresh,good film\nrotten,bad,film\n", 3, "3 fields, expected 2"),
    ("category,text\nfresh,good film\n,no label\n", 3, "empty label"),
])
def test_bad_rows_are_named_by_file_and_line(tmp_path, content, line, problem):
    path = write(tmp_path / "train.csv", content)
    with pytest.raises(DataError) as error:
        read(path, REVIEWS, "train.csv", [])
    assert f"train.csv:{line}:" in str(error.value) and problem in str(error.value)


def test_non_utf8_missing_column_and_bad_json_are_named(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes("category\ttext\nfresh\tok\nrotten\tbad caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"train.tsv:3: not UTF-8"):
        read(path, REVIEWS, "train.tsv", [])
    with pytest.raises(DataError, match=r"no column 'category'.*dataset.columns"):
        read(write(tmp_path / "a.csv", "label,text\nx,y\n"), REVIEWS, "a.csv", [])
    with pytest.raises(DataError, match=r"b.jsonl:2: not JSON"):
        read(write(tmp_path / "b.jsonl", '{"text": "a", "label": "x"}\n{oops\n'),
                                     {"text": "text", "text_pair": None, "label": "label"}, "b.jsonl", [])
    with pytest.raises(DataError, match="conll is not a table"):
        read(write(tmp_path / "c.txt", "x"), REVIEWS, "c.txt", [])


def test_read_options_are_the_checked_dataset_keys():
    dataset = check_params({"task": "classification", "dataset": {
        "source": "local", "files": {"train": "t.csv"}, "format": "csv", "columns": PAIRS, "drop_labels": ["-", 3]}})
    options = task_part("classification", "preprocess").read_options(dataset["dataset"])
    assert options == ReadOptions(PAIRS, ("-", "3"), "auto")  # labels as read from a table: text
    with pytest.raises(ValueError, match="task is 'sentiment'"):
        task_part({"task": "sentiment"}, "preprocess")


def test_unknown_dev_label_names_its_line():
    examples = [Example("a", 2, "fresh"), Example("b", 3, "meh"),
                Example("c", 4, "meh")]
    task = task_part("classification", "preprocess")
    found = [f for e in examples for f in task.unknown_labels(e, {"fresh", "rotten"}, "dev.csv")]
    assert found == [("meh", "dev.csv:3"), ("meh", "dev.csv:4")]


def test_long_texts_are_truncated_and_counted_pairs_lose_from_the_longer(tiny_tokenizer):
    long = " ".join(["peter"] * 40)
    examples = [Example("peter said", 1, "b"), Example(long, 2, "a")]
    windows = encode(tiny_tokenizer, examples, 16, {"a": 0, "b": 1})
    assert [w["labels"] for w in windows] == [1, 0]
    assert [w["truncated"] for w in windows] == [False, True] and len(windows[1]["input_ids"]) == 16
    pair = encode(tiny_tokenizer, [Example("peter said", 1, text_pair=long)], 24)[0]
    assert pair["truncated"] and len(pair["input_ids"]) == 24 and "labels" not in pair
    assert tiny_tokenizer.decode(pair["input_ids"]).startswith("[CLS] peter said [SEP]")  # the short text kept whole


def test_scores_by_hand():
    gold, predicted = ["a", "a", "b", "b"], ["a", "b", "b", "b"]
    result = scores(gold, predicted, ["a", "b", "c"])
    assert result["accuracy"] == 0.75 and result["examples"] == 4
    assert result["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert result["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and result["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert result["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)  # every class of train counts


def test_error_summary_and_report_quote_the_most_confident_mistake():
    examples = [Example(t, i + 2, g) for i, (t, g) in enumerate(
        [("fine film", "fresh"), ("so bad", "rotten"), ("bad bad", "rotten"), ("ok", "fresh")])]
    predicted = ["fresh", "fresh", "fresh", "fresh"]
    probabilities = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.7, 0.3]])
    assert error_summary([e.label for e in examples], predicted) == {
        "errors": 2, "confusions": {"rotten -> fresh": 2}}
    quoted = []
    report = error_report_markdown([e.label for e in examples], predicted, probabilities,
                                                  ["fresh", "rotten"], "dev", lambda i: quoted.append(i) or examples[i])
    assert "2 of 4 examples misclassified" in report and "## rotten read as fresh: 2" in report
    assert sorted(quoted) == [1, 2]  # only the examples quoted (the two rotten ones) are read
    assert report.index("line 4 (p=0.80): bad bad") < report.index("line 3 (p=0.60): so bad")
    assert confusion_records(["a", "b"], ["a", "a"]) == [
        {"actual": "a", "predicted": "a"}, {"actual": "b", "predicted": "a"}]


def test_collate_takes_one_label_per_window_and_refuses_to_pack_them():
    windows = [{"input_ids": [2, 5, 3], "labels": 1}, {"input_ids": [2, 3], "labels": 0}]
    batch = collate(windows, pad_id=0)
    assert batch["labels"].tolist() == [1, 0] and batch["input_ids"].shape == (2, 3)
    with pytest.raises(ValueError, match="not packed"):
        collate(windows, pad_id=0, packed=True, width=8)


def test_class_probabilities_come_back_in_input_order_and_equal_one_window_at_a_time(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from nerflow.training.inference import predict_classes

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3).eval()
    windows = [{"input_ids": [2] + list(range(5, 5 + n)) + [3], "labels": n % 3} for n in (9, 1, 5, 12, 3)]
    probabilities, loss = predict_classes(model, windows, batch_size=2, pad_id=0, loss=True)
    with torch.no_grad():
        alone = torch.cat([model(input_ids=torch.tensor([w["input_ids"]])).logits for w in windows])
    torch.testing.assert_close(probabilities, alone.softmax(-1), atol=1e-5, rtol=1e-4)
    expected = torch.nn.functional.cross_entropy(alone, torch.tensor([w["labels"] for w in windows]))
    assert loss == pytest.approx(expected.item(), abs=1e-5)
