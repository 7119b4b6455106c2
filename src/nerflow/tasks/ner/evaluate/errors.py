"""Entity-level error analysis: what kind of mistake each wrong entity is, per type, with examples.

Entities are read with seqeval's own `get_entities`, so they are exactly the ones seqeval's default (conlleval)
mode scores: an I-X after O (or after another type) starts an X entity. Hence `correct` equals seqeval's true
positives, and `precision == correct / predicted entities`, `recall == correct / gold entities`.

Matching, per sentence:
1. gold and predicted entities with the same span and type are `correct`;
2. the remaining ones that overlap are paired greedily, largest overlap (in words) first, each entity used at
   most once; ties prefer a pair of the same type (a boundary error is the milder reading), then the earlier
   position. A pair is `wrong_type` (same span), `wrong_boundary` (same type) or `wrong_type_and_boundary`;
3. what is left unpaired is `missed` (gold) or `spurious` (predicted). This includes the leftovers of a
   one-to-many overlap: gold PER[0-3] predicted as PER[0-0] + PER[2-3] is one `wrong_boundary` (with [2-3])
   and one `spurious` ([0-0]). So every gold and every predicted entity is in exactly one outcome, and always
       gold entities      == correct + wrong_type + wrong_boundary + wrong_type_and_boundary + missed
       predicted entities == correct + wrong_type + wrong_boundary + wrong_type_and_boundary + spurious.

Outcomes are counted under the gold type, spurious ones under the predicted type.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from seqeval.metrics.sequence_labeling import get_entities

MISSED, SPURIOUS = "missed", "spurious"
PAIR_KINDS = ("wrong_type", "wrong_boundary", "wrong_type_and_boundary")
KINDS = PAIR_KINDS + (MISSED, SPURIOUS)  # error kinds, in report order
CONTEXT_WORDS = 5  # words shown either side of an error in the report's examples
MAX_CONFUSIONS = 10  # lines in the report's "most frequent confusions"


class Entity(NamedTuple):
    type: str
    start: int
    end: int  # inclusive, as in seqeval


@dataclass(frozen=True)
class EntityOutcome:
    sentence: int  # index of the sentence in the split
    kind: str  # "correct" or one of KINDS
    gold: Optional[Entity]  # None for spurious
    predicted: Optional[Entity]  # None for missed

    @property
    def type(self) -> str:
        """The type the outcome is counted under."""
        return self.gold.type if self.gold else self.predicted.type


@dataclass(frozen=True)
class ErrorAnalysis:
    outcomes: tuple  # every gold and predicted entity in exactly one outcome, in file order
    counts: dict = field(init=False)  # kind -> n, "correct" first, then KINDS
    per_type: dict = field(init=False)  # type -> {kind -> n}, types sorted

    def __post_init__(self):
        zero = dict.fromkeys(("correct",) + KINDS, 0)
        counts, per_type = dict(zero), {t: dict(zero) for t in sorted({o.type for o in self.outcomes})}
        for o in self.outcomes:
            counts[o.kind] += 1
            per_type[o.type][o.kind] += 1
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "per_type", per_type)

    @property
    def errors(self) -> list:
        return [o for o in self.outcomes if o.kind != "correct"]


def entities(tags) -> list:
    """Entities of one sentence's IOB2 tags, as seqeval's default mode reads them."""
    return [Entity(*e) for e in get_entities(list(tags))]


def _overlap(a: Entity, b: Entity) -> int:
    return min(a.end, b.end) - max(a.start, b.start) + 1  # words in common; <= 0 when disjoint


def _position(o: EntityOutcome) -> tuple:
    spans = [(e.start, e.end) for e in (o.gold, o.predicted) if e]
    return o.sentence, min(spans), max(spans)


def _classify_sentence(index: int, gold: list, predicted: list) -> list:
    # Lists, not set iteration: the order must not depend on string hashing.
    gold_set, predicted_set = set(gold), set(predicted)
    outcomes = [EntityOutcome(index, "correct", g, g) for g in gold if g in predicted_set]
    gold_left = [g for g in gold if g not in predicted_set]
    pred_left = [p for p in predicted if p not in gold_set]
    candidates = sorted(((g, p) for g in gold_left for p in pred_left if _overlap(g, p) > 0),
                        key=lambda gp: (-_overlap(*gp), gp[0].type != gp[1].type, gp[0].start, gp[1].start))
    gold_paired, pred_paired = set(), set()
    for g, p in candidates:
        if g in gold_paired or p in pred_paired:
            continue
        gold_paired.add(g)
        pred_paired.add(p)
        if (g.start, g.end) == (p.start, p.end):
            kind = "wrong_type"
        else:
            kind = "wrong_boundary" if g.type == p.type else "wrong_type_and_boundary"
        outcomes.append(EntityOutcome(index, kind, g, p))
    outcomes += [EntityOutcome(index, MISSED, g, None) for g in gold_left if g not in gold_paired]
    outcomes += [EntityOutcome(index, SPURIOUS, None, p) for p in pred_left if p not in pred_paired]
    return sorted(outcomes, key=_position)


def classify_errors(gold_seqs: list, pred_seqs: list) -> ErrorAnalysis:
    """Match gold and predicted entities sentence by sentence (see the module docstring)."""
    if len(gold_seqs) != len(pred_seqs) or any(len(g) != len(p) for g, p in zip(gold_seqs, pred_seqs)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    outcomes = []
    for i, (gold, predicted) in enumerate(zip(gold_seqs, pred_seqs)):
        outcomes += _classify_sentence(i, entities(gold), entities(predicted))
    return ErrorAnalysis(tuple(outcomes))


def error_summary(analysis: ErrorAnalysis) -> dict:
    """Error counts for the metrics JSON: overall and per type, each with a total."""
    def kinds(counts):
        errors = {kind: counts[kind] for kind in KINDS}
        return {**errors, "total": sum(errors.values())}

    return {"errors": kinds(analysis.counts), "per_type": {t: kinds(c) for t, c in analysis.per_type.items()}}


def confusion_records(analysis: ErrorAnalysis) -> list:
    """One {"actual", "predicted"} record per outcome (correct ones included), for DVC's confusion template,
    which counts records (it has no weight field): hence one per entity, written as CSV to stay small.

    A missed entity is predicted as "missed", a spurious one is actually "spurious"; boundary errors of the
    right type land on the diagonal, as they do not confuse types.
    """
    return [{"actual": o.gold.type if o.gold else SPURIOUS, "predicted": o.predicted.type if o.predicted else MISSED}
            for o in analysis.outcomes]


def _marked(tokens: list, ents: list, lo: int, hi: int) -> str:
    """Words lo..hi with each entity written as `[w1 w2]TYPE`, `…` where the sentence is cut."""
    starts, ends = {e.start for e in ents}, {e.end: e.type for e in ents}
    words = [("[" if i in starts else "") + tokens[i] + (f"]{ends[i]}" if i in ends else "") for i in range(lo, hi + 1)]
    return " ".join(["…"] * (lo > 0) + words + ["…"] * (hi < len(tokens) - 1))


def _example(o: EntityOutcome, tokens: list, gold: list, predicted: list) -> list:
    spans = [e for e in (o.gold, o.predicted) if e]
    lo = max(min(e.start for e in spans) - CONTEXT_WORDS, 0)
    hi = min(max(e.end for e in spans) + CONTEXT_WORDS, len(tokens) - 1)
    widened = True
    while widened:  # never cut an entity in two: widen the window to whole entities on both lines
        widened = False
        for e in gold + predicted:
            if e.start < lo <= e.end or e.start <= hi < e.end:
                lo, hi, widened = min(lo, e.start), max(hi, e.end), True

    def described(e):
        return f'{e.type} "{" ".join(tokens[e.start:e.end + 1])}"' if e else "(none)"

    return [f"#{o.sentence}: gold {described(o.gold)} -> predicted {described(o.predicted)}",
            f"  gold: {_marked(tokens, gold, lo, hi)}",
            f"  pred: {_marked(tokens, predicted, lo, hi)}"]


def error_report_markdown(tokens_seqs: list, gold_seqs: list, pred_seqs: list, errors: ErrorAnalysis,
                          split_name: str, max_examples: int = 3) -> str:
    """A short markdown report: counts per type and kind, frequent confusions, examples of each kind.

    `errors` is what `classify_errors(gold_seqs, pred_seqs)` returned. Examples are the first errors of each
    kind in file order, at most one per sentence, so the report is the same on every run.
    """
    columns = ("correct",) + KINDS
    lines = [f"# Error analysis: {split_name}", "",
             "| type | " + " | ".join(columns) + " | errors |", "|---|" + "---:|" * (len(columns) + 1)]
    for name, counts in list(errors.per_type.items()) + [("**all**", errors.counts)]:
        cells = [counts[c] for c in columns] + [sum(counts[k] for k in KINDS)]
        lines.append(f"| {name} | " + " | ".join(map(str, cells)) + " |")

    confusions = Counter((r["actual"], r["predicted"], o.kind == "wrong_boundary")
                         for r, o in zip(confusion_records(errors), errors.outcomes) if o.kind != "correct")
    lines += ["", "## Most frequent confusions (gold -> predicted)", ""]
    for (actual, predicted, boundary), n in sorted(confusions.items(), key=lambda c: (-c[1], c[0]))[:MAX_CONFUSIONS]:
        lines.append(f"- {actual} -> {predicted}{' (boundary)' if boundary else ''}: {n}")
    if not confusions:
        lines.append("No errors.")

    lines += ["", f"## Examples (sentence indices count from 0; at most {max_examples} per kind)"]
    for kind in KINDS:
        shown, examples = set(), []
        for o in errors.errors:
            if o.kind == kind and o.sentence not in shown and len(shown) < max_examples:
                shown.add(o.sentence)
                examples += _example(o, tokens_seqs[o.sentence], entities(gold_seqs[o.sentence]),
                                     entities(pred_seqs[o.sentence])) + [""]
        if examples:
            lines += ["", f"### {kind} ({errors.counts[kind]})", "", "```text", *examples[:-1], "```"]
    return "\n".join(lines) + "\n"
