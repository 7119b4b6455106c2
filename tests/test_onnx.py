"""The model as ONNX: exported with dynamic batch and length, run by ONNX Runtime through the same prediction code as
torch (the same words, windows, decoding and offsets); fp32 gives the entities torch gives, int8 is smaller."""

import json
import shutil

import pytest
import torch
from transformers import AutoModelForTokenClassification

from conftest import PEOPLE, PLACES
from nerflow.tools import cli
from nerflow.tools.predict import load
from nerflow.training.onnx import INT8_FILE, SERVED_FILE, OnnxModel, export, optimize, quantize

pytestmark = pytest.mark.slow  # exporting and quantizing a model: seconds each

TEXTS = ["Anna left Berlin.", "John Garcia joined Anna in Zürich and Geneva; London and New York fined cars.",
         "", "😀 Angela Merkel", " ".join(["Anna left Berlin for London and Geneva."] * 30)]  # windowed: > 64 pieces


@pytest.fixture(scope="module")
def exported(ner_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = AutoModelForTokenClassification.from_pretrained(ner_model_dir)
    # As the export stage does: eager attention's graph, fused by ONNX Runtime's optimizer.
    fp32 = export(AutoModelForTokenClassification.from_pretrained(ner_model_dir, attn_implementation="eager"), folder)
    assert optimize(fp32, model.config)  # attention fused
    quantize(fp32, folder / INT8_FILE)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (ner_model_dir / name).exists():
            shutil.copy(ner_model_dir / name, folder / name)
    yield folder, model
    torch.set_num_threads(threads)


def test_onnx_runtime_gives_torchs_logits_at_any_batch_and_length(exported):
    folder, model = exported
    onnx = OnnxModel(folder / "model.onnx", model.config, threads=1)
    for shape in ((1, 5), (3, 37)):
        ids = torch.randint(5, 40, shape)
        mask = torch.ones_like(ids)
        mask[0, shape[1] // 2:] = 0  # padding in the first row
        with torch.inference_mode():
            expected = model(input_ids=ids, attention_mask=mask).logits
        assert torch.allclose(onnx(input_ids=ids, attention_mask=mask).logits, expected, atol=1e-4)
    assert (folder / INT8_FILE).stat().st_size < (folder / "model.onnx").stat().st_size  # a tiny model: embeddings weigh


def test_predict_with_onnx_finds_torchs_entities_at_the_same_characters(exported, ner_model_dir):
    folder, _ = exported
    torch_tagger = load(ner_model_dir, device="cpu")
    onnx_tagger = load(folder, runtime="onnx")
    assert type(onnx_tagger.model).__name__ == "OnnxModel" and load(folder).model.__class__ is OnnxModel  # auto
    expected = torch_tagger(TEXTS)
    assert [[(e["label"], e["start"], e["end"]) for e in found] for found in onnx_tagger(TEXTS)] == \
        [[(e["label"], e["start"], e["end"]) for e in found] for found in expected]
    assert any(len(found) > 10 for found in expected)  # the long text, windowed, has its entities
    # The folder's served variant, as the export stage's rule chose it.
    (folder / SERVED_FILE).write_text(json.dumps({"variant": "int8", "file": INT8_FILE}))
    int8 = load(folder)
    assert int8.model.path.name == INT8_FILE
    found = {(e["label"], e["text"]) for entities in int8(TEXTS[:2]) for e in entities}
    assert found <= {(kind, name) for kind, names in (("PER", PEOPLE), ("LOC", PLACES)) for name in names}
    (folder / SERVED_FILE).unlink()


def test_the_command_line_runs_the_exported_model(exported, ner_model_dir, capsys):
    folder, _ = exported
    assert cli.main(["predict", str(folder), "Anna left Berlin.", "--runtime", "onnx"]) == 0
    assert [(e["label"], e["text"]) for e in json.loads(capsys.readouterr().out)["entities"]] == [
        ("PER", "Anna"), ("LOC", "Berlin")]
    assert cli.main(["predict", str(ner_model_dir), "Anna", "--runtime", "onnx"]) == 1
    assert "holds no model.onnx: `dvc repro export/dvc.yaml`" in capsys.readouterr().err


def test_the_export_stage_scores_times_and_chooses_the_served_variant(tmp_path, tiny_model_dir):
    import sys

    from conftest import FIXTURES, dvc, make_project, run

    env = make_project(tmp_path, FIXTURES / "tiny", tiny_model_dir, top={"epochs": 3},
                       files={split: f"fixture/{split}.txt" for split in ("train", "dev", "test")})
    dvc("repro", cwd=tmp_path, env=env)
    assert not (tmp_path / "models/onnx").exists()  # opt-in: not in the default run
    dvc("repro", "export/dvc.yaml", cwd=tmp_path, env=env)
    report = json.loads((tmp_path / "metrics/export.json").read_text())
    evaluated = json.loads((tmp_path / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        # torch here is what evaluate scored; fp32 ONNX predicts the same tags, so the same F1.
        assert report[split]["torch"] == report[split]["fp32"] == round(100 * evaluated[split]["f1"], 2)
    loss = round(report["dev"]["torch"] - report["dev"]["int8"], 2)
    assert report["served"]["variant"] == ("int8" if loss <= 0.5 else "fp32") and report["served"]["int8_dev_loss"] == loss
    for variant in ("torch", "fp32", "int8"):
        speed = report["speed"][variant]
        assert speed["texts_per_s"] > 0 and speed["tokens_per_s"] > 0
        assert 0 < speed["latency_ms"]["p50"] <= speed["latency_ms"]["p95"]
    files = {"torch": "models/finetuned/model.safetensors", "fp32": "models/onnx/model.onnx",
             "int8": "models/onnx/model.int8.onnx"}
    for variant, path in files.items():  # the tiny model's files are a fraction of an MB: compared as written
        assert report["speed"][variant]["size_mb"] == round((tmp_path / path).stat().st_size / 2 ** 20, 1)
    assert (tmp_path / files["int8"]).stat().st_size < (tmp_path / files["fp32"]).stat().st_size
    served = json.loads((tmp_path / "models/onnx/served.json").read_text())
    assert (tmp_path / "models/onnx" / served["file"]).exists()
    shown = json.loads(dvc("metrics", "show", "--json", cwd=tmp_path, env=env).stdout)
    assert "metrics/export.json" in json.dumps(shown)  # in dvc metrics show, beside eval.json
    texts = "\n".join(" ".join(line.split()[0] for line in block.splitlines() if line.split())
                      for block in (FIXTURES / "tiny/test.txt").read_text().split("\n\n") if "-DOCSTART-" not in block)
    (tmp_path / "texts.txt").write_text(texts + "\n")
    torch_out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/finetuned", "--file", "texts.txt"],
                    tmp_path, env).stdout
    onnx_out = run([sys.executable, "-m", "nerflow.tools.cli", "predict", "models/onnx", "--file", "texts.txt",
                    "--runtime", "onnx"], tmp_path, env).stdout
    if served["variant"] == "fp32":  # the same entities, at the same characters
        assert onnx_out == torch_out
    assert "up to date" in dvc("status", cwd=tmp_path, env=env).stdout
