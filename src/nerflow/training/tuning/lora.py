"""LoRA (peft): low-rank adapters trained in place of the encoder's weights, merged into them on saving."""

from peft import LoraConfig, TaskType, get_peft_model

LORA_TASKS = {"ForTokenClassification": TaskType.TOKEN_CLS, "ForSequenceClassification": TaskType.SEQ_CLS}  # by class name


def learning_rate(params: dict) -> float:
    """`lora_lr`: the adapters start at zero and few weights move, so they want a larger step than full tuning."""
    return float(params["lora_lr"])


def wrap(model, params: dict, head: list):
    """`model` wrapped by peft, every weight frozen; trained are low-rank adapters on the `lora_targets` modules
    (rank `lora_rank`, scaled by `lora_alpha` / `lora_rank`, dropout `lora_dropout` on their input) and a copy of
    the `head` modules (peft's modules_to_save). Token or sequence classification alike: peft's task type comes
    from the model's class. Training sees a model like any other (fit); `merged` turns it back into a plain one
    to save."""
    task = next((t for suffix, t in LORA_TASKS.items() if type(model).__name__.endswith(suffix)), None)
    if task is None:
        raise ValueError(f"tuning is lora, which wraps token or sequence classification models, not "
                         f"{type(model).__name__}; use tuning: full")
    targets = params["lora_targets"]
    # One module name as a string is a list of one; peft would read a string as a regex over full module paths.
    targets = targets if targets == "all-linear" or isinstance(targets, list) else [targets]
    config = LoraConfig(task_type=task, r=int(params["lora_rank"]),
                        lora_alpha=float(params["lora_alpha"]), lora_dropout=float(params["lora_dropout"]),
                        target_modules=targets, modules_to_save=list(head))
    return get_peft_model(model, config)


def merged(model):
    """The model to save: the adapters merged into the weights they adapt and the trained head in place of the
    original, a plain transformers model (as full fine-tuning gives)."""
    return model.merge_and_unload()


def parameter_counts(model) -> tuple:
    """(trainable, total): the parameters training updates, and those of the model as saved. Every parameter of
    the base model is frozen (peft trains a copy of the head), and the saved model is the base model's shape with
    the adapters merged in: its parameters are the frozen ones."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters() if not p.requires_grad)
