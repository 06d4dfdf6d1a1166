"""Losses and class weights for imbalanced few-shot classification.

Class weights (numpy, no torch needed):

- ``"inverse"``: ``w_c ∝ 1 / n_c`` - every class contributes the same total weight;
- ``"sqrt_inverse"``: ``w_c ∝ 1 / sqrt(n_c)`` - a milder correction;
- ``"effective"``: ``w_c ∝ (1 - β) / (1 - β ** n_c)``, the inverse *effective number of samples*
  of Cui et al. (2019), "Class-Balanced Loss Based on Effective Number of Samples". ``β → 0``
  gives uniform weights, ``β → 1`` gives ``"inverse"``. With the tens of examples per class of
  few-shot data, ``β`` must be well below the paper's 0.999-0.9999 to differ from ``"inverse"``.

Weights are normalised so that they sum to the number of classes (the paper's convention). The
weighted losses below divide by the total weight of the batch, so the scale does not matter.

Focal loss (Lin et al. 2017): ``FL(p_t) = -α_t (1 - p_t) ** γ log p_t``; with ``γ = 0`` and no
``α`` it is cross-entropy, with ``γ = 0`` and ``α = w`` it is weighted cross-entropy.

Example::

    import numpy as np
    from fewshot.losses import class_weights
    class_weights(np.array([0, 0, 0, 1]), "inverse")   # array([0.5, 1.5])
"""

from __future__ import annotations

import numpy as np

CLASS_WEIGHT_SCHEMES = ("inverse", "sqrt_inverse", "effective")


def class_counts(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Examples per class: ``y`` holds class ids (single-label) or a 0/1 matrix (multi-label)."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y.sum(axis=0).astype(np.float64)
    return np.bincount(y.astype(np.int64), minlength=n_classes).astype(np.float64)


def weights_from_counts(counts, scheme: str = "inverse", beta: float = 0.99) -> np.ndarray:
    """Per-class weights from per-class counts, normalised to sum to the number of classes.

    ``scheme`` is one of ``"inverse"``, ``"sqrt_inverse"``, ``"effective"`` (which uses ``beta``,
    ``0 <= beta < 1``). A class with no examples gets weight 0 (it never appears in the loss).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array of per-class counts; got shape {counts.shape}.")
    if np.any(counts < 0):
        raise ValueError(f"counts must be non-negative; got {counts.tolist()}.")
    present = counts > 0
    if not present.any():
        raise ValueError("every class count is 0; there is nothing to weight.")
    raw = np.zeros_like(counts)
    n = counts[present]
    if scheme == "inverse":
        raw[present] = 1.0 / n
    elif scheme == "sqrt_inverse":
        raw[present] = 1.0 / np.sqrt(n)
    elif scheme == "effective":
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1) for the effective number of samples; got {beta!r}.")
        raw[present] = (1.0 - beta) / (1.0 - np.power(beta, n))
    else:
        raise ValueError(f"unknown class weight scheme {scheme!r}; choose one of {', '.join(CLASS_WEIGHT_SCHEMES)}.")
    return raw * (len(counts) / raw.sum())


def class_weights(y: np.ndarray, scheme: str = "inverse", n_classes: int | None = None,
                  beta: float = 0.99) -> np.ndarray:
    """Per-class weights for class ids ``y`` (see :func:`weights_from_counts`)."""
    y = np.asarray(y)
    if n_classes is None:
        n_classes = y.shape[1] if y.ndim == 2 else int(y.max()) + 1
    return weights_from_counts(class_counts(y, n_classes), scheme, beta)


def positive_weights(Y: np.ndarray, scheme: str = "inverse", beta: float = 0.99) -> np.ndarray:
    """Multi-label: a ``pos_weight`` per label for binary cross-entropy.

    Each label is a two-class problem (absent, present); its two class weights come from
    :func:`weights_from_counts` and ``pos_weight`` is their ratio ``w_present / w_absent``
    (``"inverse"``: ``n_absent / n_present``). A label that is always or never present gets 1.
    """
    Y = np.asarray(Y, dtype=np.float64)
    pos = Y.sum(axis=0)
    neg = Y.shape[0] - pos
    out = np.ones(Y.shape[1])
    for j in range(Y.shape[1]):
        if pos[j] > 0 and neg[j] > 0:
            w_neg, w_pos = weights_from_counts([neg[j], pos[j]], scheme, beta)
            out[j] = w_pos / w_neg
    return out


def sample_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-example sampling weights that balance classes in expectation (for oversampling).

    Single-label: ``1 / n_c`` of the example's class. Multi-label: ``1 / n_c`` of the example's
    rarest label (examples with no label form their own group).
    """
    y = np.asarray(y)
    if y.ndim == 2:
        counts = y.sum(axis=0)
        inv = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
        per_row = (y * inv[None, :]).max(axis=1)
        empty = y.sum(axis=1) == 0
        if empty.any():
            per_row[empty] = 1.0 / empty.sum()
        return per_row.astype(np.float64)
    counts = np.bincount(y.astype(np.int64), minlength=n_classes).astype(np.float64)
    return 1.0 / counts[y.astype(np.int64)]


# --------------------------------------------------------------------------- torch losses
def focal_loss(logits, target, gamma: float = 2.0, weight=None):
    """Multi-class focal loss, averaged over the batch.

    ``logits`` ``(n, C)``, ``target`` ``(n,)`` class ids, optional per-class ``weight`` ``(C,)``
    (the α of the paper). ``-Σ α_t (1 - p_t) ** γ log p_t / Σ α_t`` (plain mean when no weight),
    which equals ``torch.nn.functional.cross_entropy(logits, target, weight=weight)`` at γ = 0.
    """
    import torch
    import torch.nn.functional as F

    log_p = F.log_softmax(logits.float(), dim=-1)
    log_pt = log_p.gather(1, target.long().unsqueeze(1)).squeeze(1)
    pt = log_pt.exp()
    loss = -((1.0 - pt).clamp(min=0.0) ** gamma) * log_pt
    if weight is None:
        return loss.mean()
    alpha = torch.as_tensor(weight, dtype=loss.dtype, device=loss.device)[target.long()]
    return (alpha * loss).sum() / alpha.sum()


def binary_focal_loss(logits, target, gamma: float = 2.0, pos_weight=None):
    """Multi-label focal loss on independent sigmoids, averaged over examples and labels.

    ``logits`` and ``target`` ``(n, L)``; optional ``pos_weight`` ``(L,)`` multiplies the positive
    term as in ``binary_cross_entropy_with_logits``, which this equals at γ = 0.
    """
    import torch
    import torch.nn.functional as F

    logits, target = logits.float(), target.float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    pos_term = target * ((1.0 - p) ** gamma) * log_p
    neg_term = (1.0 - target) * (p ** gamma) * log_not_p
    if pos_weight is not None:
        pos_term = pos_term * torch.as_tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return -(pos_term + neg_term).mean()


SAMPLING_MODES = ("oversampling", "undersampling", "unique")


def pair_similarity_loss(sim, targets, sampling: str = "oversampling", generator=None):
    """SetFit's pair objective on one batch: ``(cos_ij - t_ij) ** 2`` over the pairs ``i < j``.

    ``sim`` is the ``(n, n)`` cosine-similarity matrix of a batch's embeddings, ``targets`` the
    ``(n, n)`` 0/1 matrix of positive pairs (same label). ``sampling`` balances positives and
    negatives as the setfit library does: ``"oversampling"`` averages the two kinds separately and
    weighs them equally; ``"undersampling"`` keeps a random subset of the larger kind as large as
    the smaller (drawn with ``generator``, a torch ``Generator``); ``"unique"`` is the plain mean.
    """
    import torch

    if sampling not in SAMPLING_MODES:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING_MODES)}; got {sampling!r}.")
    n = sim.shape[0]
    iu = torch.triu_indices(n, n, 1, device=sim.device)
    s, t = sim[iu[0], iu[1]], targets[iu[0], iu[1]]
    err = (s - t) ** 2
    pos = t > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if sampling == "unique" or n_pos == 0 or n_neg == 0:
        return err.mean()
    if sampling == "oversampling":
        return 0.5 * err[pos].mean() + 0.5 * err[~pos].mean()
    major, minor = (pos, ~pos) if n_pos > n_neg else (~pos, pos)
    major_idx = torch.nonzero(major).flatten()
    keep = major_idx[torch.randperm(len(major_idx), generator=generator).to(sim.device)[: int(minor.sum())]]
    return torch.cat([err[minor], err[keep]]).mean()


def _pair_similarity_loss_class():
    import torch

    class PairSimilarityLoss(torch.nn.Module):
        """SetFit's contrastive objective as a loss module: a batch's embeddings and pair targets in,
        the balanced cosine-similarity regression of :func:`pair_similarity_loss` out.

        Example::

            loss_fn = PairSimilarityLoss(sampling="oversampling", generator=torch.Generator().manual_seed(0))
            loss = loss_fn(embeddings, targets)   # embeddings (n, d), targets (n, n) 0/1
        """

        def __init__(self, sampling: str = "oversampling", generator=None):
            super().__init__()
            if sampling not in SAMPLING_MODES:
                raise ValueError(f"sampling must be one of {', '.join(SAMPLING_MODES)}; got {sampling!r}.")
            self.sampling = sampling
            self.generator = generator

        def forward(self, embeddings, targets):
            emb = torch.nn.functional.normalize(embeddings, p=2, dim=-1)
            return pair_similarity_loss(emb @ emb.T, targets, self.sampling, self.generator)

    PairSimilarityLoss.__module__ = __name__
    return PairSimilarityLoss


def __getattr__(name: str):
    # torch loss modules are built on first access, so that the numpy helpers above need no torch
    if name == "PairSimilarityLoss":
        cls = _pair_similarity_loss_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SAMPLING_MODES", "pair_similarity_loss",  # and PairSimilarityLoss, built on first access
    "CLASS_WEIGHT_SCHEMES", "class_counts", "weights_from_counts", "class_weights", "positive_weights",
    "sample_weights", "focal_loss", "binary_focal_loss",
]

IMBALANCE_LOSSES = ("ce", "weighted", "focal")


def imbalance_parameter_rules() -> dict:
    """The parameter rules of the loss options a strategy offers against class imbalance (``loss``,
    ``focal_gamma``, ``class_weight``, ``class_weight_beta``), declared once for every strategy."""
    from ._validate import NONE, Options, Real

    return {
        "loss": Options(*IMBALANCE_LOSSES),
        "focal_gamma": Real(0).described("a non-negative number (0 gives cross-entropy)"),
        "class_weight": (NONE | Options(*CLASS_WEIGHT_SCHEMES)).described(
            f"None or one of {', '.join(CLASS_WEIGHT_SCHEMES)}"),
        "class_weight_beta": Real(0, 1, closed="left"),
    }


def check_class_weight_with_loss(loss: str, class_weight, what: str) -> None:
    """``class_weight`` does nothing with plain cross-entropy: say so instead of ignoring it."""
    if loss == "ce" and class_weight is not None:
        raise ValueError(
            f"class_weight={class_weight!r} has no effect with loss='ce'; use loss='weighted' (or "
            f"loss='focal') to weight {what}, or drop class_weight."
        )
