"""How many CPU threads torch uses in one stage process.

Torch starts one thread per core. Two trainings on one machine (`dvc queue start -j 2`), or one training next to
other busy work, then ask for more threads than there are cores, and they wait on each other: on a 2-core machine
a training step went from 0.4 s to 6-8 s while another process kept one core busy. Each process should use its
share of the cores: `threads` in params.yaml, or OMP_NUM_THREADS in the environment (`OMP_NUM_THREADS=1 dvc queue
start -j 2`), which queued experiments inherit.
"""

import os
import re


def thread_count(params: dict):
    """The threads to use: params `threads`, else OMP_NUM_THREADS, else None (torch's default, one per core)."""
    value, source, default = params.get("threads"), "params.yaml threads", "null"
    if value is None:
        value, source, default = os.environ.get("OMP_NUM_THREADS") or None, "OMP_NUM_THREADS", "unset"
        if value is None:
            return None
    if isinstance(value, bool) or not re.fullmatch(r"\s*[0-9]+\s*", str(value)) or int(value) < 1:
        raise ValueError(f"{source} is {value!r}; expected a whole number of threads, at least 1 "
                         f"({default}: torch's default, one per core)")
    return int(value)


def set_threads(params: dict):
    """Limit torch's intra-op and inter-op threads to thread_count(params); return it (None: left as torch's).

    Call it at the start of a stage's main(), before torch runs anything: torch fixes its inter-op thread pool
    when it is first used.
    """
    count = thread_count(params)
    if count is None:
        return None
    import torch

    torch.set_num_threads(count)
    if torch.get_num_interop_threads() != count:
        try:
            torch.set_num_interop_threads(count)
        except RuntimeError:
            raise RuntimeError(f"cannot set torch's inter-op threads to {count}: torch has already used them. "
                               "Call nerflow.runtime.set_threads at the start of main(), before any torch work") from None
    return count
