"""Tiny models built inside the test process (seconds, no downloads).

- a BERT encoder (hidden 32, 2 layers) with a WordPiece vocab drawn from a corpus;
- the same BERT wrapped as a sentence-transformer (mean pooling);
- a Llama decoder (hidden 16, 2 layers) with a byte-level BPE tokenizer trained on a corpus.
"""

from __future__ import annotations

import re
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _words(corpus: list[str]) -> list[str]:
    seen = {}
    for text in corpus:
        for w in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower()):
            seen[w] = None
    return list(seen)


def make_tiny_bert(folder: Path, corpus: list[str], seed: int = 0) -> Path:
    """A 2-layer BERT (hidden 32) and a fast WordPiece tokenizer over the corpus' words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = SPECIALS + _words(corpus)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    # transformers 5 takes the vocabulary as `vocab` (a `vocab_file` alone is ignored: every word -> [UNK])
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, vocab_file=str(folder / "vocab.txt"),
                                  do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_tiny_sentence_transformer(folder: Path, corpus: list[str], seed: int = 0) -> Path:
    """The tiny BERT with a mean-pooling layer, saved as a sentence-transformers folder."""
    from fewshot.compat import sentence_transformer_from_encoder

    folder = Path(folder)
    bert = make_tiny_bert(folder.parent / f"{folder.name}-bert", corpus, seed=seed)
    sentence_transformer_from_encoder(str(bert), max_seq_length=64).save(str(folder))
    return folder


def make_tiny_llama(folder: Path, corpus: list[str], seed: int = 0, vocab_size: int = 600) -> Path:
    """A 2-layer Llama (hidden 16) with a byte-level BPE tokenizer trained on the corpus."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=1,
                            special_tokens=["<|endoftext|>", "<unk>"], show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                        eos_token="<|endoftext|>", unk_token="<unk>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
