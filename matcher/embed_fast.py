"""A numpy forward pass of BERT-family sentence-transformers models, for a fast cold start of `match`.

Importing torch and sentence-transformers takes 4–6 s on the target machines, longer than a whole cold
`match` may take. For the models it supports (BERT encoder, mean pooling, optional normalisation: the
bundled all-MiniLM-L6-v2 among them) this module computes the same vectors from the same safetensors
weights and the same `tokenizers` tokenizer with numpy alone. tests/test_embed_fast.py checks that they
agree with sentence-transformers to 1e-5 on real text. Anything else falls back to sentence-transformers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["NumpyBertEmbedder", "supports"]


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1.5e-7 (Abramowitz & Stegun 7.1.26), enough for float32 activations."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return s * y


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def supports(path: str) -> bool:
    """Whether `path` is a local sentence-transformers folder this module can run."""
    p = Path(path)
    try:
        modules = json.loads((p / "modules.json").read_text())
        config = json.loads((p / "config.json").read_text())
    except (OSError, ValueError):
        return False
    types = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if types not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    pooling = next((p / m["path"] for m in modules if m["type"].endswith("Pooling")), None)
    try:
        pconf = json.loads((pooling / "config.json").read_text()) if pooling else {}
    except (OSError, ValueError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and pconf.get("pooling_mode_mean_tokens") and not pconf.get("pooling_mode_cls_token")
            and not pconf.get("pooling_mode_max_tokens")
            and (p / "model.safetensors").is_file() and (p / "tokenizer.json").is_file())


class NumpyBertEmbedder:
    """BERT + mean pooling (+ L2 normalisation) in numpy, loading only `tokenizers` and `safetensors`."""

    def __init__(self, name: str, path: str, max_seq_length: int = 256, batch_size: int = 16):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        p = Path(path)
        self.name = name
        self.config = json.loads((p / "config.json").read_text())
        modules = json.loads((p / "modules.json").read_text())
        self.normalized = any(m["type"].endswith("Normalize") for m in modules)
        self.dim = int(self.config["hidden_size"])
        self.batch_size = batch_size
        w = load_file(str(p / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in w.items()}
        self.tokenizer = Tokenizer.from_file(str(p / "tokenizer.json"))
        self.max_seq_length = max_seq_length
        self.tokenizer.no_padding()

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token states of a padded batch: ids and mask (b, n) -> (b, n, dim)."""
        w, c = self.w, self.config
        eps = float(c.get("layer_norm_eps", 1e-12))
        heads = int(c["num_attention_heads"])
        b, n = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * np.finfo(np.float32).min
        hd = self.dim // heads
        for i in range(int(c["num_hidden_layers"])):
            pre = f"encoder.layer.{i}."

            def lin(t, name):
                return t @ w[pre + name + ".weight"].T + w[pre + name + ".bias"]

            def split(t):  # contiguous, or numpy's stacked matmul leaves BLAS for a slow loop
                return np.ascontiguousarray(t.reshape(b, n, heads, hd).transpose(0, 2, 1, 3))
            q, k, v = (split(lin(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            att = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(hd)) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = np.ascontiguousarray((att @ v).transpose(0, 2, 1, 3)).reshape(b, n, self.dim)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"), w[pre + "attention.output.LayerNorm.weight"],
                            w[pre + "attention.output.LayerNorm.bias"], eps)
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(x + lin(h, "output.dense"), w[pre + "output.LayerNorm.weight"],
                            w[pre + "output.LayerNorm.bias"], eps)
        return x

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              max_tokens: int | None = None) -> np.ndarray:
        """Vectors of texts truncated to `max_tokens` (default: max_seq_length) tokens."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        self.tokenizer.enable_truncation(max_length=min(max_tokens or self.max_seq_length, self.max_seq_length))
        encs = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))  # similar lengths share a batch
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            n = max(len(encs[i].ids) for i in rows)
            ids = np.zeros((len(rows), n), dtype=np.int64)
            mask = np.zeros((len(rows), n), dtype=np.int64)
            for r, i in enumerate(rows):
                e = encs[i].ids
                ids[r, :len(e)] = e
                mask[r, :len(e)] = 1
            x = self._encode(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            if self.normalized:
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled
            if progress:
                progress(len(rows))
        return out
