"""The tasks, by params' `task`: each is a package nerflow.tasks.<task> holding one part per stage it runs, so that
the code a stage runs for a task is found by path, and dvc.yaml makes each stage depend on its part alone:

  <task>/__init__.py   what the task is (a docstring)
  <task>/records.py    the processed record (what preprocess writes, tokenize and evaluate read) and its labels
  <task>/preprocess/   Preprocess: the readers of its files                  (subclasses nerflow.tasks.preprocess)
  <task>/tokenize/     Tokenize: records -> model windows                     (nerflow.tasks.tokenize)
  <task>/train/        Train: the model's head, dev scoring, the model card  (nerflow.tasks.train)
  <task>/evaluate/     Evaluate: a split scored, its errors, its predictions  (nerflow.tasks.evaluate)
  <task>/predict/      Predict: a saved model on raw texts, for `nerflow predict` (nerflow.tasks.predict; no stage)

A task of one's own is one more such package, named in params.yaml by its folder name (docs/layout.md). A part is
imported when a stage asks for it, so that a stage loads only its own part's libraries (seqeval, scikit-learn).
"""

import importlib
import re

from nerflow.params import TASK_NAME, TASKS_DIR, known_tasks

STAGES = ("preprocess", "tokenize", "train", "evaluate", "predict")  # the parts of a task; each a class of that name


def task_part(task, stage: str):
    """The `stage` part of a task (a name, or params naming it in `task`): the class `stage.capitalize()` of module
    nerflow.tasks.<task>.<stage>, made, its `task` set to the name."""
    name = task["task"] if isinstance(task, dict) else task
    folder = TASKS_DIR / str(name)
    if not isinstance(name, str) or not re.fullmatch(TASK_NAME, name) or not (folder / stage).is_dir():
        raise ValueError(f"task is {name!r}; expected the name of a task package under src/nerflow/tasks with a "
                         f"{stage} part: {', '.join(known_tasks())}")
    module = importlib.import_module(f"nerflow.tasks.{name}.{stage}")
    part = getattr(module, stage.capitalize())()
    part.task = name
    return part

