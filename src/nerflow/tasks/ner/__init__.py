"""Named-entity recognition: a tag for every word (IOB2 inside, any scheme in the files), scored by entity with
seqeval. Its parts, one per stage (nerflow.tasks):

  records.py    Sentence (words, IOB2 tags, document) and the tag schemes (IOB1, IOB2, BIOES, BILOU)
  preprocess/   the readers: CoNLL columns (conll.py), JSON lines of tokens and tags (jsonl.py)
  tokenize/     windows over words (windows.py): long sentences windowed, document context
  train/        the token-classification head; dev scored as evaluate scores (scoring.py, decoding.py, metrics.py)
  evaluate/     dev and test scored, predictions written, errors classified (errors.py)
  predict/      the Tagger of raw text for `nerflow predict`, splitting words as the data did (text.py)
"""
