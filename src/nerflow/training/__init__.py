"""The training engine, the same for every task: token-budget batches and their tensors (batching), the fit loop
with its captured GPU step (loop, captured), the base model and its tokenizer (models, tokenizer), full or LoRA tuning (tuning), resumable
checkpoints (checkpoints), batched prediction (inference), threads, devices and processes (runtime).
A task hands it windows and a dev scorer; it knows nothing of tasks, DVC or the command line."""

IGNORE = -100  # the label of a position the loss skips (transformers' and PyTorch's ignore_index)
