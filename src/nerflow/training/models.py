"""The pretrained encoder with a task's new head, tuned as params' `tuning` says (nerflow.training.tuning). torch,
transformers and peft are imported where used."""


def load_base_model(params: dict, labels: list, folder, model_class):
    """The encoder with `model_class`'s new head (a transformers Auto class; the head drawn from the seed), as
    params `tuning` trains it (nerflow.training.tuning). Weights in fp32 whatever the file holds (an fp16
    or bf16 checkpoint too): the optimizer updates fp32 weights, and bf16 autocast on a GPU computes in half
    precision from them."""
    import torch
    from transformers import set_seed

    from nerflow.training.tuning import tuning_for

    id2label = dict(enumerate(labels))
    overrides = {}
    if params["attention_dropout"] is not None:
        # 0 lets the attention kernels skip materialising the probabilities for dropout (BENCHMARKS.md).
        overrides["attention_probs_dropout_prob"] = float(params["attention_dropout"])
    set_seed(params["seed"])
    model, loading = model_class.from_pretrained(
        folder, num_labels=len(labels), id2label=id2label, label2id={l: i for i, l in id2label.items()},
        attn_implementation="sdpa", output_loading_info=True, dtype=torch.float32, **overrides)
    # The head is what the checkpoint lacks: drawn at random here, it is trained whole whatever the tuning.
    return tuning_for(params).wrap(model, params, head=sorted({key.rsplit(".", 1)[0] for key in loading["missing_keys"]}))
