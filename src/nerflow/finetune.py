"""Fine-tuning: the base model with a new head, and the training loop that the train stage and the benchmark run.

The loop runs on accelerate's Accelerator, so one process, several GPUs or several nodes are the same code
(`accelerate launch` / `torchrun` start the processes; each batch goes to one process, and DDP averages the
gradients). AdamW with linear warmup and decay, weight decay off for biases and LayerNorm weights, gradient
clipping, token-budget batches (nerflow.batching), as transformers' Trainer does them.

Why not the Trainer itself: on a GPU the step must be one fixed shape, captured once as a CUDA graph and
replayed (BENCHMARKS.md: eager steps of a bert-base were bound near 40-50 ms by kernel launches whatever their
size). The Trainer has no hook for a captured step, and the loop is short. So:
- CUDA, one process: batches packed into one fixed shape, the whole step (forward, backward, clipping, fused
  AdamW with the learning rate in a device tensor) captured after a few eager steps and replayed; the loss is
  summed on the device and read every `LOG_EVERY` steps. bf16 autocast, TF32.
- CPU, or several processes: eager steps on padded batches, fp32 on CPU and fully deterministic there (the
  same params and seed give bit-identical weights).

An epoch ends with `evaluate(model)` (dev F1) on the main process; the best epoch's weights are kept. With a
checkpoint path, each epoch's end is saved there (weights, optimizer, schedule, RNG states, best epoch, curves)
and a later run with the same fingerprint resumes after the last complete epoch.
"""

import contextlib
import math
import os
import random
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import broadcast_object_list
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from torch.distributed.algorithms.join import Join
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import AutoModelForTokenClassification, enable_full_determinism, get_linear_schedule_with_warmup, set_seed
from transformers.trainer_pt_utils import get_parameter_names

from nerflow.batching import TokenBudgetBatchSampler, collate, model_inputs, pack_rows, position_offset, round_up
from nerflow.inference import autocast_for, use_fast_attention_kernels

LOG_EVERY = 10  # steps between reads of the training loss (a host sync); step 1 is logged too
WARMUP_STEPS = 3  # eager steps before the capture (lazy initialisation: cuBLAS handles, optimizer state)
NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]  # the Trainer's list


def load_base_model(params: dict, labels: list, folder: str, model_class=AutoModelForTokenClassification):
    """The encoder with a new head (drawn from the seed): token classification, or `model_class`'s; as params
    `tuning` trains it (with_lora). Weights in fp32 whatever the file holds (an fp16 or bf16 checkpoint too):
    the optimizer updates fp32 weights, and bf16 autocast on a GPU computes in half precision from them."""
    id2label = dict(enumerate(labels))
    overrides = {}
    if params.get("attention_dropout") is not None:
        # 0 lets the attention kernels skip materialising the probabilities for dropout (BENCHMARKS.md).
        overrides["attention_probs_dropout_prob"] = float(params["attention_dropout"])
    set_seed(params["seed"])
    model, loading = model_class.from_pretrained(
        folder, num_labels=len(labels), id2label=id2label, label2id={l: i for i, l in id2label.items()},
        attn_implementation="sdpa", output_loading_info=True, dtype=torch.float32, **overrides)
    # The head is what the checkpoint lacks: drawn at random here, it is trained whole whatever the tuning.
    return with_lora(model, params, head=sorted({key.rsplit(".", 1)[0] for key in loading["missing_keys"]}))


TUNINGS = ("full", "lora")
LORA_TASKS = {"ForTokenClassification": TaskType.TOKEN_CLS, "ForSequenceClassification": TaskType.SEQ_CLS}  # by class name


def with_lora(model, params: dict, head: list):
    """`model` as params `tuning` trains it. `full`: the model itself, every weight trained. `lora`: wrapped by peft,
    every weight frozen; trained are low-rank adapters on the `lora_targets` modules (rank `lora_rank`, scaled by
    `lora_alpha` / `lora_rank`, dropout `lora_dropout` on their input) and a copy of the `head` modules (peft's
    modules_to_save). Token or sequence classification alike: peft's task type comes from the model's class.
    Training sees a model like any other (fit); `merged` turns it back into a plain one to save."""
    tuning = params.get("tuning", "full")
    if tuning not in TUNINGS:
        raise ValueError(f"tuning is {tuning!r}; expected full (every weight trained) or lora (low-rank adapters, "
                         "params lora_rank, lora_alpha, lora_dropout, lora_targets)")
    if tuning == "full":
        return model
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
    """The model to save: under LoRA, the adapters merged into the weights they adapt and the trained head in place
    of the original, a plain transformers model (as full fine-tuning gives); any other model as it is."""
    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def parameter_counts(model) -> tuple:
    """(trainable, total): the parameters training updates, and those of the model as saved. Under LoRA every
    parameter of the base model is frozen (peft trains a copy of the head), and the saved model is the base
    model's shape with the adapters merged in: its parameters are the frozen ones."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if not isinstance(model, PeftModel):
        return trainable, sum(p.numel() for p in model.parameters())
    return trainable, sum(p.numel() for p in model.parameters() if not p.requires_grad)


def learning_rate(params: dict) -> float:
    """params `lr`, or `lora_lr` under LoRA: its adapters start at zero and few weights move, so it wants a larger
    step than full fine-tuning."""
    return float(params["lora_lr"] if params.get("tuning") == "lora" else params["lr"])


@dataclass
class Outcome:
    """What a run keeps: the best epoch's weights and the curves, as (name, step, value) in logging order."""

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
    return torch.optim.AdamW(groups, lr=learning_rate(params), fused=cuda or None, capturable=capturable)


class CapturedStep:
    """The training step as one CUDA graph over static input buffers (PyTorch's whole-network capture recipe).

    The first WARMUP_STEPS calls run eagerly on a side stream, then the step is captured once and replayed. The
    learning rate lives in a device tensor that the graph reads (`set_lr` writes it between replays).
    """

    def __init__(self, model, optimizer, max_grad_norm: float, loss_sum: torch.Tensor, autocast):
        self.model, self.optimizer, self.max_grad_norm, self.loss_sum = model, optimizer, max_grad_norm, loss_sum
        self.autocast = autocast
        self.lr = torch.tensor(optimizer.param_groups[0]["lr"], device=loss_sum.device)
        self.static, self.graph, self.calls = None, None, 0

    def set_lr(self, lr: float):
        self.lr.fill_(lr)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr  # a scheduler may have put a float there

    def step(self):
        with self.autocast():
            loss = self.model(**model_inputs(self.static), labels=self.static["labels"]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.loss_sum += loss.detach()

    def __call__(self, batch: dict):
        if self.static is None:
            self.static = {k: v.clone() for k, v in batch.items() if k != "placement"}
        for k, v in self.static.items():
            v.copy_(batch[k], non_blocking=True)
        self.calls += 1
        if self.graph is None and self.calls <= WARMUP_STEPS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.step()
                self.optimizer.zero_grad(set_to_none=True)
            torch.cuda.current_stream().wait_stream(side)
            return
        if self.graph is None:
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):  # records, does not run: replayed just below
                self.step()
        self.graph.replay()


def eager_step(accelerator, model, optimizer, batch: dict, max_grad_norm: float, loss_sum: torch.Tensor, autocast):
    with autocast():
        loss = model(**model_inputs(batch), labels=batch["labels"]).loss
    accelerator.backward(loss)
    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    loss_sum += loss.detach()


def compile_blocks(model, **options) -> None:
    """torch.compile each of the encoder's repeated blocks, in place (regional compilation): the blocks share one
    compiled graph, so compiling costs one block's time, not the network's, and its fused elementwise kernels
    cut the kernels a step launches. Fixed shapes only (packed steps): every new shape would compile again."""
    for blocks in model.modules():
        if isinstance(blocks, torch.nn.ModuleList) and len(blocks) > 1 and len({type(b) for b in blocks}) == 1:
            for block in blocks:
                block.compile(dynamic=False, **options)


def packed_shape(windows: list, batches: list, row_width: int = None) -> dict:
    """The one shape every batch is packed into: one row wide enough for the largest batch (rounded up to 64
    for the matrix units), or rows of `row_width`, as many as the fullest batch needs."""
    if row_width is None:
        return {"rows": 1, "width": round_up(max(sum(len(windows[i]["input_ids"]) for i in b) for b in batches), 64)}
    width = max(row_width, round_up(max(len(w["input_ids"]) for w in windows), 64))
    rows = max(1 + max(r for r, _ in pack_rows([len(windows[i]["input_ids"]) for i in b], width)) for b in batches)
    return {"rows": rows, "width": width}


@dataclass(frozen=True)
class Engine:
    """How steps run: packed (one fixed shape), captured (a CUDA graph), bf16 autocast, torch.compile of the
    repeated blocks."""

    packed: bool = False
    capture: bool = False
    bf16: bool = False
    compile: bool = False
    row_width: int = None  # packed rows this wide (or the longest window); None: one row holds a whole batch


def engine_for(device: torch.device, processes: int, packable: bool = True) -> Engine:
    """The fastest measured way on this device (BENCHMARKS.md): captured fixed-shape steps in rows of 256, bf16,
    on one CUDA device (3 epochs of a bert-base: H100 11.2 s, against 13.6 s in fp32 and 12.5 s with compiled
    blocks and warm caches; H200 10.3 s, against 11.3-11.6 s in one row per batch, 10.6 s in rows of 128); eager
    padded steps on the CPU, or on several processes (DDP's gradient hooks are not captured here), or for windows
    labelled as a whole (`packable` False: a classifier reads each window's first token, which packing moves)."""
    one_gpu = device.type == "cuda" and processes == 1 and packable
    return Engine(packed=one_gpu, capture=one_gpu, bf16=device.type == "cuda" and torch.cuda.is_bf16_supported(),
                  row_width=256 if one_gpu else None)


def fit(model, windows: list, params: dict, pad_id: int, evaluate, checkpoint: Path = None, fingerprint: str = "",
        engine: Engine = None, progress: bool = True, tokens_per_example: float = None,
        metric: str = "dev_f1") -> Outcome:
    """Train `model` on `windows` ({"input_ids", "labels"}) for params["epochs"]; `evaluate(model)`, if given,
    returns (dev score, dev loss) at each epoch's end, logged as train/`metric`. A batch holds about params["batch_size"] x
    `tokens_per_example` tokens (default: the mean window length). Returns the Outcome (on every process; only the main one's counts)."""
    cuda = torch.cuda.is_available()
    # non_blocking: batches are copied to the GPU while it runs the previous step (pinned memory).
    accelerator = Accelerator(cpu=not cuda, dataloader_config=DataLoaderConfiguration(even_batches=False, non_blocking=cuda))
    engine = engine or engine_for(accelerator.device, accelerator.num_processes,
                                  packable=not isinstance(windows[0]["labels"], int))
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
    total = len(loader) * epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, round(float(params["warmup_ratio"]) * total), total)
    loss_sum = torch.zeros((), device=accelerator.device)
    autocast = partial(autocast_for, accelerator.device, engine.bf16)
    if engine.compile:
        compile_blocks(model)
    step_fn = CapturedStep(model, optimizer, float(params["max_grad_norm"]), loss_sum, autocast) if engine.capture else None

    outcome = Outcome()
    if checkpoint is not None and checkpoint.exists():
        outcome = resume(checkpoint, fingerprint, accelerator, model, optimizer, scheduler) or outcome
    bar = tqdm(total=total, initial=outcome.step, desc="train", unit="step", dynamic_ncols=True,
               disable=not (progress and accelerator.is_main_process))
    loss_sum.fill_(outcome.pending_loss)  # a logging window may span an epoch's end, and so a resume
    logged_steps = outcome.pending_steps
    for epoch in range(outcome.epoch, epochs):
        if stop_early(accelerator, outcome, params.get("patience")):
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
                outcome.step += 1
                outcome.computed_tokens += batch["input_ids"].numel()
                logged_steps += 1
                bar.update()
                if outcome.step == 1 or outcome.step % LOG_EVERY == 0:
                    loss = loss_sum.item() / logged_steps  # the one host sync, every LOG_EVERY steps
                    loss_sum.zero_()
                    logged_steps = 0
                    outcome.history.append(("train/loss", outcome.step, loss))
                    bar.set_postfix(loss=f"{loss:.4f}")
        end_epoch(accelerator, model, outcome, epoch + 1, evaluate, bar, metric)
        if checkpoint is not None:
            outcome.pending_loss, outcome.pending_steps = loss_sum.item(), logged_steps
            save_checkpoint(checkpoint, fingerprint, accelerator, model, optimizer, scheduler, outcome)
    bar.close()
    return outcome


def training_loader(accelerator, windows: list, params: dict, pad_id: int, engine: Engine, offset: int,
                    tokens_per_example: float = None) -> tuple:
    """(sampler, loader): token-budget batches, laid out as the engine wants, dealt out by accelerate so that
    each batch goes to one process (uneven counts allowed) and on to its device."""
    lengths = [len(w["input_ids"]) for w in windows]
    sampler = TokenBudgetBatchSampler(lengths, params["batch_size"], params["seed"], tokens_per_example)
    layout = dict(packed=True, **packed_shape(windows, sampler.batches, engine.row_width),
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
    """params `epochs`, or more on small data: as many as `min_steps` optimizer steps need. On 2,000 sentences an
    epoch is about 60 steps, and 3 epochs stopped the model while it was still learning (issue 10)."""
    return max(int(params["epochs"]), math.ceil(int(params.get("min_steps") or 0) / steps_per_epoch))


def stop_early(accelerator, outcome: Outcome, patience) -> bool:
    """True once the dev score has not improved for `patience` epochs (None: never); the main process decides, as only it
    scores dev, and every process follows."""
    decision = [patience is not None and outcome.epoch - outcome.best_epoch >= int(patience)]
    if accelerator.num_processes > 1:
        broadcast_object_list(decision)
    return decision[0]


def end_epoch(accelerator, model, outcome: Outcome, epoch: int, evaluate, bar, metric: str = "dev_f1") -> None:
    """The dev score once, on the main process, for the weights every process holds (no `evaluate`: nothing to
    score, as in the benchmark)."""
    accelerator.wait_for_everyone()
    outcome.epoch = epoch
    if evaluate is None or not accelerator.is_main_process:
        return
    score, dev_loss = evaluate(accelerator.unwrap_model(model))
    bar.write(f"epoch {epoch}: {metric.replace('_', ' ')} {100 * score:.2f}, dev loss {dev_loss:.4f}")
    outcome.score_by_epoch[epoch] = score
    outcome.history += [("train/dev_loss", outcome.step, dev_loss), (f"train/{metric}", epoch, score)]
    if score > outcome.best_score:
        outcome.best_score, outcome.best_epoch = score, epoch
        state = accelerator.unwrap_model(model).state_dict()
        outcome.best_state = {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def rng_states() -> dict:
    return {"python": random.getstate(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def save_checkpoint(path: Path, fingerprint: str, accelerator, model, optimizer, scheduler, outcome: Outcome) -> None:
    """Everything the next epoch depends on, in one file written under a temporary name and renamed: a kill
    leaves the previous complete checkpoint or this one, never a torn file. One file (not accelerate's
    save_state folder) so that this holds."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"fingerprint": fingerprint, "model": accelerator.unwrap_model(model).state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": rng_states(), "outcome": outcome.__dict__}, tmp)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


def resume(path: Path, fingerprint: str, accelerator, model, optimizer, scheduler):
    """The Outcome so far from a checkpoint of the same run (same fingerprint), with model, optimizer, schedule
    and RNG states restored; None (and a message) for a checkpoint of other params or data."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["fingerprint"] != fingerprint:
        if accelerator.is_main_process:
            print(f"train: {path} was written with other params or data; not resuming, training from the start")
        return None
    accelerator.unwrap_model(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    random.setstate(state["rng"]["python"])
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    outcome = Outcome(**state["outcome"])
    if accelerator.is_main_process:
        print(f"train: resuming from {path} after epoch {outcome.epoch} (step {outcome.step})")
    return outcome
