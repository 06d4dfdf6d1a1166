"""Named-entity recognition helpers: tag schemes and spans (:mod:`fewshot.ner.tags`), input, files
and few-shot sampling (:mod:`fewshot.ner.data`). The estimator is :class:`fewshot.TokenClassifier`.

Importing this package imports no torch.
"""

from __future__ import annotations

from .data import (
    Sentence,
    as_sentences,
    as_tag_sequences,
    is_token_file,
    k_mention_indices,
    mention_counts,
    read_conll,
    read_token_file,
    read_token_jsonl,
    sample_k_mentions,
    split_words,
)
from .tags import check_iob2, entity_spans, iob1_to_iob2, tag_set, viterbi

__all__ = [
    "Sentence", "as_sentences", "as_tag_sequences", "check_iob2", "entity_spans", "iob1_to_iob2",
    "is_token_file", "k_mention_indices", "mention_counts", "read_conll", "read_token_file",
    "read_token_jsonl", "sample_k_mentions", "split_words", "tag_set", "viterbi",
]
