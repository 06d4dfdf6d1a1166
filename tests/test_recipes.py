"""Every recipe runs as a user would run it (`python recipes/NAME.py --fast`) and prints its metrics.

Recipes use the shipped models, so these are integration tests; --fast keeps each to seconds or a
minute. The saved classifier must load back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import fewshot

RECIPES = Path(__file__).resolve().parent.parent / "recipes"

# recipe -> regexes its output must contain
EXPECTED = {
    "sentiment_8_examples.py": [r"accuracy 0\.\d{3}\s+macro-F1 0\.\d{3}", r"(positive|negative) \(0\.\d\d\)"],
    "many_intents.py": [r"6 intents, 48 labeled examples", r"weakest intents", r"most confused"],
    "prompt_lora.py": [r"zero\s+0\.\d{3}\s+0\.\d{3}", r"lora\s+0\.\d{3}\s+0\.\d{3}"],
    "imbalanced_spam.py": [r"cross-entropy\s+0\.\d{3}", r"focal \+ weights\s+0\.\d{3}", r"best by macro-F1"],
    "csat_regression.py": [r"regression\s+\d\.\d{3}", r"classification\s+\d\.\d{3}", r"score \d\.\d\d -> [1-5]"],
    "multi_label_tags.py": [r"threshold 0\.\d: example-based F1 0\.\d{3}"],
    "sentence_pairs.py": [r"accuracy 0\.\d{3}", r"(answers|does_not_answer)\s+Parcels to Norway"],
    "choose_a_strategy.py": [r"use \w[\w-]*", r"fit s", r"<- chosen"],
    "ner_few_shot.py": [r"training on \d+ sentences", r"entity F1 0\.\d{3}", r"micro avg"],
    "label_smarter.py": [r"round 2: \d+ labels", r"random, same \d+ labels -> accuracy 0\.\d{3}", r"pre-labels:"],
    "distill_and_serve.py": [r"teacher \(prompt LoRA\)\s+accuracy 0\.\d{3}", r"student \(distilled\)\s+accuracy 0\.\d{3}",
                             r"ONNX int8 agrees with the student on \d+\.\d%"],
}


def test_every_recipe_has_a_smoke_test():
    assert sorted(p.name for p in RECIPES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.integration
@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_recipe_runs_fast(recipe, tmp_path):
    out = tmp_path / "model"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, str(RECIPES / recipe), "--fast", "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for pattern in EXPECTED[recipe]:
        assert re.search(pattern, proc.stdout), f"{pattern!r} not in output:\n{proc.stdout}"
    if out.exists():
        fewshot.load(out)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["model"]), "recipes write only where told"
