"""SetFitClassifier: a contrastively fine-tuned sentence-transformer with a logistic-regression head.

SetFit (Tunstall et al., 2022) trains in two stages:

1. **Contrastive body tuning.** Pairs of the few labeled examples are pulled together (same
   label) or pushed apart (different labels): the cosine similarity of their embeddings is
   regressed onto 1 or 0 (the ``CosineSimilarityLoss`` objective).
2. **Head.** A logistic regression is fitted on the tuned embeddings.

This implementation keeps the objective and the ``sampling`` choices of the setfit library but
trains it *batch-all*: each step encodes a batch of sentences once and scores every pair inside
that batch, instead of encoding the two sides of each sampled pair separately. With 16 sentences
a step serves 120 pairs for the cost of 16 forward/backward passes, which is where most of the
speed-up over plain setfit comes from. Measured at k=8 with MiniLM on sst5, cr, emotion and
ag_news, 3 seeds each (``benchmarks/results/setfit_speed.md``): 0.23x plain setfit's training time,
mean accuracy 0.5 points above it; prediction with the default int8 body is 3.3x faster than
``SetFitModel.predict`` (0.5 points below our float32 prediction, level with plain setfit).

The head is scikit-learn's ``LogisticRegression``; its coefficients are stored as safetensors
and applied with numpy at prediction time, so a saved classifier contains no pickle.

Example::

    from fewshot.strategies.setfit import SetFitClassifier

    clf = SetFitClassifier(seed=0).fit(texts, labels)       # 8-64 examples per class
    clf.predict(["the battery died after two days"])
    clf.save("models/reviews")                               # fewshot.load("models/reviews")
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import BOOL, DEVICE, MODEL, NONE, SEED, Integer, Options, Real
from ..base import BaseClassifier
from ..losses import SAMPLING_MODES

BODY_FOLDER = "body"
HEAD_FILE = "head.safetensors"
# Sentences per forward pass at prediction time (length-sorted, so padding stays small).
PREDICT_BATCH_SIZE = 64
#: Bodies ``quantize="auto"`` predicts in int8: those where int8 was measured to keep accuracy.
INT8_BODIES = frozenset({"minilm"})
#: Body-tuning passes when ``epochs`` is None, for any body without its own entry in :data:`BODY_EPOCHS`.
DEFAULT_EPOCHS = 3
#: Bodies whose default number of passes was measured to differ. ``mpnet``: 2, chosen on validation rows
#: only (``benchmarks/tune_setfit_mpnet_epochs.toml``: trec, cr and sst5 at k = 8, 3 seeds): 68.1 at 2
#: passes against 67.5 at 3 (+0.5 ± 0.9 points paired, a tie) in two thirds of the training time, which
#: is then the time plain setfit needs on MiniLM-L6 (1.00x); 1 pass averaged 66.4 (-1.1 ± 0.8).
BODY_EPOCHS = {"mpnet": 2}


class SetFitClassifier(BaseClassifier):
    """Few-shot text classifier: contrastive sentence-transformer tuning plus a logistic head.

    Parameters
    ----------
    model : str
        A sentence-transformer: an alias (``"minilm"``, all-MiniLM-L6-v2), a local
        sentence-transformers folder, or a hub id (needs network). Resolved with
        :func:`fewshot.models.resolve_model`.
    sampling : {"oversampling", "undersampling", "unique"}
        How positive (same label) and negative (different labels) pairs are balanced, as in the
        setfit library. ``"oversampling"``: positives and negatives weigh the same in every step
        (the minority kind is up-weighted); ``"undersampling"``: each step keeps a random subset
        of the majority kind as large as the minority; ``"unique"``: every pair counts once.
        Unless ``num_iterations`` is given, the mode also fixes the pair budget of an epoch: all
        distinct pairs (``unique``), twice the larger kind (``oversampling``) or twice the smaller
        kind (``undersampling``).
    num_iterations : int or None
        setfit's pair budget: ``2 * num_iterations * n_examples`` pairs per epoch (default 20, the
        SetFit paper's setting). ``None`` derives the budget from ``sampling``.
    max_pairs : int or None
        Caps the pairs of an epoch (``None``, the default: no cap). The budget above grows with the
        number of texts, which is what a few-shot sample wants but not a student trained on
        thousands of teacher-labeled texts (:func:`fewshot.distill` sets it): 2,000 texts make
        80,000 pairs an epoch, about 15 minutes on one laptop core.
    epochs : int or None
        Passes over the pair budget. None (default): 3 (because a step scores every pair of its batch,
        one epoch is only ``n_examples / 3`` steps at the default batch size), 2 for the ``mpnet``
        body (as accurate on validation rows, a third less training; see :data:`BODY_EPOCHS`); the
        number used is ``epochs_`` after fitting. ``0`` skips body tuning (a frozen body with a
        logistic head).
    train_layers : int or None
        Fine-tune only the body's top ``train_layers`` transformer layers; the embeddings and the
        layers below keep their pretrained weights, and back-propagation stops at the lowest trained
        layer, so training takes less time and memory. None (default): every layer. It trades
        accuracy for time: on ``mpnet`` (12 layers), validation rows only
        (``benchmarks/tune_setfit_mpnet_layers.toml``: trec, cr and sst5 at k = 8, 3 seeds), the top 8
        trained in 0.73x the time of every layer with a third less peak memory, at 0.9 points less
        accuracy (-0.9 ± 0.5 paired); the top 6 in 0.63x at 1.6 points less. Prediction uses the
        whole fine-tuned body either way.
    batch_size : int
        Sentences encoded per training step; every pair among them is scored
        (``batch_size * (batch_size - 1) / 2`` pairs per step).
    body_learning_rate : float
        AdamW learning rate of the body (linear warm-up over 10% of the steps, then linear decay).
        The default 6e-5 is three times setfit's 2e-5 because batch-all training takes about 2.5
        times fewer optimizer steps for the same pair budget. Re-checked on validation rows only
        (``benchmarks/tune_setfit.toml``: trec, cr and sst5 at k = 8, MiniLM, 3 seeds; results in
        ``benchmarks/results/tune_setfit/tuning.md``): mean accuracy 60.4 at 6e-5, 59.8 at 1.2e-4
        (a tie, -0.6 ± 1.4 points paired) and 56.6 at 2e-5 (worse, -3.7 ± 1.3).
    max_length : int or None
        Token limit per sentence in training and prediction; ``None`` keeps the model's own limit.
    head_c : float
        Inverse L2 regularisation strength ``C`` of the logistic regression.
    class_weight : "balanced" or None
        ``"balanced"`` (the default) weights the head's classes inversely to their frequency. On
        a k-shot sample every class has k examples, so it changes nothing there; it matters when a
        class is short, and for multi-label, where each tag's one-vs-rest head sees few positives:
        unweighted, rare tags never reach the 0.5 threshold (demo tags, 64 messages, frozen
        MiniLM body: example-based F1 0.39 unweighted vs 0.82 balanced).
    multi_label : bool
        ``y`` is a list of label lists; one logistic head per label (one-vs-rest) and pairs that
        share any label count as positive. ``predict`` returns the labels whose probability
        reaches 0.5.
    seed : int
        Seeds batching, dropout and the head; two fits with the same seed on CPU give identical
        probabilities. The caller's global random state is left as it was.
    device : str
        Where the body trains and embeds: ``"auto"`` (a GPU when one is present, else the CPU),
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. A saved classifier loads on the CPU when no GPU is there.
    show_progress : bool
        Show a tqdm progress bar over the training steps.
    quantize : "auto" (default), "int8", True, False or "bf16"
        Predict with the tuned body in reduced precision (training always runs in float32):
        ``"int8"`` (or ``True``) quantizes the linear layers' weights to int8 per channel with
        dynamic int8 activations; ``False`` predicts in float32 (use it on a GPU); ``"bf16"`` casts
        the body to bfloat16 (fast only on CPUs with native bfloat16, e.g. AVX512-BF16 or AMX).
        ``"auto"`` is int8 for the ``minilm`` body (the alias or the folder it installs) and float32
        for any other: int8 is used where it was measured to keep accuracy. On MiniLM it stayed
        within a point of float32 (sst5, cr, emotion, ag_news; ``benchmarks/setfit_studies.py``); on
        ``mpnet`` it lost 5 to 14 points (validation rows of trec, cr and sst5, k = 8, seed 0;
        ``benchmarks/results/setfit_quantize_mpnet.md``), so another body predicts in float32
        unless you ask for ``"int8"``.
        Dynamic int8 scales the activations of each forward pass as a whole, so in reduced
        precision every text is encoded in a forward pass of its own: a text's prediction never
        depends on the other texts of the call (batched, one at a time or reordered, the
        probabilities are the same). Measured on 300 SST-2 validation sentences with MiniLM, one
        thread: int8 one text at a time encodes 1.2x as many texts per second as float32 in
        batches of 64 (batched int8, which is batch-dependent, was 1.4x). The body is saved in full
        precision; the setting can be switched on a fitted classifier with
        ``clf.set_params(quantize=False)``; :meth:`prediction_precision` tells what runs.

    Pairs input (``(text, text_pair)``) is not supported: SetFit embeds single sentences.

    Example::

        clf = SetFitClassifier(model="minilm", seed=0)
        clf.fit(["love it", "broke in a day", "works great", "waste of money"],
                ["pos", "neg", "pos", "neg"])
        clf.predict_proba(["pretty good"])
    """

    strategy_name = "setfit"
    supports_pairs = False
    _parameter_rules = {
        "model": MODEL,
        "sampling": Options(*SAMPLING_MODES),
        "num_iterations": (Integer(1) | NONE).described("a positive integer or None (budget from sampling)"),
        "max_pairs": (Integer(1) | NONE).described("a positive integer or None (no cap)"),
        "epochs": (Integer(0) | NONE).described("an integer >= 0 (0 keeps the body frozen) or None"),
        "train_layers": (Integer(1) | NONE).described("a positive integer (top layers to fine-tune) or None (all)"),
        "batch_size": Integer(2).described("an integer >= 2 (sentences per step; pairs need two)"),
        "body_learning_rate": Real(0, 1, closed="neither").described("a number between 0 and 1 (e.g. 2e-5)"),
        "max_length": (Integer(4) | NONE).described("an integer >= 4 tokens, or None"),
        "head_c": Real(0, None, closed="neither").described("a positive number (the head's inverse regularisation)"),
        "class_weight": Options(None, "balanced"),
        "multi_label": BOOL,
        "seed": SEED.described("a non-negative integer"),
        "device": DEVICE,
        "show_progress": BOOL,
        "quantize": (BOOL | Options("auto", "int8", "bf16")).described(
            "'auto', False, True ('int8'), 'int8' or 'bf16'"),
    }
    _renamed_state = {"train_loss": "loss_history"}

    def __init__(
        self,
        *,
        model: str = "minilm",
        sampling: str = "oversampling",
        num_iterations: int | None = 20,
        max_pairs: int | None = None,
        epochs: int | None = None,
        train_layers: int | None = None,
        batch_size: int = 16,
        body_learning_rate: float = 6e-5,
        max_length: int | None = 128,
        head_c: float = 1.0,
        class_weight: str | None = "balanced",
        multi_label: bool = False,
        seed: int = 0,
        device: str = "auto",
        show_progress: bool = False,
        quantize: bool | str = "auto",
    ):
        self.model = model
        self.sampling = sampling
        self.num_iterations = num_iterations
        self.max_pairs = max_pairs
        self.epochs = epochs
        self.train_layers = train_layers
        self.batch_size = batch_size
        self.body_learning_rate = body_learning_rate
        self.max_length = max_length
        self.head_c = head_c
        self.class_weight = class_weight
        self.multi_label = multi_label
        self.seed = seed
        self.device = device
        self.show_progress = show_progress
        self.quantize = quantize

    # ------------------------------------------------------------------ contract hooks
    def _problem(self) -> str:
        return "multi_label" if self.multi_label else "single_label"

    def _fit(self, X: list, y: np.ndarray) -> None:
        self._fit_targets(X, y)

    def fit_soft(self, X, proba, classes, *, sample_weight=None) -> SetFitClassifier:
        """Train on soft targets: each text comes with a probability vector over ``classes``.

        This is how a student learns from a teacher (:func:`fewshot.distill`): the contrastive pair
        targets are the cosine similarities of the texts' probability vectors (1 for two texts the
        teacher puts in the same class with certainty, 0 for two certain and different ones, in
        between when it hesitates; a one-hot row is a hard label), and the logistic head is fitted
        by soft-label cross-entropy (see :func:`fit_soft_head`). ``sample_weight`` weighs each text
        in the head's loss (default 1). Returns ``self``; ``classes_`` is ``classes`` in the order given.

        Example::

            clf = SetFitClassifier(seed=0).fit_soft(
                ["love it", "meh", "awful"], [[0.9, 0.1], [0.5, 0.5], [0.05, 0.95]], ["pos", "neg"])
        """
        from .. import data as _data

        self._check_params()
        if self.multi_label:
            raise ValueError("fit_soft trains a single-label classifier; multi_label=True is not supported with "
                             "soft targets.")
        texts = _data.as_inputs(X, allow_pairs=False)
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(classes) < 2 or len({repr(c) for c in classes.tolist()}) != len(classes):
            raise ValueError(f"classes must list at least two distinct labels; got {classes.tolist()!r}.")
        P = check_soft_targets(proba, len(texts), len(classes))
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if len(weight) != len(texts) or not np.all(np.isfinite(weight)) or np.any(weight < 0):
                raise ValueError(f"sample_weight must hold {len(texts)} non-negative numbers, one per text.")
        self.classes_ = classes
        self.problem_ = "single_label"
        self.n_features_in_ = 1
        self._fit_targets(texts, None, soft=P, sample_weight=weight)
        return self

    def _fit_targets(self, X: list, y: np.ndarray | None, *, soft: np.ndarray | None = None,
                     sample_weight: np.ndarray | None = None) -> None:
        """Body tuning and head: from class ids ``y`` (``fit``) or probability rows ``soft`` (``fit_soft``)."""
        from ..models import resolve_model
        from ..training import resolve_device, seeded_torch

        path = resolve_model(self.model, show_progress=self.show_progress)
        device = resolve_device(self.device)
        with seeded_torch(int(self.seed), device):
            body = _load_body(path, self.max_length, self.show_progress).to(device)
        self.loss_history_ = []
        self.epochs_ = self.resolved_epochs()
        if self.epochs_ > 0:
            if self.train_layers is not None:
                train_top_layers_only(body, int(self.train_layers))
            self.loss_history_ = _train_body(
                body, X, y, multi_label=self.problem_ == "multi_label", sampling=self.sampling,
                num_iterations=self.num_iterations, epochs=self.epochs_, batch_size=int(self.batch_size),
                learning_rate=float(self.body_learning_rate), seed=int(self.seed), device=device,
                show_progress=self.show_progress, soft=soft, max_pairs=self.max_pairs,
            )
        body.eval()
        self.body_ = body
        self._infer_body = None  # the prediction-time body is derived from body_ on first use
        features = _encode(body, X)
        if soft is None:
            self.head_kind_, self.coef_, self.intercept_ = _fit_head(
                features, y, problem=self.problem_, C=float(self.head_c), class_weight=self.class_weight,
                seed=int(self.seed),
            )
        else:
            self.head_kind_, self.coef_, self.intercept_ = fit_soft_head(
                features, soft, C=float(self.head_c), seed=int(self.seed), sample_weight=sample_weight,
            )

    def _predict_scores(self, X: list) -> np.ndarray:
        return _head_proba(self._embed(X), self.head_kind_, self.coef_, self.intercept_)

    def _save_state(self, folder: Path) -> dict[str, Any]:
        from safetensors.numpy import save_file

        from ..compat import save_quietly

        save_quietly(self.body_, folder / BODY_FOLDER)
        save_file({"coef": np.ascontiguousarray(self.coef_), "intercept": np.ascontiguousarray(self.intercept_)},
                  str(folder / HEAD_FILE))
        return {"body": BODY_FOLDER, "head": HEAD_FILE, "head_kind": self.head_kind_,
                "loss_history": [float(v) for v in self.loss_history_], "epochs": self.epochs_}

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        from safetensors.numpy import load_file

        from ..training import resolve_device

        device = resolve_device(self.device, fallback_to_cpu=True)
        self.body_ = _load_body(str(folder / state.get("body", BODY_FOLDER)), self.max_length).to(device)
        self.body_.eval()
        self._infer_body = None
        tensors = load_file(str(folder / state.get("head", HEAD_FILE)))
        self.coef_, self.intercept_ = tensors["coef"], tensors["intercept"]
        self.head_kind_ = state["head_kind"]
        if state.get("epochs") is not None:  # folders saved before epochs=None record only the parameter
            self.epochs_ = int(state["epochs"])
        self.loss_history_ = [float(v) for v in state.get("loss_history", [])]

    @property
    def train_loss_(self) -> list[float]:
        """Former name of :attr:`loss_history_` (the mean pair loss of each epoch)."""
        return self.loss_history_

    def embed(self, X) -> np.ndarray:
        """Sentence embeddings of texts ``X`` from the fitted body, an ``(n, dim)`` float32 array: the
        features the head classifies (same precision as ``predict``). Used by
        :func:`fewshot.suggest` to cluster a pool.

        Example::

            vectors = clf.embed(["where is my parcel?", "refund please"])
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "classes_")
        return self._embed(self._predict_inputs(X))

    def embed_and_predict_proba(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(embed(X), predict_proba(X))`` from one pass of the body over ``X``: the same two arrays
        as the two calls, at half the cost. :func:`fewshot.suggest`'s ``badge`` method reads both.

        Example::

            vectors, proba = clf.embed_and_predict_proba(["where is my parcel?", "refund please"])
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "classes_")
        vectors = self._embed(self._predict_inputs(X))
        return vectors, self._as_proba(_head_proba(vectors, self.head_kind_, self.coef_, self.intercept_))

    def resolved_epochs(self) -> int:
        """The body-tuning passes ``fit`` runs: ``epochs``, or when it is None the body's default.

        Example::

            SetFitClassifier(model="mpnet").resolved_epochs()  # 2
            SetFitClassifier().resolved_epochs()               # 3
        """
        if self.epochs is not None:
            return int(self.epochs)
        from ..models import alias_of

        return BODY_EPOCHS.get(alias_of(self.model), DEFAULT_EPOCHS)

    def prediction_precision(self) -> str:
        """What ``predict`` runs the body in: ``"int8"``, ``"bf16"`` or ``"float32"``.

        ``quantize="auto"`` resolves here: int8 for the ``minilm`` body, float32 for any other.

        Example::

            SetFitClassifier(model="mpnet").prediction_precision()  # 'float32'
        """
        if self.quantize == "auto":
            from ..models import alias_of

            return "int8" if alias_of(self.model) in INT8_BODIES else "float32"
        return "int8" if self.quantize is True else (self.quantize or "float32")

    # ------------------------------------------------------------------ helpers
    def _embed(self, texts: list) -> np.ndarray:
        """Embeddings for prediction, from the body in the precision ``quantize`` asks for."""
        mode = self.prediction_precision()
        mode = None if mode == "float32" else mode
        if getattr(self, "_infer_mode", None) != mode or getattr(self, "_infer_body", None) is None:
            # derived from body_ on first use and whenever ``quantize`` changes
            self._infer_body = _reduced_precision(self.body_, mode) if mode else self.body_
            self._infer_mode = mode
        return _encode(self._infer_body, texts, one_at_a_time=mode is not None)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_infer_body", None)  # derived from body_; rebuilt on demand
        state.pop("_infer_mode", None)
        return state


# ---------------------------------------------------------------------- building blocks
def _load_body(path: str, max_length: int | None, show_progress: bool = False):
    """A sentence-transformer on CPU, its token limit capped at ``max_length``."""
    from ..compat import load_sentence_transformer

    body = load_sentence_transformer(str(path), show_progress=show_progress)
    if max_length is not None:
        limit = body.max_seq_length
        body.max_seq_length = int(max_length) if limit is None else min(int(max_length), int(limit))
    return body


def _reduced_precision(body, mode: str):
    """A copy of ``body`` for inference: int8 dynamic quantization (``"int8"``) or bfloat16 (``"bf16"``).

    int8 dynamic quantization runs on the CPU only, so an int8 copy of a body trained on a GPU is
    moved to the CPU (predict with ``quantize=False`` to keep a GPU).
    """
    import copy

    import torch

    from ..compat import quantize_linear_int8

    reduced = copy.deepcopy(body)
    reduced.eval()
    if mode == "bf16":
        return reduced.to(torch.bfloat16)
    return quantize_linear_int8(reduced.to("cpu"))


def _encode(body, texts: list, *, one_at_a_time: bool = False) -> np.ndarray:
    """Sentence embeddings of ``texts`` as float32 numpy, in input order, without gradients.

    ``one_at_a_time`` encodes each text in its own forward pass: needed by reduced-precision bodies,
    whose dynamic activation scales would otherwise depend on the whole batch.
    """
    import torch

    texts = list(texts)
    with torch.inference_mode():
        if one_at_a_time and len(texts) > 1:
            emb = np.stack([body.encode([t], batch_size=1, convert_to_numpy=True, show_progress_bar=False)[0]
                            for t in texts])
        else:
            emb = body.encode(texts, batch_size=PREDICT_BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)


def pair_targets(y: np.ndarray, multi_label: bool) -> np.ndarray:
    """``T[i, j] = 1`` when examples i and j form a positive pair (same label / a shared label)."""
    if multi_label:
        Y = np.asarray(y, dtype=np.float32)
        return ((Y @ Y.T) > 0).astype(np.float32)
    y = np.asarray(y)
    return (y[:, None] == y[None, :]).astype(np.float32)


def train_top_layers_only(body, n: int) -> None:
    """Freeze every weight of ``body``'s transformer except its top ``n`` layers (the embeddings and
    any weights shared across layers included, so no gradient flows below them). Modules after the
    transformer (pooling, dense, normalize) are left as they are. A clear ``ValueError`` when the body
    has fewer layers, or when its layers cannot be found."""
    import torch

    model = getattr(body[0], "auto_model", None)
    depth = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    stacks = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) == depth] if depth else []
    if not stacks:
        raise ValueError(f"train_layers={n}: cannot find this body's transformer layers; use train_layers=None.")
    if n > depth:
        raise ValueError(f"train_layers={n}, but this body has {depth} transformer layers; use at most {depth}, "
                         "or None to fine-tune them all.")
    model.requires_grad_(False)
    for layer in stacks[0][depth - n:]:
        layer.requires_grad_(True)


def pair_budget(targets: np.ndarray, sampling: str, num_iterations: int | None) -> int:
    """Pairs per epoch: setfit's ``2 * num_iterations * n``, or what ``sampling`` asks of all distinct pairs."""
    n = len(targets)
    if num_iterations is not None:
        return 2 * int(num_iterations) * n
    upper = np.triu_indices(n, 1)
    n_pos = int(targets[upper].sum())
    n_neg = len(upper[0]) - n_pos
    if sampling == "unique" or n_pos == 0 or n_neg == 0:
        return n_pos + n_neg
    if sampling == "oversampling":
        return 2 * max(n_pos, n_neg)
    return 2 * min(n_pos, n_neg)


def stratified_batches(groups: np.ndarray, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """Shuffled batches that interleave the groups (labels), so each batch holds positives of most labels."""
    per_group = [list(rng.permutation(np.flatnonzero(groups == g))) for g in np.unique(groups)]
    rng.shuffle(per_group)
    order = []
    while any(per_group):
        for members in per_group:
            if members:
                order.append(members.pop())
    order = np.asarray(order, dtype=np.int64)
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:  # a lone sentence makes no pair
        batches[-2] = np.concatenate([batches[-2], batches.pop()])
    rng.shuffle(batches)
    return batches


def _train_body(body, X: list, y: np.ndarray | None, *, multi_label: bool, sampling: str, num_iterations: int | None,
                epochs: int, batch_size: int, learning_rate: float, seed: int, device, show_progress: bool,
                soft: np.ndarray | None = None, max_pairs: int | None = None) -> list[float]:
    """Batch-all contrastive tuning of ``body`` in place (:class:`fewshot.training.Trainer`); returns the
    mean pair loss of each epoch.

    Each step encodes one stratified batch of sentences and scores every pair inside it with
    :class:`fewshot.losses.PairSimilarityLoss`; an epoch is the pair budget's worth of steps.

    ``soft`` (probability rows, one per text) replaces ``y``: a pair's target is the cosine similarity
    of the two rows (setfit's distillation objective), computed per batch, so a large unlabeled set
    never needs an n x n matrix; batches are stratified by each row's argmax. ``max_pairs`` caps the
    pair budget of an epoch.
    """
    import torch

    from ..losses import PairSimilarityLoss
    from ..training import Trainer

    batch = min(batch_size, len(X))
    pairs_per_step = batch * (batch - 1) // 2
    if soft is None:
        targets = pair_targets(y, multi_label)
        budget = pair_budget(targets, sampling, num_iterations)
        groups = np.asarray(y).argmax(axis=1) if multi_label else np.asarray(y)
    else:
        unit = np.asarray(soft, dtype=np.float32)
        unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        groups = np.asarray(soft).argmax(axis=1)
        budget = _group_pair_budget(groups, sampling, num_iterations)
    if max_pairs is not None:
        budget = min(budget, int(max_pairs))
    steps_per_epoch = max(1, math.ceil(budget / pairs_per_step))
    trainer = Trainer(learning_rate=learning_rate, epochs=epochs, seed=seed, device=device, warmup_ratio=0.1,
                      weight_decay=0.01, show_progress=show_progress, desc="setfit body")
    loss_fn = PairSimilarityLoss(sampling, generator=trainer.generator)
    if soft is None:
        T = torch.from_numpy(targets).to(trainer.device)

        def batch_targets(tid):
            return T[tid][:, tid]
    else:
        U = torch.from_numpy(unit).to(trainer.device)

        def batch_targets(tid):
            rows = U[tid]
            return (rows @ rows.T).clamp(0.0, 1.0)

    def step(idx: np.ndarray):
        features = body.preprocess([X[i] for i in idx])
        features = {k: v.to(trainer.device) if hasattr(v, "to") else v for k, v in features.items()}
        tid = torch.from_numpy(idx).to(trainer.device)
        return loss_fn(body(features)["sentence_embedding"], batch_targets(tid))

    return trainer.fit(body, step, lambda: stratified_batches(groups, batch, trainer.rng),
                       steps_per_epoch=steps_per_epoch)


def _group_pair_budget(groups: np.ndarray, sampling: str, num_iterations: int | None) -> int:
    """:func:`pair_budget` from group sizes (same group = positive), without an n x n matrix."""
    n = len(groups)
    if num_iterations is not None:
        return 2 * int(num_iterations) * n
    counts = np.unique(groups, return_counts=True)[1].astype(np.int64)
    n_pos = int((counts * (counts - 1) // 2).sum())
    n_neg = n * (n - 1) // 2 - n_pos
    if sampling == "unique" or n_pos == 0 or n_neg == 0:
        return n_pos + n_neg
    if sampling == "oversampling":
        return 2 * max(n_pos, n_neg)
    return 2 * min(n_pos, n_neg)


def check_soft_targets(proba, n_rows: int, n_classes: int) -> np.ndarray:
    """Probability rows as a float64 ``(n_rows, n_classes)`` array, each row renormalised to sum to 1;
    a clear ``ValueError`` for a wrong shape, negative or non-finite values, or an all-zero row."""
    P = np.asarray(proba, dtype=np.float64)
    if P.shape != (n_rows, n_classes):
        raise ValueError(f"soft targets must have shape ({n_rows}, {n_classes}) (one probability per text and "
                         f"class); got {P.shape}.")
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError("soft targets must be finite, non-negative probabilities.")
    sums = P.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError(f"soft target row {int(np.argmin(sums))} is all zeros; each row must give some class a probability.")
    return P / sums


def fit_soft_head(features: np.ndarray, soft: np.ndarray, *, C: float, seed: int, sample_weight=None):
    """A logistic head fitted by soft-label cross-entropy; returns (kind, coef, intercept) like :func:`_fit_head`.

    Each text is repeated once per class, labelled with that class and weighted by its probability
    (times the text's ``sample_weight``): scikit-learn's weighted log-loss over those rows is exactly
    ``-sum_i w_i sum_c p_ic log q_ic``, the cross-entropy against the soft labels. So the head keeps the
    teacher's uncertainty (a 55/45 text pulls the boundary towards itself rather than counting as a
    sure 1/0 example) and stays a plain logistic regression, stored and exported like any other.
    The classes are equally frequent among the repeated rows, so no class weighting applies.
    """
    from sklearn.linear_model import LogisticRegression

    n, n_classes = soft.shape
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    rows = np.repeat(features.astype(np.float64), n_classes, axis=0)
    labels = np.tile(np.arange(n_classes), n)
    w = (np.asarray(soft, dtype=np.float64) * weight[:, None]).reshape(-1)
    w = w * (n / max(w.sum(), 1e-12))  # total weight n, as n hard labels: C keeps its meaning
    clf = LogisticRegression(C=C, max_iter=1000, random_state=seed)
    clf.fit(rows, labels, sample_weight=w)
    kind = "binary" if clf.coef_.shape[0] == 1 else "softmax"
    return kind, clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)


def _fit_head(features: np.ndarray, y: np.ndarray, *, problem: str, C: float, class_weight, seed: int):
    """Logistic regression on the embeddings; returns (kind, coef, intercept) as float64 arrays.

    kinds: ``"binary"`` (one row, sigmoid), ``"softmax"`` (one row per class), ``"one_vs_rest"``
    (one sigmoid row per label, multi-label).
    """
    from sklearn.linear_model import LogisticRegression

    def fit(target):
        clf = LogisticRegression(C=C, class_weight=class_weight, max_iter=1000, random_state=seed)
        clf.fit(features.astype(np.float64), target)
        return clf

    if problem == "multi_label":
        coef = np.zeros((y.shape[1], features.shape[1]))
        intercept = np.zeros(y.shape[1])
        for j in range(y.shape[1]):
            column = y[:, j].astype(np.int64)
            if column.min() == column.max():  # every example has (or lacks) this label: a constant
                rate = float(np.clip(column.mean(), 1e-3, 1 - 1e-3))
                intercept[j] = math.log(rate / (1 - rate))
                continue
            clf = fit(column)
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        return "one_vs_rest", coef, intercept
    clf = fit(y)
    kind = "binary" if clf.coef_.shape[0] == 1 else "softmax"
    return kind, clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)


def _head_proba(features: np.ndarray, kind: str, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """The logistic head's probabilities, computed with numpy from its stored coefficients."""
    logits = features.astype(np.float64) @ coef.T + intercept
    if kind == "softmax":
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)
    p = 1.0 / (1.0 + np.exp(-logits))
    if kind == "binary":
        return np.hstack([1.0 - p, p])
    return p
