"""SetFitUpstreamClassifier: plain setfit, as a user would write it, behind fewshot's contract.

This is the baseline :class:`~fewshot.strategies.setfit.SetFitClassifier` is measured against:
``SetFitModel.from_pretrained`` plus setfit's ``Trainer``/``TrainingArguments`` with the SetFit
paper's settings (``num_iterations=20``, batch size 16, one epoch, ``CosineSimilarityLoss``, a
scikit-learn logistic-regression head). Wrapping it in the contract lets the benchmark harness
and the CLI run it side by side with the other strategies on the same splits.

Differences from a bare setfit script, all about hygiene rather than results: the Trainer writes
into a temporary folder (no ``./checkpoints``) and reports to no tracker, and ``save`` stores the
body as a sentence-transformers folder and the head's coefficients as safetensors (setfit itself
would pickle the head with joblib). Probabilities are computed from those coefficients with numpy,
so a loaded classifier gives the same probabilities as the fitted one.

Example::

    from fewshot.strategies.setfit_upstream import SetFitUpstreamClassifier

    clf = SetFitUpstreamClassifier(seed=0).fit(texts, labels)
    clf.predict(["the battery died after two days"])
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import BOOL, DEVICE, MODEL, SEED, Integer
from ..base import BaseClassifier
from .setfit import _head_proba

BODY_FOLDER = "body"
HEAD_FILE = "head.safetensors"


class SetFitUpstreamClassifier(BaseClassifier):
    """The setfit library's own training loop with the paper's settings (the baseline).

    Parameters
    ----------
    model : str
        A sentence-transformer alias (``"minilm"``), local folder or hub id.
    num_iterations : int
        setfit's pair budget: ``2 * num_iterations * n_examples`` pairs (paper: 20).
    batch_size : int
        Pairs per training step (paper: 16).
    epochs : int
        Epochs over the pairs (paper: 1).
    multi_label : bool
        ``y`` is a list of label lists; setfit's ``multi_target_strategy="one-vs-rest"``.
    seed : int
        setfit's ``TrainingArguments(seed=...)``. setfit seeds the global random generators itself;
        ``fit`` gives the caller's Python, NumPy and torch random states back afterwards.
    device : str
        ``"auto"`` (a GPU when one is present, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    show_progress : bool
        Show setfit's progress bars.

    Pairs input is not supported (setfit embeds single sentences).

    Example::

        clf = SetFitUpstreamClassifier(num_iterations=20).fit(texts, labels)
    """

    strategy_name = "setfit-upstream"
    supports_pairs = False
    _parameter_rules = {
        "model": MODEL, "num_iterations": Integer(1), "batch_size": Integer(1), "epochs": Integer(1),
        "multi_label": BOOL, "seed": SEED, "device": DEVICE, "show_progress": BOOL,
    }

    def __init__(
        self,
        *,
        model: str = "minilm",
        num_iterations: int = 20,
        batch_size: int = 16,
        epochs: int = 1,
        multi_label: bool = False,
        seed: int = 0,
        device: str = "auto",
        show_progress: bool = False,
    ):
        self.model = model
        self.num_iterations = num_iterations
        self.batch_size = batch_size
        self.epochs = epochs
        self.multi_label = multi_label
        self.seed = seed
        self.device = device
        self.show_progress = show_progress

    def _problem(self) -> str:
        return "multi_label" if self.multi_label else "single_label"

    def _fit(self, X: list, y: np.ndarray) -> None:
        from setfit import SetFitModel

        from ..models import resolve_model
        from ..training import preserved_global_rng, resolve_device

        multi = self.problem_ == "multi_label"
        labels = y.astype(np.int64).tolist() if multi else [int(v) for v in y]
        device = resolve_device(self.device)
        with preserved_global_rng():
            model = SetFitModel.from_pretrained(
                resolve_model(self.model, show_progress=self.show_progress),
                multi_target_strategy="one-vs-rest" if multi else None, device=str(device), trust_remote_code=False,
            )
            self.loss_history_ = self._train(model, X, labels)
        self.setfit_model_ = model
        self.head_kind_, self.coef_, self.intercept_ = _head_arrays(model.model_head, multi)

    def _train(self, model, X: list, labels: list) -> list[float]:
        """setfit's Trainer on the body and head; returns the body losses it logged (every 50 steps)."""
        from datasets import Dataset
        from setfit import Trainer, TrainingArguments

        from ..compat import cosine_similarity_loss

        with tempfile.TemporaryDirectory(prefix="fewshot-setfit-") as tmp:
            args = TrainingArguments(
                output_dir=tmp, num_iterations=int(self.num_iterations), batch_size=int(self.batch_size),
                num_epochs=int(self.epochs), loss=cosine_similarity_loss(), seed=int(self.seed),
                report_to="none", save_strategy="no", show_progress_bar=bool(self.show_progress),
            )
            trainer = Trainer(model=model, args=args, train_dataset=Dataset.from_dict({"text": list(X), "label": labels}))
            trainer.train()
        logged = getattr(getattr(trainer, "state", None), "log_history", None) or []
        return [float(entry["loss"]) for entry in logged if "loss" in entry]

    def _predict_scores(self, X: list) -> np.ndarray:
        embeddings = np.asarray(self.setfit_model_.encode(list(X), show_progress_bar=False), dtype=np.float32)
        return _head_proba(embeddings, self.head_kind_, self.coef_, self.intercept_)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.numpy import save_file

        from ..compat import save_quietly

        save_quietly(self.setfit_model_.model_body, folder / BODY_FOLDER)
        save_file({"coef": np.ascontiguousarray(self.coef_), "intercept": np.ascontiguousarray(self.intercept_)},
                  str(folder / HEAD_FILE))
        return {"body": BODY_FOLDER, "head": HEAD_FILE, "head_kind": self.head_kind_,
                "loss_history": [float(v) for v in self.loss_history_]}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        from safetensors.numpy import load_file
        from setfit import SetFitModel
        from sklearn.linear_model import LogisticRegression

        from ..compat import load_sentence_transformer
        from ..training import resolve_device

        body = load_sentence_transformer(str(folder / state.get("body", BODY_FOLDER)))
        body.to(resolve_device(self.device, fallback_to_cpu=True))
        # The head used for probabilities is ours (numpy over stored coefficients); setfit's
        # model object is kept for `encode` and for users who want the plain setfit API.
        self.setfit_model_ = SetFitModel(model_body=body, model_head=LogisticRegression(),
                                         multi_target_strategy="one-vs-rest" if self.multi_label else None)
        tensors = load_file(str(folder / state.get("head", HEAD_FILE)))
        self.coef_, self.intercept_ = tensors["coef"], tensors["intercept"]
        self.head_kind_ = state["head_kind"]
        self.loss_history_ = [float(v) for v in state.get("loss_history", [])]


def _head_arrays(head, multi_label: bool):
    """(kind, coef, intercept) of setfit's scikit-learn head, for :func:`_head_proba`."""
    if multi_label:
        dim = head.n_features_in_  # OneVsRestClassifier: one estimator per label, a constant one for a constant column
        coef, intercept = np.zeros((len(head.estimators_), dim)), np.zeros(len(head.estimators_))
        for j, est in enumerate(head.estimators_):
            if hasattr(est, "coef_"):
                coef[j], intercept[j] = est.coef_[0], est.intercept_[0]
            else:
                rate = float(np.clip(est.predict(np.zeros((1, dim)))[0], 1e-3, 1 - 1e-3))
                intercept[j] = math.log(rate / (1 - rate))
        return "one_vs_rest", coef, intercept
    coef = np.asarray(head.coef_, dtype=np.float64)
    return ("binary" if coef.shape[0] == 1 else "softmax"), coef, np.asarray(head.intercept_, dtype=np.float64)
