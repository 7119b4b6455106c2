"""Classification: a label for a text (sentiment, topic, intent) or for a pair of texts (entailment, paraphrase:
dataset.columns names a second text), scored by accuracy, macro-F1 and per class. Its parts, one per stage
(nerflow.tasks):

  records.py    Example (a text, its pair if any, its label)
  preprocess/   CSV, TSV (read exactly: tables.py) or JSON lines
  tokenize/     one input per example, cut to max_length pieces (counted)
  train/        the sequence-classification head; dev accuracy
  evaluate/     dev and test scored, confusions and the most confident mistakes, predictions written
  predict/      the Classifier of raw texts for `nerflow predict`
"""
