"""Model families: a WordPiece BERT and a byte-level BPE RoBERTa, through load_tokenizer, encode and the stages.

RoBERTa-style tokenizers mark a word start by the space before it ("ĠParis"); pre-split words have lost that
space, so load_tokenizer must switch add_prefix_space on, or every word would be read as the inside of one.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nerflow.tasks.ner.tokenize.windows import encode
from nerflow.training import IGNORE
from nerflow.training.tokenizer import load_tokenizer
from nerflow.params import load_params

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "fixtures" / "tiny"
FAMILIES = {"bert": "tiny_model_dir", "roberta": "tiny_roberta_dir"}  # family -> fixture of its model folder
LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-ORG", "I-ORG"]
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
# "Johannesburg" and "Kgalagadi" are not in either tiny vocabulary: they split into several pieces.
WORDS = ["Angela", "Merkel", "visited", "Johannesburg", "and", "Kgalagadi", ",", "EU"]
TAGS = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-ORG"]


@pytest.fixture(params=FAMILIES)
def model(request) -> tuple:
    """(family, tiny model folder)"""
    return request.param, request.getfixturevalue(FAMILIES[request.param])


def reads_words_as_in_running_text(tokenizer) -> bool:
    """Whether pre-split words get the pieces the same words get in running text (what the model learnt)."""
    return (tokenizer(WORDS, is_split_into_words=True)["input_ids"]
            == tokenizer(" ".join(WORDS))["input_ids"])


def test_pre_split_words_are_read_as_in_running_text(model):
    assert reads_words_as_in_running_text(load_tokenizer(model[1]))


def test_plain_autotokenizer_misreads_pre_split_roberta_words(tiny_roberta_dir):
    """The fixture is saved like roberta-base (no add_prefix_space): what load_tokenizer is there to fix."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_roberta_dir)
    assert not tokenizer.add_prefix_space and not reads_words_as_in_running_text(tokenizer)
    assert load_tokenizer(tiny_roberta_dir).add_prefix_space


def test_label_on_each_words_first_piece(model):
    family, folder = model
    tokenizer = load_tokenizer(folder)
    [window] = encode(tokenizer, [WORDS], 64, 8, tags=[TAGS], label2id=LABEL2ID)
    word_ids = tokenizer(WORDS, is_split_into_words=True).word_ids()
    assert max(word_ids.count(w) for w in range(len(WORDS))) > 1  # some word has several pieces
    first_pieces = [i for i, w in enumerate(word_ids) if w is not None and w != word_ids[i - 1]]
    assert [word_ids[i] for i in first_pieces] == list(range(len(WORDS)))  # exactly one per word, in order
    assert window["labels"] == [LABEL2ID[TAGS[w]] if i in first_pieces else IGNORE for i, w in enumerate(word_ids)]
    assert window["word_index"] == [w if i in first_pieces else -1 for i, w in enumerate(word_ids)]
    if family == "roberta":  # each first piece carries the word-start marker
        pieces = tokenizer.convert_ids_to_tokens(window["input_ids"])
        assert all(pieces[i].startswith("Ġ") for i in first_pieces)


def test_generic_tokenizer_json_gets_its_pre_tokenizer_fixed(tiny_roberta_dir, tmp_path):
    """A folder naming the generic PreTrainedTokenizerFast (as ModernBERT's does) loads as a generic backend, which
    ignores the add_prefix_space option: load_tokenizer sets it on the pre-tokenizer itself."""
    folder = shutil.copytree(tiny_roberta_dir, tmp_path / "generic")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = load_tokenizer(folder)
    assert "Roberta" not in type(tokenizer).__name__
    assert reads_words_as_in_running_text(tokenizer)


def test_slow_tokenizer_is_refused_with_a_clear_message(tmp_path):
    from transformers import CanineTokenizer  # character-level, no fast version

    CanineTokenizer().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="CanineTokenizer is not a fast tokenizer"):
        load_tokenizer(tmp_path)


# --- the stages, end to end ---------------------------------------------------------------------------------

def words_in(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith("-DOCSTART-"))


@pytest.fixture(scope="module", params=FAMILIES)
def trained(request, tmp_path_factory) -> tuple:
    """(family, project folder) after download, preprocess, tokenize, train and evaluate on the tiny fixture."""
    project = tmp_path_factory.mktemp(f"stages-{request.param}")
    params = load_params(ROOT / "params.yaml")
    params["dataset"] = {"source": "local", "scheme": "iob2", "tag_column": -1,
                         "files": {split: str(TINY / f"{split}.txt") for split in ("train", "dev", "test")}}
    params["model"] = str(request.getfixturevalue(FAMILIES[request.param]))
    params.update(max_length=16, window_overlap=4, epochs=1, min_steps=0, batch_size=4, eval_batch_size=8, lr=5e-4)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for stage in ("download", "preprocess", "tokenize", "train", "evaluate"):
        result = subprocess.run([sys.executable, "-m", f"nerflow.stages.{stage}"], cwd=project, env=env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.fail(f"{request.param}: stage {stage} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return request.param, project


@pytest.mark.slow
def test_stages_score_every_word(trained):
    _, project = trained
    metrics = json.loads((project / "metrics/eval.json").read_text())
    for split in ("dev", "test"):
        assert 0.0 <= metrics[split]["f1"] <= 1.0
        assert metrics[split]["words"] == words_in(TINY / f"{split}.txt")
    # max_length 16 windows the long dev sentence: pieces were mapped back to words across windows too.
    assert json.loads((project / "metrics/tokenize.json").read_text())["dev"]["windowed_sentences"] >= 1


@pytest.mark.slow
def test_saved_model_reads_pre_split_words_through_load_tokenizer(trained):
    family, project = trained
    tokenizer = load_tokenizer(project / "models/finetuned")
    assert reads_words_as_in_running_text(tokenizer)
    assert tokenizer.add_prefix_space == (family == "roberta")


@pytest.mark.slow
def test_saved_tokenizer_config_keeps_add_prefix_space(trained, request):
    """For loaders other than load_tokenizer (transformers' pipeline, AutoTokenizer), the saved folder itself
    should record the setting the model was trained with."""
    family, project = trained
    from transformers import AutoTokenizer

    assert reads_words_as_in_running_text(AutoTokenizer.from_pretrained(project / "models/finetuned"))
