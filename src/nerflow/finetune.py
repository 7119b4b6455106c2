"""Fine-tuning pieces shared by the train stage and the benchmark: the base model with a new head, the
Trainer with token-budget batches, and the TrainingArguments for the device.

On CUDA: bf16 autocast, TF32 matmuls, fused AdamW, pinned host memory, PyTorch SDPA attention (the
transformers default for BERT), and no host sync per step (the Trainer reads the loss every
`logging_steps`). On CPU: fp32 and full determinism, so that the same params give the same metrics.
"""

import torch
from torch.utils.data import DataLoader
from transformers import AutoModelForTokenClassification, Trainer, TrainingArguments, set_seed

from nerflow.batching import TokenBudgetBatchSampler
from nerflow.inference import use_fast_attention_kernels


class NerTrainer(Trainer):
    """Trainer whose training batches hold about the same number of tokens (see nerflow.batching)."""

    def get_train_dataloader(self) -> DataLoader:
        use_fast_attention_kernels()
        sampler = TokenBudgetBatchSampler([len(w["input_ids"]) for w in self.train_dataset],
                                          self.args.per_device_train_batch_size, self.args.seed)
        loader = DataLoader(self.train_dataset, batch_sampler=sampler, collate_fn=self.data_collator,
                            pin_memory=self.args.dataloader_pin_memory)
        return self.accelerator.prepare(loader)


def training_options(params: dict, output_dir: str, cuda: bool) -> dict:
    """TrainingArguments for this device, as a dict (so both branches can be checked on any machine)."""
    return dict(
        output_dir=output_dir,
        learning_rate=float(params["lr"]),
        num_train_epochs=params["epochs"],
        per_device_train_batch_size=params["batch_size"],
        weight_decay=float(params["weight_decay"]),
        warmup_steps=float(params["warmup_ratio"]),  # a float in [0, 1) is a share of all steps
        lr_scheduler_type="linear",
        max_grad_norm=float(params["max_grad_norm"]),
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        seed=params["seed"],
        full_determinism=not cuda,  # CPU runs are bit-reproducible; GPU kernels are not by default
        bf16=cuda and torch.cuda.is_bf16_supported(),
        tf32=True if cuda else None,
        eval_strategy="no",  # the train stage measures dev F1 itself, mapping windows back to words
        save_strategy="no",
        logging_steps=10,
        logging_first_step=True,
        logging_nan_inf_filter=False,  # it reads the loss on the host every step: a GPU sync per step
        report_to="none",  # curves go through the train stage's DVCLive callback, not the auto-enabled one
        dataloader_pin_memory=cuda,
    )


def training_arguments(params: dict, output_dir: str) -> TrainingArguments:
    return TrainingArguments(**training_options(params, output_dir, torch.cuda.is_available()))


def load_base_model(params: dict, labels: list, folder: str):
    """The encoder with a new token-classification head (drawn from the seed)."""
    id2label = dict(enumerate(labels))
    overrides = {}
    if params.get("attention_dropout") is not None:
        # 0 lets the attention kernels skip materialising the probabilities for dropout (BENCHMARKS.md).
        overrides["attention_probs_dropout_prob"] = float(params["attention_dropout"])
    set_seed(params["seed"])
    return AutoModelForTokenClassification.from_pretrained(
        folder, num_labels=len(labels), id2label=id2label, label2id={l: i for i, l in id2label.items()}, **overrides)
