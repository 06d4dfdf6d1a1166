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


def cuda_native_bf16() -> bool:
    """Whether the current CUDA GPU computes in bfloat16 natively (Ampere or later), emulation not
    counted. Newer torch releases give ``is_bf16_supported`` an ``including_emulation`` flag that
    defaults to True; older ones answer for native support only."""
    import inspect

    import torch

    if not torch.cuda.is_available():
        return False
    if "including_emulation" in inspect.signature(torch.cuda.is_bf16_supported).parameters:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    return bool(torch.cuda.is_bf16_supported())


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


def export_onnx(module, args: tuple, path, *, input_names: list[str], output_names: list[str],
                dynamic_axes: dict, opset: int = 17) -> None:
    """Write ``module`` (in eval mode) called on ``args`` as an ONNX graph at ``path``.

    Uses torch's TorchScript-based exporter (``dynamo=False``): for the encoders we export it takes
    about a second where the torch.export-based one (the default since torch 2.9) takes tens, and
    both give the same graphs to 1e-6. Its deprecation notice and tracer warnings (data-dependent
    branches of transformers' masking code, which are constant for the inputs we feed) are silenced
    for this call only. When a torch release drops it, the torch.export-based exporter is used,
    with the same dynamic axes. Needs the ``onnx`` package (``pip install 'fewshot[export]'``).
    """
    import warnings

    import torch

    try:
        import onnx  # noqa: F401
    except ModuleNotFoundError as exc:
        from .errors import missing_dependency

        raise (missing_dependency(exc, "exporting to ONNX") or exc) from None
    module.eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r".*aten::index.*")
        try:
            torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False, do_constant_folding=True)
            return
        except (TypeError, NotImplementedError, RuntimeError) as exc:  # the TorchScript exporter is gone
            if "dynamo" not in str(exc) and "TorchScript" not in str(exc):
                raise
        shapes = tuple({axis: torch.export.Dim(f"{name}_{axis}_{label}") for axis, label in dynamic_axes[name].items()}
                       for name in input_names)
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_shapes=shapes, opset_version=max(opset, 18), dynamo=True, external_data=False)


def quantize_onnx_int8(source, target, *, keep_float: tuple[str, ...] = ()) -> None:
    """onnxruntime's dynamic int8 quantization of an ONNX graph, like ``torch.ao`` dynamic quantization:
    the weight matrices of the linear layers become int8 (per output channel), activations are
    quantized on the fly.

    Only MatMul/Gemm nodes with a weight are quantized (not the attention products of two
    activations), and not the nodes whose name starts with one of ``keep_float`` (the classifier
    head: on a small logistic head int8 costs more accuracy than it saves time). Weights use 7 bits
    (``reduce_range``): with 8-bit weights and unsigned activations, CPUs without VNNI saturate their
    int16 accumulators (on a tiny BERT, argmax agreement with float fell to 0.54; 0.96-1.0 with
    reduce_range). onnxruntime's advice to pre-process the graph, logged on the root logger, is
    dropped during this call.
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    nodes = [node.name for node in graph.node
             if node.op_type in ("MatMul", "Gemm") and any(name in weights for name in node.input)
             and not any(node.name.startswith(prefix) for prefix in keep_float)]

    class _DropAdvice(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "pre-processing before quantization" not in str(record.msg)

    advice = _DropAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=nodes)
    finally:
        root.removeFilter(advice)
