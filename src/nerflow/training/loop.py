"""The training loop of every task: fit() trains a model on windows, scoring dev after each epoch and keeping the
best epoch; fine_tune() is the train stage's training, from the base model to the best epoch's weights.

The loop runs on accelerate's Accelerator, so one process, several GPUs or several nodes are the same code
(`torchrun` starts the processes; each batch goes to one process, and DDP averages the gradients). AdamW with
linear warmup and decay, weight decay off for biases and LayerNorm weights, gradient clipping, token-budget
batches (nerflow.training.batching), as transformers' Trainer does them; the Trainer itself has no hook for the
captured GPU step (nerflow.training.captured). Steps:
- CUDA, one process, packable windows: one fixed shape, the whole step captured as a CUDA graph and replayed;
  the loss summed on the device and read every `LOG_EVERY` steps. bf16 autocast, TF32.
- CPU, or several processes: eager steps on padded batches, fp32 on CPU and fully deterministic there (the
  same params and seed give bit-identical weights).

With a checkpoint path, each epoch's end is saved there and a later run with the same fingerprint resumes after
the last complete epoch (nerflow.training.checkpoints).
"""

import contextlib
import math
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import broadcast_object_list
from torch.distributed.algorithms.join import Join
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import enable_full_determinism, get_linear_schedule_with_warmup, set_seed
from transformers.trainer_pt_utils import get_parameter_names

from nerflow.data import store
from nerflow.data.store import Windows
from nerflow.training.batching import TokenBudgetBatchSampler, collate, model_inputs, position_offset
from nerflow.training.captured import CapturedStep, Engine, engine_for, packed_shape
from nerflow.training.checkpoints import fingerprint as checkpoint_fingerprint, resume, save_checkpoint
from nerflow.training.models import load_base_model
from nerflow.training.runtime import autocast_for, device_words, use_fast_attention_kernels
from nerflow.training.tuning import tuning_for

LOG_EVERY = 10  # steps between reads of the training loss (a host sync); step 1 is logged too
NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]  # the Trainer's list


def fine_tune(task, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path, base_model: Path,
              checkpoint: Path = None, progress: bool = True) -> tuple:
    """The train stage's training: the base model with `task`'s new head (LoRA as params say), fitted on the
    train windows of `tokenized`, the epoch chosen on dev by task.dev_scorer. Returns (model with the best epoch's
    weights, not yet merged; TrainingState); on a process of a multi-process run other than the main one, the
    model is None. `task` is the task's train part (nerflow.tasks.train.Train)."""
    model = load_base_model(params, labels, base_model, task.model_class)
    trainable, total = tuning_for(params).parameter_counts(model)
    print(f"train: tuning {params['tuning']}, {trainable:,} of {total:,} parameters trainable "
          f"({100 * trainable / total:.2f}%)")
    windows = Windows(store.read_split(tokenized, "train"), ["input_ids", "labels"])  # memory-mapped
    resumable = {}
    if checkpoint is not None:
        files = [*store.split_files(tokenized, "train"), Path(base_model) / "model.safetensors"]
        # Hashed when first needed (a checkpoint to resume, or the first one saved), not before the first step.
        resumable = dict(checkpoint=checkpoint, fingerprint=cache(partial(checkpoint_fingerprint, params, files)))
    state = fit(model, windows, params, pad_id, task.dev_scorer(params, labels, pad_id, tokenized, processed),
                tokens_per_example=task.batch_unit(windows, processed), progress=progress,
                metric=f"dev_{task.dev_metric}", packable=task.packable, **resumable)
    if state.best_state is None:
        return None, state
    model.load_state_dict(state.best_state)
    return model, state


@dataclass
class TrainingState:
    """What a run has done and keeps: the best epoch's weights and the curves, as (name, step, value) in logging
    order. Saved at each epoch's end (nerflow.training.checkpoints) and resumed from there."""

    best_state: dict = None
    best_epoch: int = 0
    best_score: float = -1.0  # the dev score `evaluate` returns: entity F1 (NER) or accuracy (classification)
    score_by_epoch: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps done (this process)
    computed_tokens: int = 0  # positions the model computed, padding included (this process, this run)
    pending_loss: float = 0.0  # training loss summed over the steps since the last logged one (for resuming)
    pending_steps: int = 0


def optimizer_for(model, params: dict, cuda: bool, capturable: bool):
    decay = set(get_parameter_names(model, [torch.nn.LayerNorm], NO_DECAY))
    groups = [{"params": [p for n, p in model.named_parameters() if n in decay and p.requires_grad],
               "weight_decay": float(params["weight_decay"])},
              {"params": [p for n, p in model.named_parameters() if n not in decay and p.requires_grad],
               "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=tuning_for(params).learning_rate(params), fused=cuda or None,
                             capturable=capturable)


def eager_step(accelerator, model, optimizer, batch: dict, max_grad_norm: float, loss_sum: torch.Tensor, autocast):
    with autocast():
        loss = model(**model_inputs(batch), labels=batch["labels"]).loss
    accelerator.backward(loss)
    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    loss_sum += loss.detach()


def fit(model, windows: list, params: dict, pad_id: int, evaluate, checkpoint: Path = None, fingerprint="",
        engine: Engine = None, progress: bool = True, tokens_per_example: float = None,
        metric: str = "dev_f1", packable: bool = True) -> TrainingState:
    """Train `model` on `windows` ({"input_ids", "labels"}) for params["epochs"] (more on small data: min_steps;
    fewer with patience); `evaluate(model)`, if given, returns (dev score, dev loss) at each epoch's end, logged as
    train/dev_score (`metric` names it in the log). A batch holds about params["batch_size"] x `tokens_per_example` tokens (default: the mean window
    length). Returns the TrainingState (on every process; only the main one's counts)."""
    cuda = torch.cuda.is_available()
    # non_blocking: batches are copied to the GPU while it runs the previous step (pinned memory).
    accelerator = Accelerator(cpu=not cuda, dataloader_config=DataLoaderConfiguration(even_batches=False, non_blocking=cuda))
    engine = engine or engine_for(accelerator.device, accelerator.num_processes, packable)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        use_fast_attention_kernels()
    else:
        enable_full_determinism(params["seed"])  # CPU runs are bit-reproducible
    set_seed(params["seed"])

    sampler, loader = training_loader(accelerator, windows, params, pad_id, engine, position_offset(model),
                                      tokens_per_example)
    model = accelerator.prepare(model)
    optimizer = optimizer_for(model, params, cuda, capturable=engine.capture)
    epochs = planned_epochs(params, len(loader))
    if accelerator.is_main_process:
        print(f"train: on {device_words(accelerator.device, engine.bf16, accelerator.num_processes)}"
              + (", captured fixed-shape steps" if engine.capture else ""), flush=True)
    if epochs > params["epochs"] and accelerator.is_main_process:
        print(f"train: {epochs} epochs, not {params['epochs']}: an epoch is {len(loader)} steps and min_steps is "
              f"{params['min_steps']} (set min_steps: 0 to train exactly epochs; patience may stop it sooner)")
    total = len(loader) * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, round(float(params["warmup_ratio"]) * total), total)
    loss_sum = torch.zeros((), device=accelerator.device)
    autocast = partial(autocast_for, accelerator.device, engine.bf16)
    step_fn = CapturedStep(model, optimizer, float(params["max_grad_norm"]), loss_sum, autocast) if engine.capture else None

    state = TrainingState()
    fingerprint_of = fingerprint if callable(fingerprint) else lambda: fingerprint
    if checkpoint is not None and checkpoint.exists():
        state = TrainingState(**(resume(checkpoint, fingerprint_of(), accelerator, model, optimizer, scheduler) or {}))
    bar = tqdm(total=total, initial=state.step, desc="train", unit="step", dynamic_ncols=True,
               disable=not (progress and accelerator.is_main_process))
    loss_sum.fill_(state.pending_loss)  # a logging window may span an epoch's end, and so a resume
    logged_steps = state.pending_steps
    for epoch in range(state.epoch, epochs):
        if stop_early(accelerator, state, params["patience"]):
            break
        model.train()
        bar.set_description(f"train epoch {epoch + 1}/{epochs}")
        # A process may get one batch more or less than another: the one done first stands in for DDP's gradient
        # exchange until all are done (torch's Join: accelerate's join_uneven_inputs does nothing on CPUs). Only the
        # steps are inside: a barrier there would meet an exchange.
        with Join([model]) if accelerator.num_processes > 1 else contextlib.nullcontext():
            for batch in epoch_batches(sampler, loader, epoch):
                if step_fn is not None:
                    step_fn.set_lr(scheduler.get_last_lr()[0])
                    step_fn(batch)
                else:
                    eager_step(accelerator, model, optimizer, batch, float(params["max_grad_norm"]), loss_sum, autocast)
                scheduler.step()
                state.step += 1
                state.computed_tokens += batch["input_ids"].numel()
                logged_steps += 1
                bar.update()
                if state.step == 1 or state.step % LOG_EVERY == 0:
                    loss = loss_sum.item() / logged_steps  # the one host sync, every LOG_EVERY steps
                    loss_sum.zero_()
                    logged_steps = 0
                    state.history.append(("train/loss", state.step, loss))
                    bar.set_postfix(loss=f"{loss:.4f}")
        end_epoch(accelerator, model, state, epoch + 1, evaluate, bar, metric)
        if checkpoint is not None:
            state.pending_loss, state.pending_steps = loss_sum.item(), logged_steps
            save_checkpoint(checkpoint, fingerprint_of(), accelerator, model, optimizer, scheduler, state)
    bar.close()
    return state


def training_loader(accelerator, windows: list, params: dict, pad_id: int, engine: Engine, offset: int,
                    tokens_per_example: float = None) -> tuple:
    """(sampler, loader): token-budget batches, planned from the windows' lengths and laid out as the engine wants,
    dealt out by accelerate so that each batch goes to one process (uneven counts allowed), which reads only its
    own batches' windows, and on to its device."""
    windows = windows if isinstance(windows, Windows) else Windows(windows)
    sampler = TokenBudgetBatchSampler(windows.lengths, params["batch_size"], params["seed"], tokens_per_example)
    layout = dict(packed=True, **packed_shape(windows.lengths, sampler.batches, engine.row_width),
                  position_offset=offset) if engine.packed else {}
    loader = DataLoader(windows, batch_sampler=sampler, collate_fn=partial(collate, pad_id=pad_id, **layout),
                        pin_memory=accelerator.device.type == "cuda")
    return sampler, accelerator.prepare(loader)


def epoch_batches(sampler, loader, epoch: int):
    """This process's batches of `epoch` (0-based), in the epoch's seeded order."""
    sampler.set_epoch(epoch)  # several processes: the shards read it from the sampler
    loader.set_epoch(epoch)  # one process: accelerate passes its own epoch count to the sampler
    return iter(loader)


def planned_epochs(params: dict, steps_per_epoch: int) -> int:
    """params `epochs`, or more on small data: as many as `min_steps` optimizer steps need (fit says so in the log).
    On 2,000 sentences an epoch is about 60 steps, and 3 epochs stopped the model while it was still learning."""
    return max(params["epochs"], math.ceil((params["min_steps"] or 0) / steps_per_epoch))


def stop_early(accelerator, state: TrainingState, patience) -> bool:
    """True once the dev score has not improved for `patience` epochs (None: never); the main process decides, as only it
    scores dev, and every process follows."""
    decision = [patience is not None and state.epoch - state.best_epoch >= int(patience)]
    if accelerator.num_processes > 1:
        broadcast_object_list(decision)
    return decision[0]


def end_epoch(accelerator, model, state: TrainingState, epoch: int, evaluate, bar, metric: str = "dev_f1") -> None:
    """The dev score once, on the main process, for the weights every process holds (no `evaluate`: nothing to
    score, as in the benchmark)."""
    accelerator.wait_for_everyone()
    state.epoch = epoch
    if evaluate is None or not accelerator.is_main_process:
        return
    score, dev_loss = map(float, evaluate(accelerator.unwrap_model(model)))  # plain floats: checkpoints hold no numpy
    bar.write(f"epoch {epoch}: {metric.replace('_', ' ')} {100 * score:.2f}, dev loss {dev_loss:.4f}")
    state.score_by_epoch[epoch] = score
    # One curve name whatever the task, so that dvc.yaml's plot of it holds for every task.
    state.history += [("train/dev_loss", state.step, dev_loss), ("train/dev_score", epoch, score)]
    if score > state.best_score:
        state.best_score, state.best_epoch = score, epoch
        weights = accelerator.unwrap_model(model).state_dict()
        state.best_state = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}


