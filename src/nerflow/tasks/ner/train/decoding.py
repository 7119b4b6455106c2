"""Word tags from per-word label scores, constrained to valid IOB2.

A tagger that picks each word's most probable label on its own (argmax) can emit an I-X that continues no X
entity: after O, after another type, or at the sentence start. conlleval (seqeval's default mode) reads such a
stray I-X as the start of an entity, strict IOB2 drops it, so the two F1s differ by these tags alone.
Constrained decoding picks instead the most probable sequence among those valid in IOB2 (Viterbi over the
per-word log-probabilities, with transitions either allowed or forbidden, no learnt transition scores): it
never emits a stray I-, so both modes score the same entities, and where the argmax is already valid it is
kept as it is.
"""

import numpy as np
import torch


def allowed_transitions(labels: list) -> tuple:
    """(start, transition): start[j] says whether labels[j] may open a sentence, transition[i, j] whether
    labels[j] may follow labels[i]. Only I-X is constrained: it must follow B-X or I-X of the same type.
    Any other label (O, B-X, or a label of no IOB2 form) may come anywhere."""
    inside_type = [label[2:] if label.startswith("I-") else None for label in labels]
    entity_type = [label[2:] if label[:2] in ("B-", "I-") else None for label in labels]
    start = torch.tensor([t is None for t in inside_type])
    transition = torch.tensor([[inside is None or inside == previous for inside in inside_type]
                               for previous in entity_type])
    return start, transition


def viterbi(log_probs: torch.Tensor, start: torch.Tensor, transition: torch.Tensor) -> list:
    """The label-id path with the highest total log-probability among the valid ones, for one sentence
    (log_probs: [n_words, n_labels]). A valid argmax path is returned as it is: it is the best valid path, and
    keeping it skips the dynamic programme and any different choice between ties.

    Any per-word shift of the scores leaves the best path unchanged, so logits do as well as log-probabilities.
    One step per word, each an n_labels × n_labels max over (score so far + forbidden transitions as -inf), in
    numpy: on arrays this small each torch call costs several times more. 3,500 sentences of 15 words and 9
    labels (52,500 words), every one needing the dynamic programme, take 0.4 s on the project's 2-core CPU (up to
    1.1 s when the machine is busy; with torch ops, 2.6 s then).
    """
    scores = log_probs.detach().float().cpu().numpy()
    start, transition = start.numpy(), transition.numpy()
    path = scores.argmax(-1)
    if not len(path) or (start[path[0]] and transition[path[:-1], path[1:]].all()):
        return path.tolist()
    forbidden = np.where(transition, 0.0, -np.inf)
    score = np.where(start, scores[0], -np.inf)
    back = np.empty(scores.shape, dtype=np.int64)  # back[t, j]: the best label before label j at word t
    for t in range(1, len(scores)):
        candidates = score[:, None] + forbidden
        back[t] = candidates.argmax(0)
        score = candidates.max(0) + scores[t]
    path = [int(score.argmax())]
    for t in range(len(scores) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def decode(word_log_probs: list, labels: list, constrained: bool) -> list:
    """Tags for each sentence from its [n_words, n_labels] scores: the best valid IOB2 sequence (constrained)
    or each word's most probable label (argmax)."""
    if constrained:
        start, transition = allowed_transitions(labels)
        paths = [viterbi(scores, start, transition) for scores in word_log_probs]
    else:
        paths = [scores.argmax(-1).tolist() for scores in word_log_probs]
    return [[labels[i] for i in path] for path in paths]


def count_stray_inside(tag_sequences) -> int:
    """The I-X tags that continue no X entity (at a sentence start, after O or after another type): each one is
    an extra entity for conlleval and none for strict IOB2."""
    stray = 0
    for tags in tag_sequences:
        previous = "O"
        for tag in tags:
            stray += tag.startswith("I-") and (previous[:2] not in ("B-", "I-") or previous[2:] != tag[2:])
            previous = tag
    return stray
