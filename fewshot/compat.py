"""Version-dependent code of our dependencies, in one place.

When a new transformers, sentence-transformers, setfit or peft release changes an API we use,
this is the file to change. Everything else calls these helpers.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


@contextlib.contextmanager
def hf_progress_bars(show: bool):
    """Hide transformers' progress bars ("Loading weights", "Writing model shards") unless ``show``.

    The previous setting is restored on exit, so the caller's choice outside the block is untouched.
    """
    from transformers.utils import logging as hf_logging

    hide = not show and hf_logging.is_progress_bar_enabled()
    if hide:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if hide:
            hf_logging.enable_progress_bar()


def save_quietly(obj, folder, **kwargs) -> None:
    """``obj.save_pretrained(folder)`` (a model, tokenizer or peft model) without its progress bar;
    a ``SentenceTransformer`` is saved with ``obj.save(folder)``."""
    with hf_progress_bars(False):
        if hasattr(obj, "save_pretrained"):
            obj.save_pretrained(str(folder), **kwargs)
        else:
            obj.save(str(folder), **kwargs)


def load_causal_lm_from_gguf(folder: Path, gguf_file: str, *, show_progress: bool = False):
    """Load a GGUF causal LM (dequantized to float32) as a plain, saveable transformers model.

    transformers marks a GGUF-loaded model as quantized and refuses ``save_pretrained``; we build
    a fresh model from its config and copy the dequantized weights in.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with hf_progress_bars(show_progress):
        tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file, trust_remote_code=False)
        loaded = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_file, trust_remote_code=False)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    return model, tokenizer


def torch_threads(n: int | None):
    """Context manager: run with ``n`` torch intra-op threads, restoring the previous number."""
    import contextlib

    import torch

    @contextlib.contextmanager
    def _ctx():
        if not n:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(int(n))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    return _ctx()


def load_sequence_classifier(path: str, *, show_progress: bool = False, **kwargs):
    """``AutoModelForSequenceClassification.from_pretrained`` without the loading chatter.

    Returns ``(model, info)`` where ``info`` holds the sets ``missing_keys``,
    ``unexpected_keys`` and ``mismatched_keys``, so the caller decides what deserves a warning.
    transformers 5 logs a "LOAD REPORT" table (e.g. the newly initialized classification head,
    which is expected here) and shows a "Loading weights" bar. While this call runs, a filter on
    the ``transformers.modeling_utils`` logger drops that one report and the bar is hidden
    unless ``show_progress``; both are restored afterwards. Other log records pass through.
    """
    from transformers import AutoModelForSequenceClassification

    return _load_quietly(AutoModelForSequenceClassification, path, show_progress, kwargs)


def load_token_classifier(path: str, *, show_progress: bool = False, **kwargs):
    """``AutoModelForTokenClassification.from_pretrained``, quietly: ``(model, info)`` as
    :func:`load_sequence_classifier` returns them."""
    from transformers import AutoModelForTokenClassification

    return _load_quietly(AutoModelForTokenClassification, path, show_progress, kwargs)


def _load_quietly(auto_class, path: str, show_progress: bool, kwargs: dict):
    import logging

    class _DropLoadReport(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "LOAD REPORT" not in str(record.msg)

    report_filter = _DropLoadReport()
    report_logger = logging.getLogger("transformers.modeling_utils")
    report_logger.addFilter(report_filter)
    try:
        with hf_progress_bars(show_progress):
            model, info = auto_class.from_pretrained(
                str(path), output_loading_info=True, trust_remote_code=False, **kwargs
            )
    finally:
        report_logger.removeFilter(report_filter)
    info = {
        "missing_keys": set(info.get("missing_keys", ())),
        "unexpected_keys": set(info.get("unexpected_keys", ())),
        "mismatched_keys": {k[0] if isinstance(k, tuple) else k for k in info.get("mismatched_keys", ())},
    }
    return model, info


def quantize_linear_int8(module, only: list[str] | None = None):
    """``module`` with its ``nn.Linear`` layers as int8 dynamic quantization (CPU inference only).

    ``only`` names the linear submodules to quantize (``named_modules`` names); None quantizes all.

    Weights are quantized per output channel (closer to float than one scale per tensor);
    activations are quantized on the fly. ``torch.ao.quantization`` is deprecated in favour of
    torchao and warns on use; this is the one place to switch when it goes. Its deprecation
    warnings are silenced for this call only.
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantized tensor.*", category=UserWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        spec = {torch.nn.Linear: per_channel_dynamic_qconfig} if only is None else {
            name: per_channel_dynamic_qconfig for name in only}
        return quantize_dynamic(module, spec, dtype=torch.qint8, inplace=True)


def cosine_similarity_loss():
    """sentence-transformers' ``CosineSimilarityLoss`` class (moved under ``sentence_transformer.losses`` in v6)."""
    try:
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import CosineSimilarityLoss
    return CosineSimilarityLoss


def sentence_transformer_from_encoder(path: str, *, max_seq_length: int, pooling_mode: str = "mean"):
    """A ``SentenceTransformer`` of a transformers encoder folder plus a pooling layer.

    sentence-transformers 6 moved the module classes under ``sentence_transformer.modules`` (the old
    ``models`` path warns), renamed the loading arguments (``model_args`` -> ``model_kwargs``, ...) and
    ``get_word_embedding_dimension``; both spellings work here. Remote code is never run.
    """
    from sentence_transformers import SentenceTransformer

    off = {"trust_remote_code": False}
    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

        loading = {"model_kwargs": off, "processor_kwargs": off, "config_kwargs": off}
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

        loading = {"model_args": off, "tokenizer_args": off, "config_args": off}
    word = Transformer(path, max_seq_length=max_seq_length, **loading)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    return SentenceTransformer(modules=[word, Pooling(dim(), pooling_mode=pooling_mode)], device="cpu",
                               trust_remote_code=False)


def load_causal_lm(path: str, *, show_progress: bool = False):
    """``(model, tokenizer)`` of a causal LM folder (or hub id), in eval mode, without the loading chatter.

    transformers 5 shows a "Loading weights" bar; it is hidden unless ``show_progress`` and the
    previous setting is restored afterwards.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with hf_progress_bars(show_progress):
        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(str(path), trust_remote_code=False)
    model.eval()
    return model, tokenizer


def kv_cache_from_tensors(pairs=None, *, config=None):
    """A transformers ``DynamicCache``, empty or holding per-layer ``(key, value)`` tensors (batch first)."""
    from transformers import DynamicCache

    return DynamicCache(list(pairs) if pairs else None, config=config)


def kv_cache_tensors(cache) -> list:
    """Per-layer ``(key, value)`` tensors of a ``DynamicCache`` (``[batch, heads, seq, head_dim]``)."""
    if hasattr(cache, "layers"):  # transformers >= 4.56
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache, strict=True))  # older releases


def load_sentence_transformer(path: str, *, show_progress: bool = False):
    """A ``SentenceTransformer`` on CPU, with transformers' "Loading weights" bar hidden unless ``show_progress``.

    The bar setting is restored afterwards.
    """
    from sentence_transformers import SentenceTransformer

    with hf_progress_bars(show_progress):
        return SentenceTransformer(str(path), device="cpu", trust_remote_code=False)


def import_ray(min_version: str, install: str):
    """The ``ray`` module, when it is installed and at least ``min_version``; else ImportError
    whose message says what was found and the command ``install`` that fixes it."""
    try:
        import ray
    except ImportError:
        raise ImportError(f"Ray is not installed; install it with {install}.") from None
    from packaging.version import InvalidVersion, Version

    try:
        too_old = Version(ray.__version__) < Version(min_version)
    except InvalidVersion:
        too_old = False
    if too_old:
        raise ImportError(
            f"Ray {ray.__version__} is installed but fewshot needs Ray >= {min_version} (the version it is "
            f"tested with); upgrade with {install}, on the driver and on every node of the cluster."
        )
    return ray


def ray_task_failure_types(ray) -> tuple[type[BaseException], ...]:
    """The exceptions ``ray.get`` raises for a task that did not return: a worker or node lost, an
    out-of-memory kill, a cancelled task, an error inside the task (all subclasses of RayError)."""
    return (ray.exceptions.RayError,)
