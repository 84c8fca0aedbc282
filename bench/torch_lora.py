#!/usr/bin/env python3
"""PyTorch peer for `npm run bench:train`: the same LoRA training step as DocTune's trainer, on the same
F32 weights (read from DocTune's GGUF file), data, sequence length, batch, rank, targets and threads, written
as a PyTorch user writes it (batched, autograd, torch.optim.AdamW, clip_grad_norm_), timed the same way.

  torch_lora.py CONFIG.json   prints one JSON line: {"tokens_per_s", "ms_per_step", "first_loss", "last_loss", "rss_mb"}
  torch_lora.py --blas        prints the BLAS library mapped into this process and its single-thread sgemm
                              rate: {"libraries", "blas_info", "sgemm_gflops"}

Llama (adjacent-pair RoPE, as llama.cpp's converter leaves q and k) and Qwen2 (q/k/v biases, NEOX RoPE, tied
embeddings) are supported; grouped-query attention repeats the key-value heads as llama.cpp does.
"""
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def blas_report():
    torch.set_num_threads(1)
    a = torch.randn(512, 512)
    b = torch.randn(512, 512)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = path.rsplit("/", 1)[-1].lower()
            if any(k in name for k in ("blas", "mkl", "blis", "lapack", "atlas")):
                libs.add(path)
    info = [l.strip() for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l or "LAPACK_INFO" in l]
    print(json.dumps({"libraries": sorted(libs), "blas_info": info, "sgemm_gflops": 2 * 512 ** 3 / best / 1e9}))


def main(cfg):
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    hp = cfg["hparams"]
    arch = cfg["arch"]
    n_embd, n_head, n_kv, n_layer = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["n_layer"]
    hd = n_embd // n_head
    eps = hp["rms_eps"]
    r, scale = cfg["rank"], cfg["alpha"] / cfg["rank"]

    def load(name):
        t = cfg["tensors"][name]
        shape = list(reversed(t["ne"]))  # ggml ne = [n_in, n_out] -> [n_out, n_in]
        a = np.memmap(cfg["gguf"], dtype=np.float32, mode="c", offset=t["offset"], shape=tuple(shape))
        return torch.from_numpy(a)

    W = {name: load(name) for name in cfg["tensors"]}
    if "output.weight" not in W:
        W["output.weight"] = W["token_embd.weight"]  # tied embeddings
    lora = {}
    for l in range(n_layer):
        for tgt in cfg["targets"]:
            w = W[f"blk.{l}.{tgt}.weight"]
            a = torch.empty(r, w.shape[1]).uniform_(-1 / w.shape[1] ** 0.5, 1 / w.shape[1] ** 0.5).requires_grad_()
            b = torch.zeros(w.shape[0], r, requires_grad=True)
            lora[(l, tgt)] = (a, b)
    params = [p for pair in lora.values() for p in pair]
    opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=0.0)

    def linear(x, l, tgt):
        y = x @ W[f"blk.{l}.{tgt}.weight"].T
        bias = W.get(f"blk.{l}.{tgt}.bias")
        if bias is not None:
            y = y + bias
        if (l, tgt) in lora:
            a, b = lora[(l, tgt)]
            y = y + scale * ((x @ a.T) @ b.T)
        return y

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    T = cfg["seq"]
    pos = torch.arange(T)
    inv = 1.0 / (hp["rope_base"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = pos[:, None].float() * inv[None, :]  # [T, hd/2]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]

    def rope(x):  # x [B, T, H, hd]
        if arch == "qwen2":  # NEOX: the two halves of each head rotate together
            x0, x1 = x[..., : hd // 2], x[..., hd // 2:]
            return torch.cat((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1)
        x0, x1 = x[..., 0::2], x[..., 1::2]  # llama.cpp's "normal" RoPE: adjacent pairs
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), -1).flatten(-2)

    mask = torch.full((T, T), float("-inf")).triu(1)

    def forward(tokens):  # [B, T] -> logits [B, T, V]
        B = tokens.shape[0]
        x = W["token_embd.weight"][tokens]
        for l in range(n_layer):
            h = rms(x, W[f"blk.{l}.attn_norm.weight"])
            q = rope(linear(h, l, "attn_q").view(B, T, n_head, hd)).transpose(1, 2)
            k = rope(linear(h, l, "attn_k").view(B, T, n_kv, hd)).transpose(1, 2)
            v = linear(h, l, "attn_v").view(B, T, n_kv, hd).transpose(1, 2)
            k = k.repeat_interleave(n_head // n_kv, dim=1)
            v = v.repeat_interleave(n_head // n_kv, dim=1)
            att = (q @ k.transpose(-1, -2)) / hd ** 0.5 + mask
            o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, n_embd)
            x = x + linear(o, l, "attn_output")
            h = rms(x, W[f"blk.{l}.ffn_norm.weight"])
            x = x + linear(F.silu(linear(h, l, "ffn_gate")) * linear(h, l, "ffn_up"), l, "ffn_down")
        x = rms(x, W["output_norm.weight"])
        return x @ W["output.weight"].T

    data = torch.from_numpy(np.fromfile(cfg["tokens"], dtype="<i4").astype(np.int64)).view(-1, T + 1)
    batch = cfg["batch"]

    def step(i):
        opt.zero_grad()
        s = data[i * batch:(i + 1) * batch]
        logits = forward(s[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), s[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    steps, warmup = cfg["steps"], cfg["warmup"]
    first = step(0)
    for i in range(1, warmup):
        step(i)
    t0 = time.perf_counter()
    last = first
    for i in range(warmup, steps):
        last = step(i)
    elapsed = time.perf_counter() - t0
    timed = steps - warmup
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens_per_s": timed * batch * T / elapsed, "ms_per_step": 1000 * elapsed / timed,
                      "first_loss": first, "last_loss": last, "rss_mb": rss_mb}))


if __name__ == "__main__":
    if sys.argv[1] == "--blas":
        blas_report()
    else:
        main(json.load(open(sys.argv[1])))
