"""Published few-shot figures to show beside ours: the SetFit paper (Tunstall et al. 2022,
arXiv 2209.11055, Table 2) and the result files of the huggingface/setfit repository.

The figures are held here (users run the harness without the project's shared folder);
:func:`parse_reference_markdown` reads the shared ``REFERENCE_RESULTS.md`` table so a test can
check this copy against it.

Protocol of the published figures: k examples per class drawn with ``random_state=seed`` (seeds
0-9), mean over the 10 splits (std in parentheses where published), the whole test split; accuracy,
except Amazon Counterfactual (MCC). Values here are fractions (0.436 = 43.6 %).

Example::

    from fewshot.bench.references import references_for
    references_for("sst5", 8)   # [Reference(method='setfit-mpnet', ...), ...]
"""

from __future__ import annotations

import re
from typing import NamedTuple

SOURCE = "SetFit paper (Tunstall et al. 2022, arXiv 2209.11055, Table 2) and huggingface/setfit result files"

#: method key -> display name
METHODS = {
    "roberta-large-ft": "fine-tune RoBERTa-large",
    "adapet": "ADAPET (ALBERT-xxlarge)",
    "t-few-3b": "T-Few 3B",
    "setfit-mpnet": "SetFit mpnet (paper)",
    "setfit-minilm": "SetFit MiniLM-L6 (repo)",
    "linear-probe-mpnet": "linear probe mpnet (repo)",
    "bert-base-ft-full": "BERT-base fine-tuned, whole train split (Devlin et al. 2019)",
}
#: the table's column names -> our dataset names (and their metric)
DATASETS = {
    "SST-5": ("sst5", "accuracy"),
    "AmazonCF": ("amazon_counterfactual", "mcc"),
    "CR": ("cr", "accuracy"),
    "Emotion": ("emotion", "accuracy"),
    "EnronSpam": ("enron_spam", "accuracy"),
    "AG News": ("ag_news", "accuracy"),
    "CoNLL-2003": ("conll2003", "entity_f1"),
}
_ROW_METHODS = {
    "fine-tune RoBERTa-large": "roberta-large-ft",
    "ADAPET (ALBERT-xxlarge)": "adapet",
    "ADAPET": "adapet",
    "T-Few 3B": "t-few-3b",
    "SetFit paraphrase-mpnet-base-v2": "setfit-mpnet",
    "SetFit all-MiniLM-L6-v2 (repo results)": "setfit-minilm",
    "linear probe, frozen mpnet + logistic regression (repo)": "linear-probe-mpnet",
}


class Reference(NamedTuple):
    """One published figure: ``method`` (a key of :data:`METHODS`) on ``dataset`` at ``k`` per class."""

    method: str
    dataset: str
    k: int
    value: float
    std: float | None
    metric: str

    @property
    def method_name(self) -> str:
        return METHODS[self.method]


# Table 2 and the repository's result files, as fractions. (dataset -> (value, std or None)) per (method, k).
_TABLE: dict[tuple[str, int], dict[str, tuple[float, float | None]]] = {
    ("roberta-large-ft", 8): {
        "sst5": (33.5, 2.1),
        "amazon_counterfactual": (9.2, 4.9),
        "cr": (58.8, 6.3),
        "emotion": (28.7, 6.8),
        "enron_spam": (85.0, 6.0),
        "ag_news": (81.7, 3.8),
    },
    ("adapet", 8): {
        "sst5": (50.0, 1.9),
        "amazon_counterfactual": (19.4, 7.3),
        "cr": (91.0, 1.3),
        "emotion": (46.2, 3.7),
        "enron_spam": (85.1, 3.7),
        "ag_news": (85.1, 2.7),
    },
    ("t-few-3b", 8): {
        "sst5": (55.0, 1.4),
        "amazon_counterfactual": (19.0, 3.9),
        "cr": (92.1, 1.0),
        "emotion": (57.4, 1.8),
        "enron_spam": (93.1, 1.6),
    },
    ("setfit-mpnet", 8): {
        "sst5": (43.6, 3.0),
        "amazon_counterfactual": (40.3, 11.8),
        "cr": (88.5, 1.9),
        "emotion": (48.8, 4.5),
        "enron_spam": (90.1, 3.4),
        "ag_news": (82.9, 2.8),
    },
    ("setfit-minilm", 8): {
        "sst5": (29.8, None),
        "amazon_counterfactual": (19.7, None),
        "cr": (71.6, None),
        "emotion": (39.1, None),
        "ag_news": (83.1, None),
    },
    ("linear-probe-mpnet", 8): {
        "sst5": (36.7, None),
        "amazon_counterfactual": (22.1, None),
        "cr": (84.2, None),
        "emotion": (37.8, None),
        "enron_spam": (90.4, None),
        "ag_news": (74.3, None),
    },
    ("roberta-large-ft", 64): {
        "sst5": (45.9, 6.9),
        "amazon_counterfactual": (52.8, 12.1),
        "cr": (88.9, 1.9),
        "emotion": (65.0, 17.2),
        "enron_spam": (95.9, 0.8),
        "ag_news": (88.4, 0.9),
    },
    ("adapet", 64): {
        "sst5": (54.1, 0.8),
        "amazon_counterfactual": (54.1, 6.4),
        "cr": (92.6, 0.7),
        "emotion": (72.0, 2.2),
        "enron_spam": (96.0, 0.9),
        "ag_news": (88.0, 0.6),
    },
    ("setfit-mpnet", 64): {
        "sst5": (51.9, 0.6),
        "amazon_counterfactual": (61.9, 2.9),
        "cr": (90.4, 0.6),
        "emotion": (76.2, 1.3),
        "enron_spam": (96.1, 0.8),
        "ag_news": (88.0, 0.7),
    },
}
# NER: CoNLL-2003 English test, entity F1, the whole training split (k = 0 in our suites).
_TABLE[("bert-base-ft-full", 0)] = {"conll2003": (92.4, None)}
# Learning curves of SetFit-mpnet from the repository's result files (k = 2, 4, 16, 32; 8 and 64 are above).
_CURVES = {
    "sst5": {2: 34.0, 4: 38.8, 16: 47.0, 32: 49.5},
    "emotion": {2: 29.7, 4: 36.3, 16: 59.4, 32: 68.4},
}
_METRIC = {ours: metric for ours, metric in DATASETS.values()}


def all_references() -> list[Reference]:
    """Every published figure held here."""
    out = []
    for (method, k), row in _TABLE.items():
        for dataset, (value, std) in row.items():
            out.append(
                Reference(
                    method,
                    dataset,
                    k,
                    round(value / 100, 4),
                    None if std is None else round(std / 100, 4),
                    _METRIC[dataset],
                )
            )
    for dataset, curve in _CURVES.items():
        for k, value in curve.items():
            out.append(Reference("setfit-mpnet", dataset, k, round(value / 100, 4), None, _METRIC[dataset]))
    return sorted(out, key=lambda r: (r.dataset, r.k, r.method))


def references_for(dataset: str, k: int) -> list[Reference]:
    """Published figures for our dataset name (``sst5``, ``cr``, ``emotion``, ``ag_news``, ...) at ``k``."""
    return [r for r in all_references() if r.dataset == dataset and r.k == k]


def parse_reference_markdown(text: str) -> list[Reference]:
    """Read the published figures out of ``REFERENCE_RESULTS.md`` (its Table 2 rows and the
    learning-curve lines); rows for the full training set are skipped."""
    out: list[Reference] = []
    header: list[str] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("| N |"):
            header = cells
            continue
        if header is None or not line.lstrip().startswith("|") or set(line.strip()) <= set("|-: "):
            continue
        if not cells[0].isdigit():
            continue
        k, method = int(cells[0]), _ROW_METHODS.get(cells[1])
        if method is None:
            continue
        for col, cell in zip(header[2:], cells[2:], strict=False):
            if col not in DATASETS:
                continue
            m = re.match(r"^([\d.]+)(?:\s*\(([\d.]+)\))?$", cell)
            if not m:
                continue
            dataset, metric = DATASETS[col]
            std = round(float(m.group(2)) / 100, 4) if m.group(2) else None
            out.append(Reference(method, dataset, k, round(float(m.group(1)) / 100, 4), std, metric))
    curve = re.search(r"\(k = ([\d /]+)\):\s*\n(.+?)(?:\n\n|$)", text, flags=re.S)
    if curve:
        ks = [int(x) for x in curve.group(1).split("/")]
        for name, values in re.findall(
            r"(SST-5|Emotion) ([\d. /]+?)(?:;|\.\s|\.$|$)", curve.group(2).replace("\n", " ")
        ):
            dataset, metric = DATASETS[name]
            for k, v in zip(ks, [float(x) for x in values.split("/")], strict=True):
                if not any(r.dataset == dataset and r.k == k and r.method == "setfit-mpnet" for r in out):
                    out.append(Reference("setfit-mpnet", dataset, k, round(v / 100, 4), None, metric))
    ner = re.search(r"CoNLL-2003 English test, entity-level F1.*?BERT-base\s+fine-tuned on the full training set ([\d.]+)",
                    text, flags=re.S)
    if ner:
        out.append(Reference("bert-base-ft-full", "conll2003", 0, round(float(ner.group(1)) / 100, 4), None, "entity_f1"))
    return sorted(out, key=lambda r: (r.dataset, r.k, r.method))
