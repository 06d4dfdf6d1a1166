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

# `make test` runs the suite on two pytest-xdist workers (`-n 2`). Each worker then gets its share of
# the cores for torch, and so do the processes its tests start: two workers of two threads each on a
# two-core machine would fight over the cores. Set before torch is first imported in this process.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

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


@pytest.fixture(scope="module")
def one_ray_cluster_at_a_time(tmp_path_factory):
    """Hold a lock while a test module runs its own Ray cluster, so that the two workers of `make test`
    (``-n 2 --dist loadfile``: two test files at once) never run two clusters, each sized for the
    whole machine, side by side."""
    import fcntl

    # the parent of the base temp folder is shared by the xdist workers of one run
    lock_path = tmp_path_factory.getbasetemp().parent / "fewshot-tests-ray.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
