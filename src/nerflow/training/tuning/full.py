"""Full fine-tuning: every weight of the model is trained, and the model is saved as it is."""


def learning_rate(params: dict) -> float:
    return float(params["lr"])


def wrap(model, params: dict, head: list):
    return model


def merged(model):
    return model


def parameter_counts(model) -> tuple:
    """(trainable, total): every parameter is both."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
