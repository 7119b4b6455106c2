"""What `nerflow predict`, `nerflow serve` and `nerflow rank` ask of a task (its predict part, nerflow.tasks.<task>.predict,
subclasses Predict): the predictor of a saved model folder, a callable on raw texts; and what a Label Studio
project's labelling config names, which they share across tasks. No stage runs it: editing a predict part reruns
nothing."""

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from nerflow.data.files import sha256_of

class Predict:
    task: str  # the task the model folder's nerflow.json names (set by nerflow.tasks.task_part)
    model_class = None  # the transformers Auto class the model folder is loaded with (the task's Train.model_class)

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        """A callable on raw texts for a saved model (settings: its nerflow.json). What the tools ask of it besides:
        `control` (the Label Studio control its predictions are: "labels", spans, or "choices", a class),
        `model_version`, `predict(texts)` (for each text a dict: the prediction, and "uncertainty"),
        `labelstudio(texts, predictions, config, strategy)` and `predict_records` (nerflow predict's output)."""
        raise NotImplementedError


def model_version(folder) -> str:
    """Which model predicted, for Label Studio's predictions: the model folder's name and the start of its weights'
    sha256 (torch's, or the exported ONNX file it serves; hashed when asked: a few hundred ms for a large model)."""
    from nerflow.training.onnx import served_file

    weights = Path(folder) / "model.safetensors"
    weights = weights if weights.is_file() else served_file(folder)
    return f"nerflow {Path(folder).name}" + (f" {sha256_of(weights)[:12]}" if weights.is_file() else "")


@dataclass(frozen=True)
class LabelConfig:
    """What nerflow needs of a Label Studio project's labelling config: the control (from_name: <Labels> for spans,
    <Choices> for a class) over a <Text> object (to_name) reading the task's data key, and the control's labels."""

    from_name: str = "label"
    to_name: str = "text"
    data_key: str = "text"
    labels: tuple = None  # None: any
    control: str = "labels"

    @property
    def names(self) -> dict:
        return {"from_name": self.from_name, "to_name": self.to_name, "data_key": self.data_key}


def parse_label_config(xml: str, control: str = "labels") -> LabelConfig:
    """The first `control` (labels: <Labels>, choices: <Choices>) over a <Text> object of a labelling config (Label
    Studio's XML; tag names in any case, as Label Studio reads them); ValueError if it has none."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise ValueError(f"the labelling config is not XML ({error})") from None
    tags = list(root.iter())
    texts = {t.get("name"): t for t in tags if str(t.tag).lower() == "text" and t.get("name") and t.get("value")}
    option = control[:-1]  # <Label> in <Labels>, <Choice> in <Choices>
    for tag in tags:
        if str(tag.tag).lower() != control or not tag.get("name"):
            continue
        for to_name in (tag.get("toName") or tag.get("toname") or "").split(","):
            if to_name in texts:
                labels = tuple(item.get("alias") or item.get("value") for item in tag.iter()
                               if str(item.tag).lower() == option and (item.get("alias") or item.get("value")))
                return LabelConfig(tag.get("name"), to_name, texts[to_name].get("value").lstrip("$"), labels or None,
                                   control)
    kind = "Labels" if control == "labels" else "Choices"
    raise ValueError(f"the labelling config has no <{kind}> control over a <Text> object (<{kind} name=\"label\" "
                     f"toName=\"text\"> ... <Text name=\"text\" value=\"$text\"/>): this model "
                     f"{'labels spans of text' if control == 'labels' else 'chooses a class for a text'}")
