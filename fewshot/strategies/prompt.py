"""PromptClassifier: a decoder LM classifies by scoring each label's words after a prompt.

A template turns each input into a prompt (``"Review: {text}\\nSentiment:"``), a verbalizer maps
each label to the words the model should produce next (``" positive"``). Prediction does not parse
free generation: it computes the log-likelihood of every label's tokens after the prompt and takes a
softmax over labels. Three modes:

- ``"lora"`` (default): fine-tune LoRA adapters (peft) on the label scores prediction compares
  (cross-entropy over the labels; ``objective="generate"``: the language-model loss on the label words);
- ``"icl"``: in-context learning, ``icl_k`` demonstrations per class in front of every prompt;
- ``"zero"``: the template alone; ``fit`` only records the labels.

Scoring is fast (see :mod:`fewshot.strategies.prompting.scoring`): one pass per prompt batch, label
continuations scored as a prefix tree over the cached prompt, vocabulary logits only where read.

This module holds the estimator; its building blocks live in :mod:`fewshot.strategies.prompting`:
``templates`` (templates and verbalizers), ``tokens`` (tokenization), ``icl`` (demonstrations),
``lora`` (adapters and their training) and ``scoring`` (label scoring).

Example::

    from fewshot.strategies.prompt import PromptClassifier

    clf = PromptClassifier(template="Review: {text}\\nSentiment:", mode="zero")
    clf.fit(["a joy to watch", "dull and long"], ["positive", "negative"])
    clf.predict(["what a wonderful film"])  # array(['positive'], ...)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import data as _data
from .._validate import BOOL, DEVICE, MODEL, NONE, SEED, Check, Integer, Options, Real, is_number
from ..base import BaseClassifier
from ..errors import DataError
from .prompting import icl, lora, tokens
from .prompting.templates import (
    check_verbalizer,
    default_label_words,
    resolve_template,
    resolve_verbalizations,
    template_fields,
)

__all__ = ["PromptClassifier", "default_label_words"]

MODES = ("lora", "icl", "zero")
SCORES = ("sum", "mean")
OBJECTIVES = ("classify", "generate")
#: Fewest LoRA optimizer steps when ``epochs`` is None (more passes over small training sets).
MIN_STEPS = 60
#: Learning rate per objective when ``learning_rate`` is None (classify: chosen on TREC and CR, k = 8;
#: see benchmarks/results/prompt_objective.md).
DEFAULT_LEARNING_RATE = {"classify": 3e-3, "generate": 1e-3}
#: Content-free inputs of contextual calibration (Zhao et al. 2021); their label probabilities are averaged.
CONTENT_FREE = ("N/A", "", "[MASK]")
DEFAULT_MAX_LENGTH = {"lora": 256, "zero": 256, "icl": 1024}
PRECISIONS = ("float32", "bf16", "auto")
_ADAPTER_DIR = "adapter"
_SCORING_TOKENS = 4096  # cells (rows x longest prompt) per scoring pass


class PromptClassifier(BaseClassifier):
    """Classify texts with a causal LM by scoring each label's words after a prompt.

    Parameters
    ----------
    model : str
        A model alias (``"smollm2-135m"``, the default, ships offline), a local causal-LM folder or a
        hub id (needs a network).
    mode : {"lora", "icl", "zero"}
        ``"lora"`` fine-tunes LoRA adapters on the training data; ``"icl"`` puts ``icl_k``
        demonstrations per class (seeded) in the prompt; ``"zero"`` uses the template alone.
    template : str or None
        The prompt, with ``{text}`` (and ``{text_pair}`` for pair inputs); literal braces are doubled
        (``{{``). The label words follow it directly. None picks one of
        :data:`~fewshot.strategies.prompting.templates.DEFAULT_TEMPLATES`:
        for pairs, for sentiment labels (positive/negative/neutral) or for any other labels. Trailing whitespace of the template is scored as part of the label words.
    verbalizer : dict or None
        Label -> the words the model should produce for it: a string, or a list of alternative
        strings (their probabilities add up). Keys are the labels (or ``str(label)``). None: the label
        itself (``str(label)`` for int labels) with a leading space, underscores read as spaces
        (``card_arrival`` -> ``" card arrival"``: fewer, more natural tokens) unless that would make
        two labels alike. Multi-token words are fine; two labels with the same words are an error.
    label_score : {"sum", "mean"}
        A label's score: the sum of its tokens' log-probabilities, or their mean (length-normalised,
        so long labels are not penalised). (Not named ``score``: that is scikit-learn's accuracy method.)
    calibrate : bool, str or list of str
        Contextual calibration (Zhao et al. 2021): divide the label probabilities by those the model
        gives to content-free inputs and renormalise. True uses :data:`CONTENT_FREE`; a string or list
        names your own content-free inputs.
    icl_k : int
        ``mode="icl"``: demonstrations per class, seeded, dropped (whole rounds of classes last) until
        the prompt fits ``max_length``.
    lora_r, lora_alpha, lora_dropout, target_modules :
        LoRA rank, scaling, dropout and the module names to adapt (default ``q_proj``, ``v_proj``;
        ``"all-linear"`` adapts every linear layer).
    lora_layers : int or None
        Adapt only the top ``lora_layers`` decoder layers (default 10; None: all). Back-propagation then
        stops there, which makes training about twice cheaper on a CPU for a 30-layer model.
    objective : {"classify", "generate"}
        What LoRA training minimises. ``"classify"`` (default): cross-entropy over the labels' scores,
        the very scores prediction compares, so training learns to tell the labels apart (and a label
        the model finds unlikely as words, such as ``" ham"``, is not left behind).
        ``"generate"``: the language-model loss, the negative log-likelihood of each example's label
        words (its first alternative) after its prompt; it also spends effort making label words
        likely at all, and fails where the base model strongly prefers one label's words.
        Prompt tokens are not trained on either way.
    epochs : int or None
        LoRA training passes over the data. None (default): at least 4 passes and at least
        :data:`MIN_STEPS` optimizer steps, so that 16 examples (k = 8, two labels) get as much training
        as 48 do; the chosen number is ``epochs_`` after fitting.
    learning_rate : float or None
        AdamW learning rate (linear decay to zero). None: 3e-3 for ``objective="classify"``, 1e-3 for
        ``"generate"`` (see :data:`DEFAULT_LEARNING_RATE`); the value used is ``learning_rate_``.
        Objective and rate re-checked on validation rows only (``benchmarks/tune_prompt.toml``:
        trec, cr and sst5 at k = 8, SmolLM2-135M, 2 seeds): classify at 3e-3 averages 58.3,
        classify at 1e-3 52.9 (-5.4 ± 3.8 points paired, a tie), generate 50.9 (worse, -7.4 ± 3.6).
    batch_size : int
        Examples per training step; also bounds the examples per scoring pass (times 4).
    class_weight : None, "balanced" or dict
        Weights of the per-example loss by class (``"balanced"``: inverse class frequency).
    max_length : int or None
        Tokens of prompt plus label words; longer texts are truncated (the template kept, see
        ``truncation``). None: 256 (1024 for ``"icl"``, demonstrations included).
    truncation : {"end", "middle", "start"}
        Which tokens a text too long for ``max_length`` loses: its end (the default), its middle (its
        first and last tokens kept, half each, with ``"..."`` between them: an email's subject and its
        closing request both survive) or its start (for texts whose end matters most, such as a thread's
        latest message). Of a pair, the longer text is cut.
    precision : {"float32", "bf16", "auto"}
        What prediction runs the decoder in; training always runs in float32. ``"bf16"`` scores with a
        bfloat16 copy of the decoder (the LoRA adapters merged into it; the vocabulary projection kept
        in float32). It pays off only where the hardware multiplies bfloat16 natively (CPUs with
        AVX512-BF16 or AMX, recent GPUs): on such a CPU it scored 1.8-2.1x as many texts per second as
        float32, at the same accuracy on validation rows of trec, cr and sst5 (LoRA, k = 8, one seed;
        ``benchmarks/results/prompt_speed.md``). Elsewhere bfloat16 is emulated and slow: on an AVX2
        CPU it scored at about a fifth of float32's speed (``benchmarks/results/prompt_speed_avx2.md``).
        ``"auto"`` takes bf16 where :func:`fewshot.training.native_bfloat16` finds it native, float32
        elsewhere, decided on the machine that predicts (a saved classifier moved to another machine
        decides again). bfloat16 log-likelihoods differ from float32's by rounding, so a text near a tie
        can change label (0-2.5 % of them there): with ``"auto"``, the same classifier may label such a
        text differently on two machines. The default, float32, labels alike everywhere.
    seed : int
        Seeds LoRA initialisation, batch order, dropout and the choice of demonstrations; the caller's
        global random state is left as it was.
    device : str
        Where the model trains and scores: ``"auto"`` (a GPU when one is present, else the CPU),
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. A saved classifier loads on the CPU when no GPU is there.
    show_progress : bool
        tqdm bars for training and scoring.

    Example::

        clf = PromptClassifier(mode="lora", template="Tweet: {text}\\nEmotion:", epochs=4)
        clf.fit(texts, labels).predict(["i feel so happy today"])
    """

    strategy_name = "prompt"
    base_model_param = "model"  # the decoder is not in the saved folder: its identity is recorded and checked
    _parameter_rules = {
        "model": MODEL,
        "mode": Options(*MODES),
        "template": NONE | Check(lambda v: isinstance(v, str), "a string with {text}"),
        "verbalizer": (NONE | Check(lambda v: isinstance(v, dict) and bool(v), "a dict")).described(
            "a non-empty dict label -> words (str or list of str)"),
        "label_score": Options(*SCORES),
        "calibrate": Check(lambda v: isinstance(v, (bool, str)) or (
            isinstance(v, (list, tuple)) and bool(v) and all(isinstance(c, str) for c in v)),
            "True/False, a content-free string or a list of them"),
        "icl_k": Integer(1),
        "lora_r": Integer(1),
        "lora_alpha": Real(0, None, closed="neither"),
        "lora_dropout": Real(0, 1, closed="left"),
        "target_modules": Check(lambda v: v is None or isinstance(v, str) or (
            isinstance(v, (list, tuple)) and bool(v) and all(isinstance(m, str) for m in v)),
            "a module name, a list of names or 'all-linear'"),
        "lora_layers": Integer(1) | NONE,
        "objective": Options(*OBJECTIVES),
        "epochs": Integer(1) | NONE,
        "learning_rate": (Real(0, 1, closed="neither") | NONE).described(
            "a positive number below 1 (e.g. 1e-3) or None"),
        "batch_size": Integer(1),
        "class_weight": Check(lambda v: v is None or v == "balanced" or (
            isinstance(v, dict) and all(is_number(w) and w >= 0 for w in v.values())),
            "None, 'balanced' or a dict label -> weight (non-negative numbers)"),
        "max_length": Integer(8) | NONE,
        "truncation": Options(*tokens.TRUNCATION),
        "precision": Options(*PRECISIONS),
        "seed": SEED,
        "device": DEVICE,
        "show_progress": BOOL,
    }

    def __init__(
        self,
        *,
        model: str = "smollm2-135m",
        mode: str = "lora",
        template: str | None = None,
        verbalizer: dict | None = None,
        label_score: str = "sum",
        calibrate: bool | str | list = False,
        icl_k: int = 4,
        lora_r: int = 8,
        lora_alpha: float = 16,
        lora_dropout: float = 0.05,
        target_modules: list | str | None = None,
        lora_layers: int | None = 10,
        objective: str = "classify",
        epochs: int | None = None,
        learning_rate: float | None = None,
        batch_size: int = 8,
        class_weight: str | dict | None = None,
        max_length: int | None = None,
        truncation: str = "end",
        precision: str = "float32",
        seed: int = 0,
        device: str = "auto",
        show_progress: bool = False,
    ):
        self.model = model
        self.mode = mode
        self.template = template
        self.verbalizer = verbalizer
        self.label_score = label_score
        self.calibrate = calibrate
        self.icl_k = icl_k
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_dropout = lora_dropout
        self.target_modules = target_modules
        self.lora_layers = lora_layers
        self.objective = objective
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.max_length = max_length
        self.truncation = truncation
        self.precision = precision
        self.seed = seed
        self.device = device
        self.show_progress = show_progress

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        super()._check_params()
        if self.template is not None:
            template_fields(self.template)
        if self.verbalizer is not None:
            check_verbalizer(self.verbalizer)
        tm = self.target_modules
        if isinstance(tm, str) and tm != "all-linear" and not tm.isidentifier() and self.lora_layers is not None:
            raise ValueError(
                f"lora_layers={self.lora_layers} cannot be combined with the pattern target_modules={tm!r} (peft "
                "cannot restrict a regular expression to some layers); pass a list of module names, e.g. "
                "['q_proj', 'v_proj'], or lora_layers=None."
            )

    # ------------------------------------------------------------------ fit
    def _fit(self, X: list, y: np.ndarray) -> None:
        self.pairs_ = _data.is_pairs(X)
        self.template_ = resolve_template(self.template, self.classes_.tolist(), self.pairs_)
        self.verbalizations_ = resolve_verbalizations(self.verbalizer, self.classes_, self.template_)
        self.max_length_ = int(self.max_length or DEFAULT_MAX_LENGTH[self.mode])
        # class_weight is checked before the model loads
        weights = lora.example_weights(self.class_weight, self.classes_, y) if self.mode == "lora" else None
        from ..training import resolve_device

        self.device_ = resolve_device(self.device)
        self._load_model(adapter=None)
        self.demonstrations_ = []
        self.loss_history_ = []
        self._prefix = None
        if self.mode == "icl":
            self.demonstrations_ = icl.choose_demonstrations(
                X, y, k=int(self.icl_k), seed=int(self.seed), tokenizer=self.tokenizer_, template=self.template_,
                verbalizations=self.verbalizations_, bos=self._bos, max_length=self.max_length_,
                label_budget=self._label_budget, side=self.truncation)
            self._prepare_prefix()
        elif self.mode == "lora":
            self._train_lora(X, y, weights)
        self.prior_ = self._content_free_prior() if self._calibration_inputs() else None

    # ------------------------------------------------------------------ model and tokens
    def _load_model(self, adapter: Path | None) -> None:
        from ..compat import load_causal_lm
        from ..models import resolve_model

        path = resolve_model(self.model, show_progress=bool(self.show_progress))
        lm, tokenizer = load_causal_lm(path, show_progress=bool(self.show_progress))
        lm.to(self.device_)
        self.tokenizer_ = tokenizer
        self.peft_model_ = lora.load_adapters(lm, adapter) if adapter is not None else None
        self.lm_ = lm  # LoRA layers, when any, are injected into this model in place
        self._scoring = None  # a reduced-precision copy for prediction, derived from lm_ on demand
        self._prepare_tokens()

    def _prepare_tokens(self) -> None:
        """Token ids of the special prefix, the label continuations and their tree."""
        tok = self.tokenizer_
        self._bos = tokens.special_prefix(tok)
        self._pad = tokens.pad_id(tok)
        self._tree, self._owner = tokens.label_tree(tok, self.template_, self.verbalizations_, self.classes_.tolist())
        self._label_budget = max(len(s) for s in self._tree.sequences)
        tokens.check_room(tok, self.template_, pairs=self.pairs_, bos=self._bos, max_length=self.max_length_,
                          label_budget=self._label_budget)

    def _prompt_ids(self, X: list, *, budget: int | None = None, with_bos: bool = True) -> list[list[int]]:
        """Token ids of each input's prompt, its text truncated (at ``truncation``) to fit ``budget`` tokens."""
        return tokens.prompt_ids(self.tokenizer_, self.template_, X, bos=self._bos,
                                 budget=budget or (self.max_length_ - self._label_budget), with_bos=with_bos,
                                 side=self.truncation)

    def _prepare_prefix(self) -> None:
        """The demonstrations' token ids, the prefix every prompt is scored after (``mode="icl"``)."""
        self._prefix = icl.prefix_ids(self.tokenizer_, self.template_, self.verbalizations_, self.demonstrations_,
                                      bos=self._bos)

    # ------------------------------------------------------------------ LoRA
    def _train_lora(self, X: list, y: np.ndarray, weights: np.ndarray) -> None:
        """Add LoRA adapters and train them with :class:`fewshot.training.Trainer` on ``objective``."""
        from ..training import seeded_torch

        with seeded_torch(int(self.seed), self.device_):  # the adapters' initial weights, then dropout
            self.peft_model_ = lora.add_lora(self.lm_, r=self.lora_r, alpha=self.lora_alpha, dropout=self.lora_dropout,
                                             target_modules=self.target_modules, lora_layers=self.lora_layers)
            self.learning_rate_ = float(DEFAULT_LEARNING_RATE[self.objective] if self.learning_rate is None
                                        else self.learning_rate)
            per_epoch = math.ceil(len(X) / int(self.batch_size))
            self.epochs_ = int(self.epochs) if self.epochs is not None else max(4, math.ceil(MIN_STEPS / per_epoch))
            self.loss_history_ = lora.train_adapters(
                self.peft_model_, self.lm_, self._prompt_ids(X), y, weights, tree=self._tree, owner=self._owner,
                pad_id=self._pad, objective=self.objective, label_score=self.label_score,
                learning_rate=self.learning_rate_, epochs=self.epochs_, batch_size=int(self.batch_size),
                seed=int(self.seed), device=self.device_, show_progress=self.show_progress)

    # ------------------------------------------------------------------ scoring
    def _calibration_inputs(self) -> list[str]:
        if self.calibrate is True:
            return list(CONTENT_FREE)
        if isinstance(self.calibrate, str):
            return [self.calibrate]
        if isinstance(self.calibrate, (list, tuple)):
            return list(self.calibrate)
        return []

    def _content_free_prior(self) -> list[float]:
        inputs = self._calibration_inputs()
        X = [(c, c) for c in inputs] if self.pairs_ else inputs
        proba = self._softmax(self.label_log_likelihood(X, _checked=True))
        prior = proba.mean(axis=0)
        return (prior / prior.sum()).tolist()

    def label_log_likelihood(self, X, *, _checked: bool = False) -> np.ndarray:
        """Per-class log-likelihood of the label words after each prompt, ``(n, n_classes)``.

        The ``label_score`` rule applies (sum or mean over tokens); alternatives of a label add up as
        probabilities. No softmax over labels, no calibration: ``predict_proba`` builds on this.
        """
        import torch
        from tqdm.auto import tqdm

        from .prompting.scoring import class_scores, score_continuations

        check_is_fitted(self, "classes_")
        texts = X if _checked else _data.as_inputs(X, allow_pairs=True)
        if bool(_data.is_pairs(texts)) != self.pairs_:
            kind = "(text, text_pair) pairs" if self.pairs_ else "single texts"
            raise DataError(f"this classifier was fitted on {kind}; pass the same kind of input.")
        prefix = getattr(self, "_prefix", None)
        budget = self.max_length_ - self._label_budget - (len(prefix) if prefix else 0)
        prompts = self._prompt_ids(texts, budget=max(budget, 1), with_bos=prefix is None)
        bar = tqdm(total=len(prompts), desc="scoring", disable=not self.show_progress)
        try:
            seq = score_continuations(self._scoring_lm(), prompts, self._tree, prefix=prefix,
                                      batch_size=4 * int(self.batch_size), max_tokens=_SCORING_TOKENS,
                                      pad_id=self._pad, progress=bar.update)
        finally:
            bar.close()
        seq = torch.from_numpy(seq)
        if self.label_score == "mean":
            seq = seq / self._tree.lengths[None, :]
        return class_scores(seq, self._owner).numpy()

    def _scoring_lm(self):
        """The model prediction scores with: ``lm_`` itself in float32, else a copy in ``precision``.

        The copy is made on first use after ``fit`` or ``load`` (and when ``precision`` changes); LoRA
        adapters are merged into it, so it costs one more model in memory, at half the size in bf16.
        """
        precision = self.precision
        if precision == "auto":
            from ..training import native_bfloat16

            precision = "bf16" if native_bfloat16(self.device_) else "float32"
        if precision == "float32":
            return self.lm_
        cached = getattr(self, "_scoring", None)
        if cached is None or cached[0] != precision:
            from .prompting.scoring import reduced_precision_copy

            source = self.peft_model_ if self.peft_model_ is not None else self.lm_
            cached = self._scoring = (precision, reduced_precision_copy(source, precision))
        return cached[1]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_scoring", None)  # derived from lm_; rebuilt on demand
        return state

    @staticmethod
    def _softmax(scores: np.ndarray) -> np.ndarray:
        z = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _predict_scores(self, X: list) -> np.ndarray:
        proba = self._softmax(self.label_log_likelihood(X, _checked=True))
        if self.prior_ is not None:
            proba = proba / np.asarray(self.prior_)[None, :]
            proba = proba / proba.sum(axis=1, keepdims=True)
        return proba

    # ------------------------------------------------------------------ save / load
    def _save_state(self, folder: Path) -> dict[str, Any]:
        adapter = None
        if self.peft_model_ is not None:
            from ..compat import save_quietly

            save_quietly(self.peft_model_, folder / _ADAPTER_DIR, safe_serialization=True)
            adapter = _ADAPTER_DIR
        return {
            "base_model": self.model,
            "mode": self.mode,
            "template": self.template_,
            "verbalizations": self.verbalizations_,
            "pairs": self.pairs_,
            "max_length": self.max_length_,
            "demonstrations": self.demonstrations_,
            "prior": self.prior_,
            "adapter": adapter,
            "loss_history": self.loss_history_,
            "epochs": getattr(self, "epochs_", None),  # what LoRA training ran with (None in other modes)
            "learning_rate": getattr(self, "learning_rate_", None),
        }

    def _load_state(self, folder: Path, state: dict[str, Any]) -> None:
        self.template_ = state["template"]
        self.verbalizations_ = [list(v) for v in state["verbalizations"]]
        if len(self.verbalizations_) != len(self.classes_):
            raise ValueError(
                f"the class list does not match the model: {len(self.classes_)} classes but "
                f"{len(self.verbalizations_)} verbalizations"
            )
        self.pairs_ = bool(state["pairs"])
        self.max_length_ = int(state["max_length"])
        self.demonstrations_ = state.get("demonstrations") or []
        self.prior_ = state.get("prior")
        self.loss_history_ = state.get("loss_history") or []
        if state.get("epochs") is not None:
            self.epochs_ = int(state["epochs"])
        if state.get("learning_rate") is not None:
            self.learning_rate_ = float(state["learning_rate"])
        from ..training import resolve_device

        self.device_ = resolve_device(self.device, fallback_to_cpu=True)
        adapter = state.get("adapter")
        if adapter and not (Path(folder) / adapter / "adapter_model.safetensors").is_file():
            raise DataError(f"{folder} lacks the LoRA adapter {adapter}/adapter_model.safetensors; save it again.")
        self._load_model(adapter=Path(folder) / adapter if adapter else None)
        if self.mode == "icl":
            self._prepare_prefix()


