"""The example params files: what examples/make.py makes from params.yaml, and valid for their task."""

import importlib.util
from pathlib import Path

from nerflow.params import load_params
from nerflow.tasks import task_part

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" / "make.py")
make = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make)


def test_examples_follow_params_yaml_and_name_their_task_data():
    default = load_params(ROOT / "params.yaml")
    for name in make.CHANGES:
        path = ROOT / "examples" / f"{name}.yaml"
        assert path.read_text() == make.example(name), f"run python examples/make.py ({path} is stale)"
        params = load_params(path)
        assert params["task"] == "classification"
        assert task_part(params, "preprocess").read_options(params["dataset"]).columns["label"]
        # Only the task, the data, the epochs and lr (as measured for classification) differ: the rest of the
        # training recipe is the default's.
        own = ("task", "dataset", "epochs", "lr")
        assert {k: v for k, v in params.items() if k not in own} == {k: v for k, v in default.items() if k not in own}
        assert params["lr"] == 1e-4
        assert set(params["dataset"]) == set(default["dataset"])  # every key dvc.yaml names is there
