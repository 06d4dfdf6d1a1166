"""PromptClassifier: a decoder LM classifies by scoring each label's words after a prompt.

A template turns each input into a prompt (``"Review: {text}\\nSentiment:"``), a verbalizer maps
each label to the words the model should produce next (``" positive"``). Prediction does not parse
free generation: it computes the log-likelihood of every label's tokens after the prompt and takes a
softmax over labels. Three modes:

- ``"lora"`` (default): fine-tune LoRA adapters (peft) on the label scores prediction compares
  (cross-entropy over the labels; ``objective="generate"``: the language-model loss on the label words);
- ``"icl"``: in-context learning, ``icl_k`` demonstrations per class in front of every prompt;
- ``"zero"``: the template alone; ``fit`` only records the labels.

Scoring is fast (see :mod:`fewshot.strategies._scoring`): one pass per prompt batch, label
continuations scored as a prefix tree over the cached prompt, vocabulary logits only where read.

Example::

    from fewshot.strategies.prompt import PromptClassifier

    clf = PromptClassifier(template="Review: {text}\\nSentiment:", mode="zero")
    clf.fit(["a joy to watch", "dull and long"], ["positive", "negative"])
    clf.predict(["what a wonderful film"])  # array(['positive'], ...)
"""

from __future__ import annotations

import contextlib
import math
import string
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import data as _data
from .._validate import BOOL, DEVICE, MODEL, NONE, SEED, Check, Integer, Options, Real, is_number
from ..base import BaseClassifier
from ..errors import DataError

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
#: Default templates per kind of task (sentiment labels, other single texts, text pairs); any template
#: with ``{text}`` works, and a template that names the task usually works better.
DEFAULT_TEMPLATES = {
    "sentiment": "Review: {text}\nSentiment:",
    "text": "Text: {text}\nLabel:",
    "pair": "Text: {text}\nSecond text: {text_pair}\nLabel:",
}
#: Label names that make a task a sentiment task for the default template.
SENTIMENT_LABELS = {"positive", "negative", "neutral", "mixed", "very positive", "very negative"}
DEFAULT_TARGET_MODULES = ("q_proj", "v_proj")
DEFAULT_MAX_LENGTH = {"lora": 256, "zero": 256, "icl": 1024}
_ADAPTER_DIR = "adapter"
_SCORING_TOKENS = 4096  # cells (rows x longest prompt) per scoring pass
_FIELDS = ("text", "text_pair")


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
        (``{{``). The label words follow it directly. None picks one of :data:`DEFAULT_TEMPLATES`:
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
    batch_size : int
        Examples per training step; also bounds the examples per scoring pass (times 4).
    class_weight : None, "balanced" or dict
        Weights of the per-example loss by class (``"balanced"``: inverse class frequency).
    max_length : int or None
        Tokens of prompt plus label words; longer texts are truncated (their end is cut, the
        template kept). None: 256 (1024 for ``"icl"``, demonstrations included).
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
        self.seed = seed
        self.device = device
        self.show_progress = show_progress

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        super()._check_params()
        if self.template is not None:
            _template_fields(self.template)
        if self.verbalizer is not None:
            for label, words in self.verbalizer.items():
                alts = [words] if isinstance(words, str) else words
                if not isinstance(alts, (list, tuple)) or not alts or not all(isinstance(w, str) for w in alts):
                    raise ValueError(
                        f"verbalizer[{label!r}] is {words!r}; give the label's words as a string or a non-empty "
                        "list of strings."
                    )
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
        self.template_ = self._resolve_template(self.pairs_)
        self.verbalizations_ = self._resolve_verbalizations()
        self.max_length_ = int(self.max_length or DEFAULT_MAX_LENGTH[self.mode])
        weights = self._example_weights(y) if self.mode == "lora" else None  # checked before loading the model
        from ..training import resolve_device

        self.device_ = resolve_device(self.device)
        self._load_model(adapter=None)
        self.demonstrations_ = []
        self.loss_history_ = []
        self._prefix = None
        if self.mode == "icl":
            self.demonstrations_ = self._choose_demonstrations(X, y)
            self._prepare_prefix()
        elif self.mode == "lora":
            self._train_lora(X, y, weights)
        self.prior_ = self._content_free_prior() if self._calibration_inputs() else None

    def _resolve_template(self, pairs: bool) -> str:
        template = self.template
        if template is None:
            sentiment = {str(c).lower() for c in self.classes_.tolist()} <= SENTIMENT_LABELS
            template = DEFAULT_TEMPLATES["pair" if pairs else "sentiment" if sentiment else "text"]
        fields = _template_fields(template)
        if pairs and "text_pair" not in fields:
            raise ValueError(
                f"X holds (text, text_pair) pairs but the template {template!r} has no {{text_pair}}; add it, "
                "e.g. 'Question: {text}\\nAnswer: {text_pair}\\nLabel:'."
            )
        if not pairs and "text_pair" in fields:
            raise ValueError(
                f"the template {template!r} uses {{text_pair}} but X holds single texts; remove it or pass "
                "(text, text_pair) pairs."
            )
        return template

    def _resolve_verbalizations(self) -> list[list[str]]:
        """The words of each class (alternatives), as they follow the template's trailing whitespace."""
        classes = [c.item() if isinstance(c, np.generic) else c for c in self.classes_]
        if self.verbalizer is None:
            lead = "" if _trailing_space(self.template_) else " "
            return [[lead + words] for words in default_label_words(classes)]
        given = dict(self.verbalizer)
        out, used = [], set()
        for c in classes:
            key = c if c in given else str(c) if str(c) in given else None
            if key is None:
                missing = [repr(k) for k in classes if k not in given and str(k) not in given]
                raise ValueError(
                    f"the verbalizer has no words for label(s) {', '.join(missing)}; give every label its words, "
                    f"e.g. verbalizer={{{missing[0]}: ' word', ...}}."
                )
            used.add(key)
            words = given[key]
            out.append([words] if isinstance(words, str) else list(words))
        extra = [k for k in given if k not in used]
        if extra:
            raise ValueError(
                f"the verbalizer names label(s) {extra} that are not in y (labels: {classes}); fix the keys "
                "or drop them."
            )
        owner: dict[str, Any] = {}
        for c, alternatives in zip(classes, out, strict=True):
            for words in alternatives:
                if words in owner and owner[words] != c:
                    raise ValueError(
                        f"labels {owner[words]!r} and {c!r} have the same words ({words!r}); give each label "
                        "distinct words in the verbalizer."
                    )
                owner[words] = c
        return out

    # ------------------------------------------------------------------ model and tokens
    def _load_model(self, adapter: Path | None) -> None:
        from ..compat import load_causal_lm
        from ..models import resolve_model

        path = resolve_model(self.model, show_progress=bool(self.show_progress))
        lm, tokenizer = load_causal_lm(path, show_progress=bool(self.show_progress))
        lm.to(self.device_)
        self.tokenizer_ = tokenizer
        self.peft_model_ = None
        if adapter is not None:
            from peft import PeftModel

            with _quiet_peft():
                self.peft_model_ = PeftModel.from_pretrained(lm, str(adapter), is_trainable=False)
            self.peft_model_.eval()
        self.lm_ = lm  # LoRA layers, when any, are injected into this model in place
        self._prepare_tokens()

    def _prepare_tokens(self) -> None:
        """Token ids of the special prefix, the label continuations and their tree."""
        from ._scoring import ContinuationTree

        tok = self.tokenizer_
        self._bos = _special_prefix(tok)
        self._pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        tail = self.template_[len(self.template_.rstrip()):]
        seqs, owner, seen = [], [], {}
        unk = tok.unk_token_id
        classes = self.classes_.tolist()
        for cls_idx, alternatives in enumerate(self.verbalizations_):
            for words in alternatives:
                ids = tok(tail + words, add_special_tokens=False)["input_ids"]
                label = classes[cls_idx]
                if not ids:
                    raise ValueError(
                        f"label {label!r} has words {words!r} that encode to no tokens; give it non-empty words in "
                        "the verbalizer."
                    )
                if unk is not None and unk in ids:
                    raise ValueError(
                        f"the tokenizer cannot express the words {words!r} of label {label!r} (they encode to the "
                        f"unknown token {tok.unk_token!r}); choose other words in the verbalizer."
                    )
                key = tuple(ids)
                if key in seen:
                    other = classes[seen[key]]
                    raise ValueError(
                        f"labels {other!r} and {label!r} have the same words ({words!r} -> tokens {list(ids)}); "
                        "give each label distinct words in the verbalizer."
                    )
                seen[key] = cls_idx
                seqs.append(list(ids))
                owner.append(cls_idx)
        self._tree = ContinuationTree.build(seqs)
        self._owner = np.asarray(owner)
        self._label_budget = max(len(s) for s in seqs)
        prompt_budget = self.max_length_ - self._label_budget
        stem_ids = self._encode([self._render(("", "") if self.pairs_ else "")])[0]
        if len(stem_ids) + 1 > prompt_budget:
            raise ValueError(
                f"max_length={self.max_length_} is too small: the template takes {len(stem_ids)} tokens and the "
                f"longest label {self._label_budget}; raise max_length or shorten the template."
            )

    def _render(self, x) -> str:
        """The prompt for one input, without the template's trailing whitespace."""
        stem = self.template_.rstrip()
        text, pair = (x if isinstance(x, tuple) else (x, None))
        values = {"text": text, "text_pair": pair}
        for name in _FIELDS:
            if values[name] is not None and stem.endswith("{" + name + "}"):
                values[name] = values[name].rstrip()
        return stem.format(**values)

    def _encode(self, prompts: list[str]) -> list[list[int]]:
        if not prompts:
            return []
        ids = self.tokenizer_(prompts, add_special_tokens=False)["input_ids"]
        return [self._bos + list(p) for p in ids]

    def _prompt_ids(self, X: list, *, budget: int | None = None, with_bos: bool = True) -> list[list[int]]:
        """Token ids of each input's prompt, its text truncated to fit ``budget`` tokens."""
        budget = budget or (self.max_length_ - self._label_budget)
        ids = self._encode([self._render(x) for x in X])
        for i, x in enumerate(X):
            if len(ids[i]) > budget:
                ids[i] = self._truncate(x, budget)
        if not with_bos and self._bos:
            ids = [p[len(self._bos):] for p in ids]
        return ids

    def _truncate(self, x, budget: int) -> list[int]:
        tok = self.tokenizer_
        parts = list(x) if isinstance(x, tuple) else [x]
        for _ in range(8):
            ids = self._encode([self._render(tuple(parts) if len(parts) == 2 else parts[0])])[0]
            over = len(ids) - budget
            if over <= 0:
                return ids
            longest = max(range(len(parts)), key=lambda j: len(parts[j]))
            part_ids = tok(parts[longest], add_special_tokens=False)["input_ids"]
            keep = max(0, len(part_ids) - over - 1)
            parts[longest] = tok.decode(part_ids[:keep])
        keep_end = budget - len(self._bos)  # pragma: no cover - tokenizers that do not round-trip
        return self._bos + ids[len(ids) - keep_end:]  # pragma: no cover

    # ------------------------------------------------------------------ in-context learning
    def _choose_demonstrations(self, X: list, y: np.ndarray) -> list[list]:
        """``icl_k`` examples per class (seeded), interleaved by class, fitted to the context length."""
        idx = _data.k_shot_indices(y.tolist(), int(self.icl_k), int(self.seed), warn=False)
        rng = np.random.RandomState(int(self.seed))
        by_class: dict[int, list[int]] = {}
        for i in idx:
            by_class.setdefault(int(y[i]), []).append(int(i))
        class_order = [int(c) for c in rng.permutation(sorted(by_class))]
        order = [by_class[c][r] for r in range(int(self.icl_k)) for c in class_order if r < len(by_class[c])]
        query = self._prompt_ids(X, budget=self.max_length_ // 2)
        reserve = max(len(q) for q in query) + self._label_budget
        budget = self.max_length_ - reserve
        chosen, used = [], len(self._bos)
        for i in order:
            cost = len(self.tokenizer_(self._demo_text(X[i], int(y[i])), add_special_tokens=False)["input_ids"])
            if used + cost > budget:
                break
            chosen.append(i)
            used += cost
        return [[list(X[i]) if isinstance(X[i], tuple) else X[i], int(y[i])] for i in chosen]

    def _demo_text(self, x, cls_idx: int) -> str:
        tail = self.template_[len(self.template_.rstrip()):]
        return self._render(x) + tail + self.verbalizations_[cls_idx][0] + "\n\n"

    def _prepare_prefix(self) -> None:
        if not self.demonstrations_:
            self._prefix = None
            return
        text = "".join(self._demo_text(tuple(x) if isinstance(x, list) else x, c) for x, c in self.demonstrations_)
        self._prefix = self._bos + list(self.tokenizer_(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------ LoRA
    def _train_lora(self, X: list, y: np.ndarray, weights: np.ndarray) -> None:
        """Add LoRA adapters and train them with :class:`fewshot.training.Trainer` on ``objective``."""
        from peft import LoraConfig, get_peft_model

        from ..training import seeded_torch

        target = self.target_modules or list(DEFAULT_TARGET_MODULES)
        if target == "all-linear":
            target = _linear_module_names(self.lm_)
        elif isinstance(target, str) and target.isidentifier():
            target = [target]
        layers = None
        if self.lora_layers is not None:
            n_layers = int(self.lm_.config.get_text_config().num_hidden_layers)
            layers = list(range(max(0, n_layers - int(self.lora_layers)), n_layers))
        config = LoraConfig(r=int(self.lora_r), lora_alpha=self.lora_alpha, lora_dropout=float(self.lora_dropout),
                            target_modules=target if isinstance(target, str) else list(target),
                            layers_to_transform=layers, bias="none", task_type="CAUSAL_LM")
        with seeded_torch(int(self.seed), self.device_):  # the adapters' initial weights, then dropout
            try:
                with _quiet_peft():
                    self.peft_model_ = get_peft_model(self.lm_, config)
            except ValueError as exc:
                raise ValueError(f"cannot add LoRA adapters with target_modules={target!r}: {exc}") from exc
            self.loss_history_ = self._train_adapters(X, y, weights)

    def _train_adapters(self, X: list, y: np.ndarray, weights: np.ndarray) -> list[float]:
        import torch

        from ..training import Trainer
        from ._scoring import continuation_nll, continuation_scores

        prompts = self._prompt_ids(X)
        labels = [self._tree.sequences[self._first_seq(int(c))] for c in y]
        device = self.device_
        tree = self._tree.to(device)
        lengths = tree.lengths.to(torch.float32)
        self.learning_rate_ = float(DEFAULT_LEARNING_RATE[self.objective] if self.learning_rate is None else self.learning_rate)
        bs = int(self.batch_size)
        per_epoch = math.ceil(len(X) / bs)
        self.epochs_ = int(self.epochs) if self.epochs is not None else max(4, math.ceil(MIN_STEPS / per_epoch))
        trainer = Trainer(learning_rate=self.learning_rate_, epochs=self.epochs_, seed=int(self.seed), device=device,
                          warmup_ratio=0.0, weight_decay=0.0, max_grad_norm=1.0, show_progress=self.show_progress,
                          desc="LoRA", seed_torch=False)
        weights = torch.as_tensor(weights, dtype=torch.float32, device=device)
        y_ids = torch.as_tensor(y, dtype=torch.long, device=device)
        row_lengths = [len(p) + len(t) for p, t in zip(prompts, labels)]

        def step(rows: np.ndarray):
            if self.objective == "classify":
                seq = continuation_scores(self.lm_, [prompts[i] for i in rows], tree, pad_id=self._pad)
                per_example = torch.nn.functional.cross_entropy(
                    self._class_scores(seq / lengths if self.label_score == "mean" else seq), y_ids[rows],
                    reduction="none")
            else:
                ids, mask, targets = _pack([prompts[i] for i in rows], [labels[i] for i in rows], self._pad)
                nll = continuation_nll(self.lm_, ids.to(device), mask.to(device), targets)
                per_example = torch.stack([t.mean() if self.label_score == "mean" else t.sum() for t in nll])
            w = weights[rows].to(per_example.dtype)
            return (per_example * w).sum() / w.sum().clamp_min(1e-12)

        return trainer.fit(self.peft_model_, step, lambda: _bucketed_batches(row_lengths, bs, trainer.rng),
                           steps_per_epoch=per_epoch)

    def _class_scores(self, seq):
        """Per-class scores from per-continuation ones (torch): a label's alternatives add as probabilities."""
        import torch

        return torch.stack([torch.logsumexp(seq[:, torch.as_tensor(self._owner == j, device=seq.device)], dim=1)
                            for j in range(len(self.classes_))], dim=1)

    def _first_seq(self, cls_idx: int) -> int:
        return int(np.flatnonzero(self._owner == cls_idx)[0])

    def _example_weights(self, y: np.ndarray) -> np.ndarray:
        n_classes = len(self.classes_)
        if self.class_weight is None:
            per_class = np.ones(n_classes)
        elif self.class_weight == "balanced":
            counts = np.bincount(y, minlength=n_classes).astype(np.float64)
            per_class = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
        else:
            given = self.class_weight
            per_class = np.ones(n_classes)
            known = {str(c) for c in self.classes_.tolist()}
            unknown = [k for k in given if str(k) not in known]
            if unknown:
                raise ValueError(f"class_weight names label(s) {unknown} that are not in y ({self.classes_.tolist()}).")
            for j, c in enumerate(self.classes_.tolist()):
                key = c if c in given else str(c) if str(c) in given else None
                if key is not None:
                    per_class[j] = float(given[key])
        return per_class[y]

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

        from ._scoring import score_continuations

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
            seq = score_continuations(self.lm_, prompts, self._tree, prefix=prefix,
                                      batch_size=4 * int(self.batch_size), max_tokens=_SCORING_TOKENS,
                                      pad_id=self._pad, progress=bar.update)
        finally:
            bar.close()
        seq = torch.from_numpy(seq)
        if self.label_score == "mean":
            seq = seq / self._tree.lengths[None, :]
        return self._class_scores(seq).numpy()

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
            self.peft_model_.save_pretrained(str(folder / _ADAPTER_DIR), safe_serialization=True)
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


# ---------------------------------------------------------------------- helpers
def _linear_module_names(model) -> list[str]:
    """Names of the linear layers inside the decoder (every one but the output projection)."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and module is not head})


@contextlib.contextmanager
def _quiet_peft():
    """Scoped: hide the FutureWarning peft 0.21 triggers by reading a property transformers 5 deprecated."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def _bucketed_batches(lengths: list[int], batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """One epoch of shuffled batches whose members have similar lengths (less padding to compute).

    The examples are shuffled, cut into pools of ``4 * batch_size``, each pool sorted by length and cut
    into batches; the batches are shuffled again.
    """
    order = rng.permutation(len(lengths))
    batches = []
    pool = 4 * batch_size
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches += [np.asarray(chunk[b:b + batch_size]) for b in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _pack(prompts: list[list[int]], labels: list[list[int]], pad: int):
    """Right-padded ``prompt + label`` rows, their mask and ``(label start, label tokens)`` per row."""
    import torch

    rows = [p + lab for p, lab in zip(prompts, labels, strict=True)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask, [(len(p), lab) for p, lab in zip(prompts, labels, strict=True)]


def _template_fields(template: Any) -> set[str]:
    if not isinstance(template, str):
        raise ValueError(f"template must be a string with {{text}}; got {template!r}.")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is not a valid format string ({exc}); double literal braces: {{{{ }}}}.") from exc
    fields = {name for _, name, _, _ in parsed if name is not None}
    unknown = sorted(fields - set(_FIELDS))
    if unknown:
        raise ValueError(
            f"template {template!r} has unknown placeholder(s) {unknown}; only {{text}} and {{text_pair}} are "
            "filled (double literal braces: {{ }})."
        )
    if "text" not in fields:
        raise ValueError(f"template {template!r} has no {{text}} placeholder; add one, e.g. 'Review: {{text}}\\nSentiment:'.")
    return fields


def default_label_words(classes) -> list[str]:
    """The default words of each label: its name, with underscores as spaces unless two names would then collide.

    >>> default_label_words(["card_arrival", "card_linking"])
    ['card arrival', 'card linking']
    >>> default_label_words(["a_b", "a b"])
    ['a_b', 'a b']
    """
    names = [str(c) for c in classes]
    spaced = [" ".join(n.replace("_", " ").split()) or n for n in names]
    return spaced if len(set(spaced)) == len(spaced) else names


def _trailing_space(template: str) -> bool:
    return template != template.rstrip()


def _special_prefix(tokenizer) -> list[int]:
    """Special tokens the tokenizer puts before a text (a BOS token, or nothing)."""
    plain = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return list(full[:start])
    return []
