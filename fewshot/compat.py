"""Version-dependent code of our dependencies, in one place.

When a new transformers, sentence-transformers, setfit or peft release changes an API we use,
this is the file to change. Everything else calls these helpers.
"""

from __future__ import annotations

from pathlib import Path


def load_causal_lm_from_gguf(folder: Path, gguf_file: str, *, show_progress: bool = False):
    """Load a GGUF causal LM (dequantized to float32) as a plain, saveable transformers model.

    transformers marks a GGUF-loaded model as quantized and refuses ``save_pretrained``; we build
    a fresh model from its config and copy the dequantized weights in.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    bar_was_enabled = hf_logging.is_progress_bar_enabled()
    if not show_progress:
        hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file)
        loaded = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=gguf_file)
    finally:
        if bar_was_enabled and not show_progress:
            hf_logging.enable_progress_bar()
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


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU) for a deterministic fit."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
