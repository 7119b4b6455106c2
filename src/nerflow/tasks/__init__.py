"""The tasks, by params' `task`: one class each behind the interface of nerflow.tasks.base.Task.

A task outside this package is named by its import path, `task: mypackage.module:MyTask` in params.yaml (the
module must be importable where the stages run: the project root is). Built-in tasks are imported when asked
for, so that a stage loads only its own task's libraries (seqeval, scikit-learn).
"""

import importlib

from nerflow.params import TASKS
from nerflow.tasks.base import Task

BUILTIN = {name: target for name, (target, _) in TASKS.items()}  # name -> "module:Class"


def task_for(name) -> Task:
    """The task named `name` (or params' `task`, given params; absent: ner): a built-in name or "module:Class"."""
    if isinstance(name, dict):
        name = name.get("task", "ner")
    if not isinstance(name, str) or (name not in BUILTIN and ":" not in name):
        raise ValueError(f"task is {name!r}; expected {', '.join(BUILTIN)}, or module:Class for a task of your own")
    module_name, _, class_name = BUILTIN.get(name, name).partition(":")
    try:
        task_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"task {name!r}: cannot import {class_name} from {module_name} ({error})") from None
    task = task_class()
    if not isinstance(task, Task):
        raise ValueError(f"task {name!r}: {module_name}.{class_name} is not a nerflow.tasks.base.Task")
    task.name = name  # as params named it: the model folder's nerflow.json names it so for `nerflow predict`
    return task
