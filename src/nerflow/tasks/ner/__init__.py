"""Named-entity recognition: the task (task.NER) and its parts.

  formats, conll   the labelled files (CoNLL columns, JSON lines), read into Sentences with IOB2 tags
  tags             tag schemes (IOB1, IOB2, BIOES, BILOU) to and from IOB2
  align            sub-word alignment and windows (long sentences, document context)
  predict          per-word scores from windows, tags, and the Tagger of raw text (text: its words)
  decoding         valid IOB2 sequences (Viterbi)
  metrics, errors  entity-level scores (seqeval) and error analysis
"""

from nerflow.tasks.ner.task import NER

__all__ = ["NER"]
