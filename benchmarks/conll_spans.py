"""CoNLL-2003 as an annotation tool would export it: doccano span records over naturally detokenized text, one record
a document, to train the same data through `dataset.format: spans` and compare with the token files.

    python benchmarks/conll_spans.py OUT [--k K]     # after `dvc repro download`: OUT/{train,dev,test}.jsonl

Each document of data/raw/{train,dev,test}.txt becomes {"text", "label": [[start, end, "TYPE"], ...]}: its sentences
joined by line breaks (a Reuters story, a paragraph a line), each detokenized as the text reads: no space before
`,` `.` `;` `:` `!` `?` `%` `)` or a clitic (`'s`, `n't`), none after `(` or `$`, a double quote attached to the
words it encloses. The entities are the IOB2 tags' (as seqeval reads them), their offsets those of their tokens in
the text. With --k, train is written K times over (for the scale benchmark). The Reuters text stays out of git: write
OUT outside the repository, or somewhere git ignores.
"""

import argparse
import json
import sys
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nerflow.tasks.ner.preprocess.conll import read_conll  # noqa: E402

NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", "%", ")", "]", "}", "'s", "'S", "n't", "N'T", "'re", "'ve", "'ll",
                   "'d", "'m", "...", "'"}
NO_SPACE_AFTER = {"(", "[", "{", "$", "``"}


def detokenize(tokens: list) -> tuple:
    """(text, [(start, end) of each token]) of one sentence, spaced as running text."""
    text, offsets, quote_open, glue = "", [], False, True
    for token in tokens:
        if token == '"':
            if quote_open:  # a closing quote: attached to the word before it
                glue = True
            quote_open = not quote_open
        elif token in NO_SPACE_BEFORE:
            glue = True
        if text and not glue:
            text += " "
        offsets.append((len(text), len(text) + len(token)))
        text += token
        glue = token in NO_SPACE_AFTER or (token == '"' and quote_open)
    return text, offsets


def documents(path: Path):
    """Yield the doccano record of each document of a CoNLL file."""
    text, spans, doc = "", [], None
    for sentence in read_conll(path):
        if sentence.doc != doc and doc is not None:
            yield {"text": text, "label": spans}
            text, spans = "", []
        doc = sentence.doc
        if text:
            text += "\n"
        line, offsets = detokenize(sentence.tokens)
        spans += [[len(text) + offsets[first][0], len(text) + offsets[last][1], label]
                  for label, first, last in get_entities(sentence.tags)]  # as seqeval reads IOB2
        text += line
    if doc is not None:
        yield {"text": text, "label": spans}


def write(raw: Path, out: Path, k: int = 1) -> dict:
    """OUT/{split}.jsonl for each split of raw (train K times over); the number of records of each."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split in ("train", "dev", "test"):
        records = list(documents(raw / f"{split}.txt"))
        with open(out / f"{split}.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for _ in range(k if split == "train" else 1):
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
        written[split] = len(records) * (k if split == "train" else 1)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--k", type=int, default=1, help="train written K times over")
    parser.add_argument("--raw", type=Path, default=ROOT / "data" / "raw", help="CoNLL-2003 train/dev/test .txt")
    args = parser.parse_args()
    print(write(args.raw, args.out, args.k))


if __name__ == "__main__":
    main()
