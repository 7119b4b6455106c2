"""The fast tokenizer of a model folder, as every stage and `nerflow predict` load it. Without torch: the tokenize
stage and its processes need only the tokenizer."""

import json
from pathlib import Path

from tokenizers.pre_tokenizers import ByteLevel, Metaspace, Sequence


def load_tokenizer(folder):
    """The fast tokenizer of a model folder, set up to mark the start of every pre-split word.

    Byte-level BPE (RoBERTa, DeBERTa, Longformer, BART, GPT-2, ModernBERT, ...) reads "Ġword" as a word start and
    "word" as the inside of one; pre-split words have lost their spaces, so without add_prefix_space each would
    be read as the inside of a word. This is detected on the tokenizer's own pre-tokenizer, not on model names,
    so any model family with such a tokenizer is covered.
    """
    tokenizer_class = named_tokenizer_class(folder)
    tokenizer = tokenizer_class.from_pretrained(folder)
    if not tokenizer.is_fast:
        raise ValueError(f"{folder}: {type(tokenizer).__name__} is not a fast tokenizer; nerflow maps pieces back "
                         "to words (word_ids), which needs one: use a model whose folder has a tokenizer.json")
    if _unmarked_word_starts(tokenizer):
        # The tokenizer's own option first, so that save_pretrained records it in tokenizer_config.json...
        tokenizer = tokenizer_class.from_pretrained(folder, add_prefix_space=True)
        # ...then the pre-tokenizer itself, for classes that ignore the option (a generic tokenizer.json).
        for part in _unmarked_word_starts(tokenizer):
            if isinstance(part, ByteLevel):
                part.add_prefix_space = True
            else:
                part.prepend_scheme = "always"
    return tokenizer


def named_tokenizer_class(folder):
    """The tokenizer class the folder's tokenizer_config.json names, as AutoTokenizer would choose it, imported
    alone: AutoTokenizer imports the model configuration code first, and with it torch (1.5 s and 190 MB more for
    the tokenize stage and its processes, which need no torch). AutoTokenizer where the folder names no class
    transformers has."""
    import transformers

    config = Path(folder) / "tokenizer_config.json"
    name = json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class") if config.is_file() else None
    try:
        return getattr(transformers, name) if isinstance(name, str) else transformers.AutoTokenizer
    except AttributeError:
        return transformers.AutoTokenizer


def _unmarked_word_starts(tokenizer) -> list:
    """The parts of the tokenizer's pre-tokenizer that give a pre-split word no word-start marker."""
    pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
    parts = list(pre_tokenizer) if isinstance(pre_tokenizer, Sequence) else [pre_tokenizer]
    return [part for part in parts
            if isinstance(part, ByteLevel) and not part.add_prefix_space  # "Ġ"
            or isinstance(part, Metaspace) and part.prepend_scheme == "never"]  # sentencepiece's "▁"
