"""The end of each epoch saved to one file, so that a killed run resumes after its last complete epoch and ends
as a run that was never killed (on the CPU, bit-identical).

The file holds tensors, numbers, strings and their lists, tuples and dicts only, and is read back with
`torch.load(weights_only=True)`: PyTorch's restricted unpickler, which builds no other object, so a checkpoint
file cannot run code when it is read.
"""

import hashlib
import json
import os
import random
from pathlib import Path

import torch

from nerflow.data.files import sha256_of


def fingerprint(params: dict, files) -> str:
    """What a checkpoint must match to be resumed: every param, and the bytes of `files` (training data, base
    weights)."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    for path in files:
        digest.update(sha256_of(path).encode())
    return digest.hexdigest()


def rng_states() -> dict:
    return {"python": random.getstate(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def save_checkpoint(path: Path, fingerprint: str, accelerator, model, optimizer, scheduler, state) -> None:
    """Everything the next epoch depends on (`state` is the loop's TrainingState), in one file written under a
    temporary name and renamed: a kill leaves the previous complete checkpoint or this one, never a torn file. One
    file (not accelerate's save_state folder) so that this holds."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"fingerprint": fingerprint, "model": accelerator.unwrap_model(model).state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": rng_states(), "state": dict(vars(state))}, tmp)
        os.replace(tmp, path)
    accelerator.wait_for_everyone()


def resume(path: Path, fingerprint: str, accelerator, model, optimizer, scheduler):
    """The fields of the TrainingState saved in a checkpoint of the same run (same fingerprint), with model,
    optimizer, schedule and RNG states restored; None (and a message) for a checkpoint of other params or data, or
    one that holds more than tensors and plain values."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle.UnpicklingError for anything but tensors and plain values
        if accelerator.is_main_process:
            print(f"train: {path} is not a checkpoint this version reads ({type(error).__name__}); not resuming, "
                  "training from the start")
        return None
    if saved.get("fingerprint") != fingerprint:
        if accelerator.is_main_process:
            print(f"train: {path} was written with other params or data; not resuming, training from the start")
        return None
    accelerator.unwrap_model(model).load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    random.setstate(saved["rng"]["python"])
    torch.set_rng_state(saved["rng"]["torch"])
    if saved["rng"]["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["rng"]["cuda"])
    if accelerator.is_main_process:
        print(f"train: resuming from {path} after epoch {saved['state']['epoch']} (step {saved['state']['step']})")
    return saved["state"]
