"""CLIP text transformer at toy width (transformers `CLIPTextModel` semantics, SD's text encoder).

Token + learned position embeddings (77 positions), causal self-attention, pre-LayerNorm blocks with
quick_gelu MLPs, a final LayerNorm; `pooler_output` is the final state at the EOS token, found as the
argmax of the ids (openai/CLIP `model.py: encode_text`), which works because `<|endoftext|>` has the
highest id in the vocabulary.
"""
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class TextEncoderConfig:
    vocab_size: int
    hidden_size: int = 64
    intermediate_size: int = 256
    num_hidden_layers: int = 3
    num_attention_heads: int = 4
    max_position_embeddings: int = 77
    layer_norm_eps: float = 1e-5

    def hf_config(self, bos_token_id, eos_token_id, pad_token_id, projection_dim):
        """config.json as transformers' CLIPTextConfig writes it (what Optimum copies next to model.onnx)."""
        return {
            "architectures": ["CLIPTextModel"],
            "attention_dropout": 0.0,
            "bos_token_id": bos_token_id,
            "dropout": 0.0,
            "eos_token_id": eos_token_id,
            "hidden_act": "quick_gelu",
            "initializer_factor": 1.0,
            "initializer_range": 0.02,
            "model_type": "clip_text_model",
            "pad_token_id": pad_token_id,
            "projection_dim": projection_dim,
            "torch_dtype": "float32",
            **asdict(self),
        }


class CLIPAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, mask):
        b, n, c = x.shape
        split = lambda t: t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x) * self.scale), split(self.k_proj(x)), split(self.v_proj(x))
        attn = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        return self.out_proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg.hidden_size
        self.layer_norm1 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.self_attn = CLIPAttention(d, cfg.num_attention_heads)
        self.layer_norm2 = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(d, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, d)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        h = self.fc1(self.layer_norm2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class CLIPTextModel(nn.Module):
    def __init__(self, cfg: TextEncoderConfig):
        super().__init__()
        self.config = cfg
        n = cfg.max_position_embeddings
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embedding = nn.Embedding(n, cfg.hidden_size)
        self.layers = nn.ModuleList(CLIPEncoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.register_buffer("position_ids", torch.arange(n)[None], persistent=False)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.01)

    def forward(self, input_ids):
        """input_ids [batch, seq] (any integer dtype) -> (last_hidden_state [b, seq, d], pooler_output [b, d])."""
        seq = input_ids.shape[1]
        ids = input_ids.long()
        x = self.token_embedding(ids) + self.position_embedding(self.position_ids[:, :seq])
        pos = self.position_ids[0, :seq]
        # causal mask, built from positions rather than stored (a 77x77 constant would be most of a fixture)
        mask = torch.where(pos[None, :] > pos[:, None], torch.tensor(float("-inf")), torch.tensor(0.0))
        for layer in self.layers:
            x = layer(x, mask)
        x = self.final_layer_norm(x)
        # ArgMax over float ids: onnxruntime's ArgMax has no int64 kernel; ids < 2^24 are exact in float32.
        eos = ids.float().argmax(dim=-1)
        pooled = x[torch.arange(x.shape[0]), eos]
        return x, pooled
