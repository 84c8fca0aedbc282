"""A reference decoder in PyTorch, in float64, for DocTune's adapter tests.

It runs a Hugging Face-layout checkpoint (config.json + model.safetensors) of a llama, qwen2, qwen3, gemma3 or phi3
model the way transformers' modelling code does (RMSNorm, RoPE by rotate_half with linear or LongRoPE scaling,
grouped-query attention, Gemma 3's sliding-window layers and extra norms, Phi-3's fused projections), with a
PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) applied as PEFT applies it: beside
each adapted linear layer, y = x W^T + b + scale * (x A^T) B^T, scale = lora_alpha / r (or / sqrt(r) with rsLoRA).
Only torch is needed: safetensors is parsed by hand (an 8-byte header length, a JSON header, raw little-endian
tensors).

Usage: torch_reference.py CHECKPOINT_DIR [ADAPTER_DIR|-] TOKEN_ID...
Prints the next-token probabilities after the tokens, as a JSON array over the vocabulary.
"""
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = bytearray(data[8 + n + start : 8 + n + end])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).to(torch.float64)
    return out


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, positions, theta, rotary_dim, linear_factor=1.0, ext_factors=None, mscale=1.0):
    """transformers' apply_rotary_pos_emb on the first rotary_dim dimensions of x [heads, T, head_dim]: the two
    halves rotated together (rotate_half); linear scaling divides the frequencies, LongRoPE's factors too."""
    inv_freq = 1.0 / theta ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim)
    if ext_factors is not None:
        inv_freq = inv_freq / torch.tensor(ext_factors, dtype=torch.float64)
    freqs = positions[:, None] * (inv_freq / linear_factor)[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos() * mscale, emb.sin() * mscale
    rot, rest = x[..., :rotary_dim], x[..., rotary_dim:]
    x1, x2 = rot[..., : rotary_dim // 2], rot[..., rotary_dim // 2 :]
    rotated = torch.cat([-x2, x1], dim=-1)
    return torch.cat([rot * cos + rotated * sin, rest], dim=-1)


def rope_params(c, layer):
    """(theta, linear factor, LongRoPE factors, attention factor) for a layer, as transformers sets them up."""
    scaling = c.get("rope_scaling") or {}
    if c["model_type"] == "gemma3" and is_sliding(c, layer):
        return c["rope_local_base_freq"], 1.0, None, 1.0
    if scaling.get("rope_type") == "linear":
        return c["rope_theta"], scaling["factor"], None, 1.0
    if scaling.get("rope_type") == "longrope":
        factor = c["max_position_embeddings"] / c["original_max_position_embeddings"]
        mscale = math.sqrt(1 + math.log(factor) / math.log(c["original_max_position_embeddings"])) if factor > 1 else 1.0
        # The short factors up to the original context (these tests stay far below it).
        return c["rope_theta"], 1.0, scaling["short_factor"], mscale
    return c["rope_theta"], 1.0, None, 1.0


def is_sliding(c, layer):
    return c["model_type"] == "gemma3" and (layer + 1) % c["sliding_window_pattern"] != 0


class Lora:
    def __init__(self, adapter_dir):
        self.pairs = {}
        if adapter_dir is None:
            return
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            config = json.load(f)
        r = config["r"]
        alpha = config.get("lora_alpha", r)
        self.scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
        tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
        for name, a in tensors.items():
            if name.endswith(".lora_A.weight"):
                module = name[: -len(".lora_A.weight")].removeprefix("base_model.model.")
                self.pairs[module] = (a, tensors[name.replace(".lora_A.", ".lora_B.")])

    def linear(self, x, weights, module, bias=True):
        y = x @ weights[module + ".weight"].T
        if bias and module + ".bias" in weights:
            y = y + weights[module + ".bias"]
        if module in self.pairs:
            a, b = self.pairs[module]
            y = y + self.scale * ((x @ a.T) @ b.T)
        return y


def forward(checkpoint_dir, adapter_dir, tokens):
    with open(os.path.join(checkpoint_dir, "config.json")) as f:
        c = json.load(f)
    w = read_safetensors(os.path.join(checkpoint_dir, "model.safetensors"))
    lora = Lora(adapter_dir)
    kind = c["model_type"]
    gemma = kind == "gemma3"
    eps = c["rms_norm_eps"]
    n_head, n_kv, hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    rotary_dim = int(hd * c.get("partial_rotary_factor", 1.0))
    scale = c["query_pre_attn_scalar"] ** -0.5 if gemma else hd**-0.5
    T = len(tokens)
    positions = torch.arange(T, dtype=torch.float64)
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]

    def norm(x, name):
        # Gemma3RMSNorm scales by (1 + w).
        return rms_norm(x, (1 + w[name]) if gemma else w[name], eps)

    def act(gate):
        return torch.nn.functional.gelu(gate, approximate="tanh") if gemma else torch.nn.functional.silu(gate)

    h = w["model.embed_tokens.weight"][torch.tensor(tokens)]  # [T, embd]
    if gemma:
        h = h * math.sqrt(c["hidden_size"])
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = norm(h, p + "input_layernorm.weight")
        if kind == "phi3":
            qkv = lora.linear(x, w, p + "self_attn.qkv_proj")
            q, k, v = qkv.split([n_head * hd, n_kv * hd, n_kv * hd], dim=-1)
        else:
            q, k, v = (lora.linear(x, w, p + f"self_attn.{m}_proj") for m in "qkv")
        q = q.view(T, n_head, hd).transpose(0, 1)  # [H, T, hd]
        k = k.view(T, n_kv, hd).transpose(0, 1)  # [KV, T, hd]
        v = v.view(T, n_kv, hd).transpose(0, 1)
        if kind in ("qwen3", "gemma3"):
            q = norm(q, p + "self_attn.q_norm.weight")
            k = norm(k, p + "self_attn.k_norm.weight")
        theta, linear, ext, mscale = rope_params(c, l)
        q = rope(q, positions, theta, rotary_dim, linear, ext, mscale)
        k = rope(k, positions, theta, rotary_dim, linear, ext, mscale)
        # transformers' repeat_kv: query head i reads key/value head i // (n_head / n_kv).
        k = k.repeat_interleave(n_head // n_kv, dim=0)
        v = v.repeat_interleave(n_head // n_kv, dim=0)
        allowed = j <= i
        if is_sliding(c, l):
            allowed = allowed & (i - j < c["sliding_window"])
        scores = (q @ k.transpose(1, 2)) * scale + torch.where(allowed, 0.0, float("-inf")).to(torch.float64)
        o = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(T, n_head * hd)
        o = lora.linear(o, w, p + "self_attn.o_proj")
        if gemma:
            h = h + norm(o, p + "post_attention_layernorm.weight")
            x = norm(h, p + "pre_feedforward_layernorm.weight")
        else:
            h = h + o
            x = norm(h, p + "post_attention_layernorm.weight")
        if kind == "phi3":
            gate, up = lora.linear(x, w, p + "mlp.gate_up_proj").chunk(2, dim=-1)
        else:
            gate, up = lora.linear(x, w, p + "mlp.gate_proj"), lora.linear(x, w, p + "mlp.up_proj")
        m = lora.linear(act(gate) * up, w, p + "mlp.down_proj")
        h = h + (norm(m, p + "post_feedforward_layernorm.weight") if gemma else m)
    h = norm(h, "model.norm.weight")
    head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else w["lm_head.weight"]
    return torch.softmax(h[-1] @ head.T, dim=-1)


def main():
    torch.set_num_threads(1)
    checkpoint_dir, adapter_dir = sys.argv[1], sys.argv[2]
    tokens = [int(t) for t in sys.argv[3:]]
    probs = forward(checkpoint_dir, None if adapter_dir == "-" else adapter_dir, tokens)
    json.dump(probs.tolist(), sys.stdout)


if __name__ == "__main__":
    main()
