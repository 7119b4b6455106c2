import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def build_tiny_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT with a small uncased WordPiece vocabulary (no download)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    words = sorted({line.split()[0].lower() for split in ("train", "dev", "test")
                    for line in (FIXTURES / "tiny" / f"{split}.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("-DOCSTART-")})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    # Whole words only for the first half, so that the rest split into several pieces.
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + letters + ["##" + c for c in letters]
    vocab += [w for w in words[: len(words) // 2] if w not in vocab]
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizer(vocab={piece: i for i, piece in enumerate(vocab)}, do_lower_case=True)  # a fast one
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
