"""HeadClassifier: a pretrained transformer with a classification or regression head, fine-tuned.

The classic recipe: load an encoder (BERT-style) or a decoder LM with
``AutoModelForSequenceClassification``, put a fresh linear head on it and train on the labeled
examples. Encoders classify from their ``[CLS]`` pooler; decoders from the last non-padding token
(the pad token is set from EOS when the tokenizer has none).

Example::

    from fewshot import HeadClassifier
    clf = HeadClassifier(model="minilm").fit(texts, labels)
    clf.predict(["where is my parcel?"])
    clf.save("models/intent-head")
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import BOOL, DEVICE, MODEL, NONE, SEED, Integer, Options, Real
from ..base import PROBLEMS, BaseClassifier
from ..data import is_pairs
from ..losses import (
    IMBALANCE_LOSSES,
    check_class_weight_with_loss,
    class_weights,
    imbalance_parameter_rules,
    positive_weights,
    sample_weights,
)

LOSSES = IMBALANCE_LOSSES
POSITIVE_INT = Integer(1).described("a positive integer")
# measured with minilm at 8-64 examples per class (benchmarks/results/head_imbalance.md, notes)
DEFAULT_LEARNING_RATES = {"single_label": 5e-5, "regression": 5e-5, "multi_label": 2e-4}
MODEL_DIR = "model"
_PROBLEM_TYPES = {
    "single_label": "single_label_classification",
    "multi_label": "multi_label_classification",
    "regression": "regression",
}


class HeadClassifier(BaseClassifier):
    """Fine-tune a pretrained transformer with a classification (or regression) head.

    Parameters
    ----------
    model : str
        An alias (``"minilm"``, ``"smollm2-135m"``), a local folder or a hub id. Encoders use their
        pooled ``[CLS]`` output; decoders the last non-padding token.
    problem : {"single_label", "multi_label", "regression"}
        ``single_label``: softmax + cross-entropy. ``multi_label``: ``y`` is a list of label lists,
        independent sigmoids + binary cross-entropy, ``predict`` returns the labels whose
        probability reaches ``threshold``. ``regression``: ordinal scores such as CSAT 1-5, one
        output trained with MSE on standardised targets; ``predict`` rounds to the nearest allowed
        value and clips to the seen range, ``predict_values`` gives the continuous value.
    epochs, learning_rate, batch_size, warmup_ratio, weight_decay : training schedule
        AdamW (:class:`fewshot.training.Trainer`) with a linear warm-up over ``warmup_ratio`` of the
        steps, then a linear decay to zero. Few-shot data needs more epochs and a larger
        learning rate than full-data fine-tuning. ``learning_rate=None`` (the default) means 5e-5
        for single-label and regression and 2e-4 for multi-label. Re-checked for single-label on
        validation rows (trec, cr, sst5; ``benchmarks/README.md``, "Defaults re-checked"): at
        k = 32 examples per class 5e-5 beats 2e-4 by 4.0 ± 0.9 points, but at k = 8 (few optimizer
        steps) 2e-4 beats it by 12.6 ± 3.4: with 8 examples per class, pass ``learning_rate=2e-4``.
        Multi-label needs the larger rate: its
        independent sigmoids start at 0.5 and rare labels must move far (demo tags, 5 epochs:
        example-based F1 0.41 at 5e-5, below the majority baseline's 0.43, and 0.77 at 2e-4).
    max_length : int
        Token limit per input (pairs are truncated together).
    loss : {"ce", "weighted", "focal"}
        ``"ce"``: the problem's plain loss (cross-entropy; binary cross-entropy for multi-label; MSE
        for regression). ``"weighted"``: cross-entropy with class weights (``class_weight``,
        default ``"inverse"``); for multi-label a per-label ``pos_weight``. ``"focal"``: focal loss
        ``-α_t (1 - p_t) ** focal_gamma log p_t``, with ``α`` from ``class_weight`` when given.
    focal_gamma : float
        Focusing parameter of the focal loss (0 gives cross-entropy).
    class_weight : {None, "inverse", "sqrt_inverse", "effective"}
        How class weights are computed from the training counts (see :mod:`fewshot.losses`).
    class_weight_beta : float
        β of the ``"effective"`` scheme (Cui et al. 2019), in ``[0, 1)``.
    oversample : bool
        Draw each epoch's batches with a seeded weighted sampler (with replacement) so classes are
        seen equally often in expectation.
    freeze_encoder : bool
        Train only the head; the pretrained body stays as it is.
    lora : bool
        Train LoRA adapters (peft, task type ``SEQ_CLS``) plus the whole head (named in
        ``modules_to_save``). The adapters are merged into the weights after training, so the
        saved folder is a plain transformers model. LoRA needs a much larger learning rate than
        the default: on ``gemma3-270m`` at k = 8 (validation rows of trec, cr and sst5, 3 seeds,
        ``benchmarks/results/tune_head_gemma/tuning.md``) 1e-3 beat 5e-5 by 21.6 ± 3.5 points
        (52.4 against 30.8 accuracy; 2e-4: 38.0), on every draw. 1e-3 was the largest rate
        tried, so pass ``lora=True, learning_rate=1e-3``.
    lora_r, lora_alpha, lora_dropout : LoRA rank, scaling and dropout.
    threshold : float
        Multi-label decision threshold.
    seed : int
        Seeds the head initialisation, dropout and the batch order: a fixed seed gives the same
        model on CPU. The caller's global random state is left as it was.
    device : str
        ``"auto"`` (a GPU when one is present, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        (None, the former default, means ``"auto"``). A saved classifier loads on the CPU when no
        GPU is there.
    show_progress : bool
        Show progress bars while loading and training.

    Example::

        clf = HeadClassifier(loss="focal", class_weight="sqrt_inverse").fit(texts, labels)
        reg = HeadClassifier(problem="regression").fit(texts, [1, 5, 3, 4])
        reg.predict(["It works, more or less."])   # e.g. array([3])
    """

    strategy_name = "head"
    _parameter_rules = {
        "model": MODEL,
        "problem": Options(*PROBLEMS),
        "epochs": POSITIVE_INT,
        "learning_rate": (Real(0, None, closed="neither") | NONE).described(
            "a positive number (e.g. 1e-4) or None (the problem's default)"),
        "batch_size": POSITIVE_INT,
        "warmup_ratio": Real(0, 1, closed="left").described("in [0, 1) (a fraction of the training steps)"),
        "weight_decay": Real(0),
        "max_length": POSITIVE_INT,
        **imbalance_parameter_rules(),
        "oversample": BOOL,
        "freeze_encoder": BOOL,
        "lora": BOOL,
        "lora_r": POSITIVE_INT,
        "lora_alpha": Real(0, None, closed="neither"),
        "lora_dropout": Real(0, 1, closed="left"),
        "threshold": Real(0, 1, closed="neither"),
        "seed": SEED,
        "device": DEVICE,
        "show_progress": BOOL,
    }

    def __init__(
        self,
        *,
        model: str = "minilm",
        problem: str = "single_label",
        epochs: int = 10,
        learning_rate: float | None = None,
        batch_size: int = 8,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        max_length: int = 128,
        loss: str = "ce",
        focal_gamma: float = 2.0,
        class_weight: str | None = None,
        class_weight_beta: float = 0.99,
        oversample: bool = False,
        freeze_encoder: bool = False,
        lora: bool = False,
        lora_r: int = 8,
        lora_alpha: int = 16,
        lora_dropout: float = 0.1,
        threshold: float = 0.5,
        seed: int = 0,
        device: str = "auto",
        show_progress: bool = False,
    ):
        self.model = model
        self.problem = problem
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.max_length = max_length
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.class_weight = class_weight
        self.class_weight_beta = class_weight_beta
        self.oversample = oversample
        self.freeze_encoder = freeze_encoder
        self.lora = lora
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.threshold = threshold
        self.seed = seed
        self.device = device
        self.show_progress = show_progress

    # ----------------------------------------------------------------- hooks
    def _problem(self) -> str:
        return self.problem

    def _check_params(self) -> None:
        super()._check_params()
        check_class_weight_with_loss(self.loss, self.class_weight, "classes")
        if self.problem == "regression":
            if self.loss != "ce":
                raise ValueError(
                    f"loss={self.loss!r} applies to classification; problem='regression' trains with MSE. "
                    "Use loss='ce' (the default) for regression."
                )
            if self.oversample:
                raise ValueError("oversample=True balances classes; it does not apply to problem='regression'.")
        if self.lora and self.freeze_encoder:
            raise ValueError(
                "lora=True and freeze_encoder=True both choose what to train; pick one (LoRA already keeps "
                "the pretrained weights frozen and trains small adapters plus the head)."
            )

    def _fit(self, X: list, y: np.ndarray) -> None:
        from ..models import resolve_model
        from ..training import resolve_device, seeded_torch

        path = resolve_model(self.model, show_progress=self.show_progress)
        device = resolve_device(self.device)
        n_out = 1 if self.problem_ == "regression" else len(self.classes_)
        with seeded_torch(int(self.seed), device):  # the fresh head's and adapters' weights, then dropout
            model, tokenizer, head = _load_model(path, n_out, self.classes_, self.problem_, self.show_progress)
            if self.lora:
                model = _add_lora(model, head, self)
            self._fit_model(model, tokenizer, head, X, y, device)

    def _fit_model(self, model, tokenizer, head: list[str], X: list, y: np.ndarray, device) -> None:
        import torch

        self.head_modules_ = head
        self.pairs_ = is_pairs(X)
        if self.problem_ == "regression":
            self.target_mean_ = float(np.mean(y))
            self.target_std_ = float(np.std(y)) or 1.0
            targets = torch.tensor((y - self.target_mean_) / self.target_std_, dtype=torch.float32)
        elif self.problem_ == "multi_label":
            targets = torch.tensor(y, dtype=torch.float32)
        else:
            targets = torch.tensor(y, dtype=torch.long)
        if self.freeze_encoder:
            for name, param in model.named_parameters():
                param.requires_grad = name.split(".")[0] in head
        model.to(device)

        loss_fn = self._make_loss(y, device)
        encodings = _tokenize(tokenizer, X, self.max_length)
        self.loss_history_ = self._train(model, tokenizer, encodings, targets, loss_fn, device)

        if self.lora:
            model = model.merge_and_unload()
        model.eval()
        self.model_ = model
        self.tokenizer_ = tokenizer
        self.device_ = device

    def _predict_scores(self, X: list) -> np.ndarray:
        return self._forward(X, "predict")[0]

    def _forward(self, X: list, verb: str, *, scores: bool = True, vectors: bool = False):
        """One pass of the model over texts ``X`` (already checked): ``(scores, vectors)``, each None
        unless asked. ``scores`` are ``_predict_scores``' (probabilities, or regression values);
        ``vectors`` are the mean of the last hidden layer over each text's tokens, float32."""
        import torch

        if bool(is_pairs(X)) != bool(self.pairs_):
            kind = "(text, text_pair) pairs" if self.pairs_ else "single texts"
            raise ValueError(f"this classifier was trained on {kind}; pass the same kind of input to {verb}.")
        model, tokenizer = self.model_, self.tokenizer_
        encodings = _tokenize(tokenizer, X, self.max_length)
        order = np.argsort([len(ids) for ids in encodings["input_ids"]], kind="stable")
        out = np.zeros((len(X), 1 if self.problem_ == "regression" else len(self.classes_)), dtype=np.float64) \
            if scores else None
        pooled_all = None
        step = max(32, self.batch_size)
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), step):
                idx = order[start:start + step]
                batch = _collate(tokenizer, encodings, idx, self.device_)
                result = model(**batch, output_hidden_states=vectors)
                if scores:
                    logits = result.logits.float()
                    if self.problem_ == "single_label":
                        probs = torch.softmax(logits, dim=-1)
                    elif self.problem_ == "multi_label":
                        probs = torch.sigmoid(logits)
                    else:
                        probs = logits * self.target_std_ + self.target_mean_
                    out[idx] = probs.cpu().double().numpy()
                if vectors:
                    hidden = result.hidden_states[-1].float()
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                    if pooled_all is None:
                        pooled_all = np.zeros((len(X), pooled.shape[-1]), dtype=np.float32)
                    pooled_all[idx] = pooled.cpu().numpy()
        if out is not None and self.problem_ == "regression":
            out = out[:, 0]
        return out, pooled_all

    def embed(self, X) -> np.ndarray:
        """Text embeddings from the fine-tuned encoder: the mean of the last hidden layer over each
        text's tokens, an ``(n, hidden)`` float32 array. Used by :func:`fewshot.suggest` to cluster a
        pool.

        Example::

            vectors = clf.embed(["where is my parcel?", "refund please"])
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "classes_")
        return self._forward(self._predict_inputs(X), "embed", scores=False, vectors=True)[1]

    def embed_and_predict_proba(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(embed(X), predict_proba(X))`` from one pass of the model over ``X``: the same two arrays
        as the two calls, at about half the cost. :func:`fewshot.suggest`'s ``badge`` method reads both.

        Example::

            vectors, proba = clf.embed_and_predict_proba(["where is my parcel?", "refund please"])
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "classes_")
        scores, vectors = self._forward(self._predict_inputs(X), "embed", vectors=True)
        return vectors, self._as_proba(scores)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from ..compat import save_quietly

        target = folder / MODEL_DIR
        save_quietly(self.model_, target)
        save_quietly(self.tokenizer_, target)
        state: dict[str, Any] = {"model_dir": MODEL_DIR, "head_modules": list(self.head_modules_),
                                 "pairs": bool(self.pairs_), "loss_history": [float(v) for v in self.loss_history_]}
        if self.problem_ == "regression":
            state.update(target_mean=self.target_mean_, target_std=self.target_std_)
        return state

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        from transformers import AutoTokenizer

        from ..compat import load_sequence_classifier
        from ..training import resolve_device

        path = folder / state.get("model_dir", MODEL_DIR)
        model, _ = load_sequence_classifier(str(path), show_progress=self.show_progress)
        device = resolve_device(self.device, fallback_to_cpu=True)
        self.model_ = model.to(device).eval()
        self.tokenizer_ = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        self.device_ = device
        self.head_modules_ = list(state.get("head_modules", []))
        self.pairs_ = bool(state.get("pairs", False))
        self.loss_history_ = [float(v) for v in state.get("loss_history", [])]
        if self.problem_ == "regression":
            self.target_mean_ = float(state["target_mean"])
            self.target_std_ = float(state["target_std"])

    # ----------------------------------------------------------------- training
    def effective_learning_rate(self) -> float:
        """The learning rate training uses: ``learning_rate``, or the problem's default when it is None."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return DEFAULT_LEARNING_RATES[self.problem]

    def _make_loss(self, y: np.ndarray, device):
        """The training loss as a function ``(logits, targets) -> scalar`` for this configuration."""
        import torch
        import torch.nn.functional as F

        from ..losses import binary_focal_loss, focal_loss

        problem, beta = self.problem_, float(self.class_weight_beta)
        if problem == "regression":
            return lambda logits, t: F.mse_loss(logits.squeeze(-1).float(), t)
        scheme = self.class_weight or ("inverse" if self.loss == "weighted" else None)
        gamma = float(self.focal_gamma)
        if problem == "multi_label":
            pw = None
            if scheme is not None:
                pw = torch.tensor(positive_weights(y, scheme, beta), dtype=torch.float32, device=device)
            if self.loss == "focal":
                return lambda logits, t: binary_focal_loss(logits, t, gamma, pos_weight=pw)
            return lambda logits, t: F.binary_cross_entropy_with_logits(logits.float(), t, pos_weight=pw)
        w = None
        if scheme is not None:
            w = torch.tensor(class_weights(y, scheme, len(self.classes_), beta), dtype=torch.float32, device=device)
        if self.loss == "focal":
            return lambda logits, t: focal_loss(logits, t, gamma, weight=w)
        return lambda logits, t: F.cross_entropy(logits.float(), t, weight=w)

    def _train(self, model, tokenizer, encodings, targets, loss_fn, device) -> list[float]:
        """Fine-tune ``model`` with :class:`fewshot.training.Trainer`; returns the mean loss of each epoch."""
        import torch
        from torch.utils.data import RandomSampler, WeightedRandomSampler

        from ..training import Trainer

        n = len(targets)
        bs = int(self.batch_size)
        trainer = Trainer(learning_rate=self.effective_learning_rate(), epochs=int(self.epochs), seed=int(self.seed),
                          device=device, seed_torch=False, warmup_ratio=float(self.warmup_ratio), weight_decay=float(self.weight_decay),
                          show_progress=self.show_progress, desc="training")
        if self.oversample:
            weights = sample_weights(targets.numpy(), len(self.classes_))
            sampler = WeightedRandomSampler(weights.tolist(), num_samples=n, replacement=True,
                                            generator=trainer.generator)
        else:
            sampler = RandomSampler(range(n), generator=trainer.generator)

        def epoch_batches() -> list[np.ndarray]:
            order = np.fromiter(iter(sampler), dtype=np.int64, count=n)
            return [order[start:start + bs] for start in range(0, n, bs)]

        def step(idx: np.ndarray):
            logits = model(**_collate(tokenizer, encodings, idx, device)).logits
            return loss_fn(logits, targets[torch.as_tensor(idx)].to(device))

        return trainer.fit(model, step, epoch_batches)


# --------------------------------------------------------------------------- model helpers
def _load_model(path: str, n_out: int, classes, problem: str, show_progress: bool):
    """The pretrained body with a fresh head of ``n_out`` outputs, its tokenizer, and the head's
    top-level module names (what is newly initialized and what LoRA must keep trainable)."""
    from transformers import AutoTokenizer

    from ..compat import load_sequence_classifier

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                f"the tokenizer of {path} has neither a pad token nor an EOS token to pad with; "
                "set tokenizer.pad_token in the model folder."
            )
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    if problem == "regression":
        id2label = {0: "score"}
    else:
        id2label = {i: str(c) for i, c in enumerate(classes)}
    model, info = load_sequence_classifier(
        path, show_progress=show_progress, num_labels=n_out, id2label=id2label,
        label2id={v: k for k, v in id2label.items()}, problem_type=_PROBLEM_TYPES[problem],
        ignore_mismatched_sizes=True, pad_token_id=tokenizer.pad_token_id,
    )
    model.float()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    head = _head_modules(model)
    fresh = sorted(info["missing_keys"] | info["mismatched_keys"])
    outside = [k for k in fresh if k.split(".")[0] not in head]
    if outside:
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        warnings.warn(
            f"{len(outside)} weight(s) of the pretrained body were not in {path} and start random: {shown}. "
            "Check that the folder holds the model you meant.", stacklevel=3,
        )
    return model, tokenizer, head


def _head_modules(model) -> list[str]:
    """Top-level child modules outside the pretrained body (``classifier``, ``score``, ...)."""
    body = getattr(model, "base_model_prefix", "")
    names = [name for name, child in model.named_children()
             if name != body and any(True for _ in child.parameters())]
    if not names:
        raise ValueError(f"could not find the classification head of {type(model).__name__}.")
    return names


def _add_lora(model, head: list[str], params: HeadClassifier):
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.SEQ_CLS, r=int(params.lora_r), lora_alpha=params.lora_alpha,
        lora_dropout=float(params.lora_dropout), modules_to_save=list(head),
    )
    with warnings.catch_warnings():
        # peft reads a transformers attribute that transformers 5 deprecates; nothing for users to do
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config)


def _tokenize(tokenizer, X: list, max_length: int) -> dict:
    if is_pairs(X):
        first, second = [a for a, _ in X], [b for _, b in X]
        return tokenizer(first, second, truncation=True, max_length=max_length)
    return tokenizer(list(X), truncation=True, max_length=max_length)


def _collate(tokenizer, encodings: dict, idx, device) -> dict:
    features = [{key: values[i] for key, values in encodings.items()} for i in idx]
    batch = tokenizer.pad(features, padding=True, return_tensors="pt")
    return {key: value.to(device) for key, value in batch.items()}


__all__ = ["HeadClassifier", "LOSSES"]
