#!/usr/bin/env python3
"""PyTorch peer for `npm run bench:train`: the same Llama LoRA training step as DocTune's trainer (same
weights, exported by the benchmark; same data, sequence length, batch, rank and targets), timed the same
way. Prints one JSON line: {"tokens_per_s", "ms_per_step", "first_loss", "last_loss"}."""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

cfg = json.load(open(sys.argv[1]))
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
hp = cfg["hparams"]
n_embd, n_head, n_kv, n_layer = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["n_layer"]
hd = n_embd // n_head
eps = hp["rms_eps"]
r, scale = cfg["rank"], cfg["alpha"] / cfg["rank"]


def load(name):
    t = cfg["tensors"][name]
    a = np.fromfile(t["file"], dtype=np.float32)
    return torch.from_numpy(a.reshape(list(reversed(t["ne"]))))  # ggml ne=[n_in, n_out] -> [n_out, n_in]


W = {name: load(name) for name in cfg["tensors"]}
targets = cfg["targets"]
lora = {}
for l in range(n_layer):
    for tgt in targets:
        w = W[f"blk.{l}.{tgt}.weight"]
        a = torch.empty(r, w.shape[1]).uniform_(-1 / w.shape[1] ** 0.5, 1 / w.shape[1] ** 0.5).requires_grad_()
        b = torch.zeros(w.shape[0], r, requires_grad=True)
        lora[(l, tgt)] = (a, b)
params = [p for pair in lora.values() for p in pair]
opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.0)


def linear(x, l, tgt):
    y = x @ W[f"blk.{l}.{tgt}.weight"].T
    if (l, tgt) in lora:
        a, b = lora[(l, tgt)]
        y = y + scale * ((x @ a.T) @ b.T)
    return y


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos):  # llama's "normal" rope: adjacent pairs rotate
    d = x.shape[-1]
    inv = 1.0 / (hp["rope_base"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    ang = pos[:, None].float() * inv[None, :]
    cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)


def forward(tokens):
    T = tokens.shape[0]
    pos = torch.arange(T)
    x = W["token_embd.weight"][tokens]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(n_layer):
        h = rms(x, W[f"blk.{l}.attn_norm.weight"])
        q = rope(linear(h, l, "attn_q").view(T, n_head, hd), pos)
        k = rope(linear(h, l, "attn_k").view(T, n_kv, hd), pos)
        v = linear(h, l, "attn_v").view(T, n_kv, hd)
        k = k.repeat_interleave(n_head // n_kv, dim=1)
        v = v.repeat_interleave(n_head // n_kv, dim=1)
        att = (q.transpose(0, 1) @ k.transpose(0, 1).transpose(1, 2)) / hd ** 0.5 + mask
        o = (att.softmax(-1) @ v.transpose(0, 1)).transpose(0, 1).reshape(T, n_embd)
        x = x + linear(o, l, "attn_output")
        h = rms(x, W[f"blk.{l}.ffn_norm.weight"])
        x = x + linear(F.silu(linear(h, l, "ffn_gate")) * linear(h, l, "ffn_up"), l, "ffn_down")
    x = rms(x, W["output_norm.weight"])
    return x @ W["output.weight"].T


data = [torch.tensor(s, dtype=torch.long) for s in cfg["sequences"]]
batch = cfg["batch"]


def step(i):
    opt.zero_grad()
    total = 0.0
    for s in data[i * batch:(i + 1) * batch]:
        loss = F.cross_entropy(forward(s[:-1]), s[1:])
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return total / batch


steps = len(data) // batch
first = step(0)
for i in range(1, cfg["warmup_steps"]):
    step(i)
t0 = time.perf_counter()
last = first
for i in range(cfg["warmup_steps"], steps):
    last = step(i)
elapsed = time.perf_counter() - t0
timed = steps - cfg["warmup_steps"]
tokens = timed * batch * (len(cfg["sequences"][0]) - 1)
print(json.dumps({"tokens_per_s": tokens / elapsed, "ms_per_step": 1000 * elapsed / timed, "first_loss": first, "last_loss": last}))
