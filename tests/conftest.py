"""Shared fixtures: tiny in-process models (unit tests), the shipped models and the benchmark
datasets (integration tests). Nothing is downloaded: the hub is switched off for the test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tiny_models import make_tiny_bert, make_tiny_llama, make_tiny_sentence_transformer  # noqa: E402


@pytest.fixture(scope="session")
def demo_corpus() -> list[str]:
    """Every text of the built-in demo data: the vocabulary of the tiny models."""
    from fewshot.demo import load_demo

    texts = []
    for task in ("intent", "pairs"):
        ds = load_demo(task)
        for x in ds.train.X + ds.test.X:
            texts.extend(x if isinstance(x, tuple) else [x])
    extra = ["Review: Sentiment: Text: Label: Question: Answer: positive negative neutral yes no great awful "
             "the a is it this that good bad"]
    return texts + extra


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, demo_corpus) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert", demo_corpus)


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory, demo_corpus) -> Path:
    return make_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny") / "st", demo_corpus)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, demo_corpus) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama", demo_corpus)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    from fewshot.models import resolve_model

    return resolve_model("minilm")


@pytest.fixture(scope="session")
def smollm_path() -> str:
    from fewshot.models import resolve_model

    return resolve_model("smollm2-135m")


@pytest.fixture(scope="session")
def mpnet_path() -> str:
    from fewshot.models import resolve_model

    return resolve_model("mpnet")


@pytest.fixture(scope="session")
def gemma_path() -> str:
    from fewshot.models import resolve_model

    return resolve_model("gemma3-270m")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark datasets; tests that need them skip on a user's machine without them."""
    value = os.environ.get("FEWSHOT_DATA_DIR")
    if not value:
        pytest.skip("FEWSHOT_DATA_DIR is unset: the benchmark datasets are not available here")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"FEWSHOT_DATA_DIR={value} does not exist")
    return path


@pytest.fixture
def clean_cwd(tmp_path, monkeypatch) -> Path:
    """Run the test in an empty working directory and fail if anything was written into it."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work
    left = sorted(p.name for p in work.iterdir())
    assert not left, f"files written into the working directory: {left}"
