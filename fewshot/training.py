"""The one training loop every torch strategy uses.

A strategy supplies what is its own - a module to train, a function that turns one batch into a
loss, and a function that draws one pass of batches - and :class:`Trainer` does the rest, the same
way for all of them:

- AdamW (weight decay on weight matrices only, never on biases and norms);
- a linear warm-up over the first ``warmup_ratio`` of the steps, then a linear decay to zero;
- gradient clipping to ``max_grad_norm`` (None: no clipping);
- batches drawn with generators local to the run (``trainer.rng``, a NumPy ``RandomState``, and
  ``trainer.generator``, a torch ``Generator``), both seeded with ``seed``;
- dropout and other draws from torch's global generator happen inside :func:`seeded_torch`, which
  seeds a forked copy and gives the caller's state back afterwards: training never changes the
  caller's random state, and the same seed gives the same model (a strategy that also initialises
  weights opens one ``seeded_torch`` block around loading and training and passes
  ``seed_torch=False``, so one seed fixes both);
- the mean loss of every epoch (``loss_history``) and of every step (``step_losses``);
- a tqdm progress bar (``show_progress``) and a device (see :func:`resolve_device`).

Example::

    import torch
    from fewshot.training import Trainer

    model = torch.nn.Linear(4, 2)
    X, y = torch.randn(32, 4), torch.randint(0, 2, (32,))
    trainer = Trainer(learning_rate=1e-2, epochs=3, seed=0)
    history = trainer.fit(
        model,
        step=lambda idx: torch.nn.functional.cross_entropy(model(X[idx]), y[idx]),
        batches=lambda: [trainer.rng.permutation(32)[i:i + 8] for i in range(0, 32, 8)],
    )
    len(history)  # 3: the mean loss of each epoch
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np


def resolve_device(device: str | None = "auto", *, fallback_to_cpu: bool = False):
    """The ``torch.device`` a ``device`` parameter names.

    ``"auto"`` (or None) is the first GPU when ``torch.cuda.is_available()``, else the CPU; ``"cpu"``,
    ``"cuda"`` and ``"cuda:N"`` name one. Asking for a GPU that is not there is an error, unless
    ``fallback_to_cpu`` (loading a saved classifier on a machine without a GPU).
    """
    import torch

    from ._validate import DEVICE

    if not DEVICE(device):
        raise ValueError(f"device must be {DEVICE.text}; got {device!r}.")
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            if fallback_to_cpu:
                return torch.device("cpu")
            raise ValueError(f"device={device!r} but torch sees no CUDA GPU here; use device='auto' or 'cpu'.")
        if chosen.index is not None and chosen.index >= count:
            if fallback_to_cpu:
                return torch.device("cuda:0")
            raise ValueError(f"device={device!r} but torch sees {count} GPU(s) (cuda:0 to cuda:{count - 1}).")
    return chosen


def native_bfloat16(device=None, *, cpuinfo: str | None = None) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware rather than emulating them.

    A CUDA GPU: natively from Ampere on (emulation on older GPUs not counted). The CPU (``device``
    None or ``"cpu"``): the instruction sets Linux lists in ``/proc/cpuinfo`` (read once per process,
    or the ``cpuinfo`` text given): AVX512-BF16 or AMX-BF16 on x86, the BF16 extension on Arm.
    Anything else (another OS, Apple GPUs) counts as emulated. Where it is emulated, bfloat16 is
    slow: scoring a decoder in bfloat16 ran at a fifth of float32's speed on an AVX2 CPU (``benchmarks/results/prompt_speed_avx2.md``).

    Example::

        from fewshot.training import native_bfloat16
        native_bfloat16()  # True on e.g. Intel Sapphire Rapids or AMD Zen 4; False on an AVX2 CPU
    """
    import torch

    kind = torch.device(device).type if device is not None else "cpu"
    if kind == "cuda":
        from .compat import cuda_native_bf16

        return cuda_native_bf16()
    if kind != "cpu":
        return False
    if cpuinfo is None:
        cpuinfo = _proc_cpuinfo()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, Arm
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


@functools.lru_cache(maxsize=1)
def _proc_cpuinfo() -> str:
    """/proc/cpuinfo's text, read once: ``precision="auto"`` asks on every scoring call."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:  # not Linux
        return ""


@contextlib.contextmanager
def seeded_torch(seed: int, device=None) -> Iterator[None]:
    """Run the block with torch's global generator seeded with ``seed``, then restore the caller's.

    For what draws from torch's global generator and cannot be given a local one: dropout, and the
    fresh weights ``from_pretrained`` or peft initialise. Uses the public ``torch.random.fork_rng``;
    the CUDA generator of ``device`` is forked and seeded too when it is a GPU.
    """
    import torch

    gpus = _cuda_indices(device)
    with torch.random.fork_rng(devices=gpus):
        torch.default_generator.manual_seed(int(seed))
        for gpu in gpus:
            with torch.cuda.device(gpu):
                torch.cuda.manual_seed(int(seed))
        yield


def _cuda_indices(device) -> list[int]:
    import torch

    if device is None or torch.device(device).type != "cuda":
        return []
    index = torch.device(device).index
    return [torch.cuda.current_device() if index is None else index]


def _forked_torch(device=None):
    """torch's global generator (and ``device``'s, on a GPU) as they stand, given back after the block."""
    import torch

    return torch.random.fork_rng(devices=_cuda_indices(device))


@contextlib.contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Give back Python's, NumPy's and torch's global random states after the block.

    For third-party code that seeds the global generators itself (setfit's ``Trainer`` does).
    """
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def linear_schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """The learning-rate factor of step ``s`` (0-based): ``s / warmup_steps`` during the warm-up, then
    ``(total_steps - s) / (total_steps - warmup_steps)`` down to the last step (the factors of
    transformers' ``get_linear_schedule_with_warmup``; with no warm-up, ``1 - s / total_steps``)."""
    total, warmup = int(total_steps), int(warmup_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


class Trainer:
    """One training run: AdamW, warm-up and decay, clipping, local generators, loss history, progress.

    Parameters
    ----------
    learning_rate : float
        Peak AdamW learning rate.
    epochs : int
        Passes; an epoch is ``steps_per_epoch`` steps (default: the batches of one pass).
    seed : int
        Seeds ``rng`` (NumPy ``RandomState``) and ``generator`` (torch ``Generator``), which the
        strategy's batch function and loss draw from, and torch's global generator inside the run
        (dropout), on a forked copy.
    device : str or torch.device
        Where the module is trained (see :func:`resolve_device`); batches are moved by ``step``.
    warmup_ratio : float
        Fraction of the steps over which the learning rate rises linearly (``int(warmup_ratio *
        total)`` steps, 0 for none) before it decays linearly to zero.
    weight_decay : float
        AdamW weight decay of parameters with two or more dimensions; biases and norms get none.
    max_grad_norm : float or None
        Clip the gradients' total norm to this; None does not clip.
    show_progress : bool
        A tqdm bar over the steps, labelled ``desc``.
    seed_torch : bool
        True: the run draws from torch's global generator (dropout) on a forked copy seeded with
        ``seed``. False: it continues the stream of an enclosing :func:`seeded_torch` block (still on
        a forked copy), for a strategy that initialised weights from that stream just before.
    """

    def __init__(self, *, learning_rate: float, epochs: int, seed: int = 0, device: Any = "cpu",
                 warmup_ratio: float = 0.0, weight_decay: float = 0.0, max_grad_norm: float | None = None,
                 show_progress: bool = False, desc: str = "training", seed_torch: bool = True):
        import torch

        self.learning_rate = float(learning_rate)
        self.epochs = int(epochs)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.warmup_ratio = float(warmup_ratio)
        self.weight_decay = float(weight_decay)
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.show_progress = bool(show_progress)
        self.desc = desc
        self.seed_torch = bool(seed_torch)
        self.rng = np.random.RandomState(self.seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.loss_history: list[float] = []
        self.step_losses: list[float] = []
        self.learning_rates: list[float] = []

    def fit(self, module, step: Callable[[Any], Any], batches: Callable[[], Sequence[Any]], *,
            steps_per_epoch: int | None = None) -> list[float]:
        """Train the parameters of ``module`` that require gradients; returns the mean loss of each epoch.

        ``step(batch)`` returns the batch's scalar loss tensor (forward pass included). ``batches()``
        returns one pass of batches, drawn with ``self.rng`` or ``self.generator``; it is called
        again whenever the batches run out, so with ``steps_per_epoch`` set, an epoch may end inside
        a pass or span several. ``module`` is moved to the device, put in training mode, and left in
        evaluation mode.
        """
        import torch
        from tqdm.auto import tqdm

        module.to(self.device)
        queue = list(batches())
        per_epoch = int(steps_per_epoch) if steps_per_epoch is not None else len(queue)
        total = per_epoch * self.epochs
        params = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        groups = [
            {"params": [p for _, p in params if p.ndim >= 2], "weight_decay": self.weight_decay},
            {"params": [p for _, p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=self.learning_rate)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, linear_schedule(total, int(self.warmup_ratio * total)))
        trainable = [p for _, p in params]
        bar = tqdm(total=total, desc=self.desc, unit="step", disable=not self.show_progress, leave=False)
        module.train()
        try:
            with seeded_torch(self.seed, self.device) if self.seed_torch else _forked_torch(self.device):
                for epoch in range(self.epochs):
                    epoch_total = 0.0
                    for _ in range(per_epoch):
                        if not queue:
                            queue = list(batches())
                        loss = step(queue.pop(0))
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        if self.max_grad_norm is not None:
                            torch.nn.utils.clip_grad_norm_(trainable, self.max_grad_norm)
                        self.learning_rates.append(float(optimizer.param_groups[0]["lr"]))
                        optimizer.step()
                        scheduler.step()
                        value = float(loss.detach())
                        self.step_losses.append(value)
                        epoch_total += value
                        bar.update(1)
                        bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}")
                    self.loss_history.append(epoch_total / max(1, per_epoch))
        finally:
            bar.close()
            optimizer.zero_grad(set_to_none=True)
            module.eval()
        return self.loss_history


__all__ = ["Trainer", "linear_schedule", "preserved_global_rng", "resolve_device", "seeded_torch"]
