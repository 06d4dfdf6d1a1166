"""LoRA for prompt classification: adapters added to the decoder and trained on the label scores.

:func:`add_lora` injects peft adapters (chosen modules, optionally only the top layers);
:func:`train_adapters` trains them with :class:`fewshot.training.Trainer`, on cross-entropy over the
labels' scores (``"classify"``) or on the label words' language-model loss (``"generate"``);
:func:`load_adapters` puts saved adapters back on a base model; :func:`example_weights` turns
``class_weight`` into per-example loss weights.

Example::

    peft_model = add_lora(lm, r=8, alpha=16, dropout=0.05, target_modules=None, lora_layers=10)
    losses = train_adapters(peft_model, lm, prompts, y, weights, tree=tree, owner=owner, pad_id=pad,
                            objective="classify", label_score="sum", learning_rate=3e-3, epochs=4,
                            batch_size=8, seed=0, device="cpu", show_progress=False)
"""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path

import numpy as np

from .tokens import bucketed_batches, pack

#: The modules adapted when ``target_modules`` is None.
DEFAULT_TARGET_MODULES = ("q_proj", "v_proj")


def linear_module_names(model) -> list[str]:
    """Names of the linear layers inside the decoder (every one but the output projection)."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and module is not head})


@contextlib.contextmanager
def quiet_peft():
    """Scoped: hide the FutureWarning peft 0.21 triggers by reading a property transformers 5 deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def add_lora(lm, *, r: int, alpha: float, dropout: float, target_modules, lora_layers: int | None):
    """Inject LoRA adapters into ``lm`` in place and return the peft model around it.

    ``target_modules``: module names, a pattern, ``"all-linear"`` or None (:data:`DEFAULT_TARGET_MODULES`);
    ``lora_layers``: adapt only that many top decoder layers (None: all). Seed torch around this call:
    it draws the adapters' initial weights.
    """
    from peft import LoraConfig, get_peft_model

    target = target_modules or list(DEFAULT_TARGET_MODULES)
    if target == "all-linear":
        target = linear_module_names(lm)
    elif isinstance(target, str) and target.isidentifier():
        target = [target]
    layers = None
    if lora_layers is not None:
        n_layers = int(lm.config.get_text_config().num_hidden_layers)
        layers = list(range(max(0, n_layers - int(lora_layers)), n_layers))
    config = LoraConfig(r=int(r), lora_alpha=alpha, lora_dropout=float(dropout),
                        target_modules=target if isinstance(target, str) else list(target),
                        layers_to_transform=layers, bias="none", task_type="CAUSAL_LM")
    try:
        with quiet_peft():
            return get_peft_model(lm, config)
    except ValueError as exc:
        raise ValueError(f"cannot add LoRA adapters with target_modules={target!r}: {exc}") from exc


def load_adapters(lm, folder: Path):
    """The peft model of ``lm`` with the adapters saved in ``folder``, frozen, in eval mode."""
    from peft import PeftModel

    with quiet_peft():
        peft_model = PeftModel.from_pretrained(lm, str(folder), is_trainable=False)
    peft_model.eval()
    return peft_model


def example_weights(class_weight, classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's loss weight from ``class_weight`` (None, ``"balanced"`` or a dict label -> weight)."""
    n_classes = len(classes)
    if class_weight is None:
        per_class = np.ones(n_classes)
    elif class_weight == "balanced":
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        per_class = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    else:
        given = class_weight
        per_class = np.ones(n_classes)
        known = {str(c) for c in classes.tolist()}
        unknown = [k for k in given if str(k) not in known]
        if unknown:
            raise ValueError(f"class_weight names label(s) {unknown} that are not in y ({classes.tolist()}).")
        for j, c in enumerate(classes.tolist()):
            key = c if c in given else str(c) if str(c) in given else None
            if key is not None:
                per_class[j] = float(given[key])
    return per_class[y]


def train_adapters(peft_model, lm, prompts: list[list[int]], y: np.ndarray, weights: np.ndarray, *, tree,
                   owner: np.ndarray, pad_id: int, objective: str, label_score: str, learning_rate: float,
                   epochs: int, batch_size: int, seed: int, device, show_progress: bool) -> list[float]:
    """Train the adapters of ``peft_model`` (injected into ``lm``) on ``objective``; returns the loss history.

    ``prompts`` are the inputs' prompt token ids, ``y`` their class indices, ``tree``/``owner`` the label
    continuations and the class of each; a ``"generate"`` example learns its class's first alternative.
    """
    import torch

    from ...training import Trainer
    from .scoring import class_scores, continuation_nll, continuation_scores

    labels = [tree.sequences[int(np.flatnonzero(owner == c)[0])] for c in y]
    tree = tree.to(device)
    lengths = tree.lengths.to(torch.float32)
    per_epoch = math.ceil(len(prompts) / batch_size)
    trainer = Trainer(learning_rate=learning_rate, epochs=epochs, seed=seed, device=device,
                      warmup_ratio=0.0, weight_decay=0.0, max_grad_norm=1.0, show_progress=show_progress,
                      desc="LoRA", seed_torch=False)
    weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
    y_ids = torch.as_tensor(y, dtype=torch.long, device=device)
    row_lengths = [len(p) + len(t) for p, t in zip(prompts, labels)]

    def step(rows: np.ndarray):
        if objective == "classify":
            seq = continuation_scores(lm, [prompts[i] for i in rows], tree, pad_id=pad_id)
            per_example = torch.nn.functional.cross_entropy(
                class_scores(seq / lengths if label_score == "mean" else seq, owner), y_ids[rows],
                reduction="none")
        else:
            ids, mask, targets = pack([prompts[i] for i in rows], [labels[i] for i in rows], pad_id)
            nll = continuation_nll(lm, ids.to(device), mask.to(device), targets)
            per_example = torch.stack([t.mean() if label_score == "mean" else t.sum() for t in nll])
        w = weights[rows].to(per_example.dtype)
        return (per_example * w).sum() / w.sum().clamp_min(1e-12)

    return trainer.fit(peft_model, step, lambda: bucketed_batches(row_lengths, batch_size, trainer.rng),
                       steps_per_epoch=per_epoch)
