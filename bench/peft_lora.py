#!/usr/bin/env python3
"""PyTorch/HF peer of DocTune's `bench/gpu-check.sh`: LoRA fine-tuning throughput on one CUDA GPU.

Builds a randomly initialised Qwen2ForCausalLM from a JSON config (bf16, SDPA attention, nothing
downloaded), wraps it with a peft LoRA adapter on all attention and MLP projections, and trains it with
AdamW on fixed token sequences (the same ones DocTune is given, when --tokens names them). After
--warmup untimed steps it times the rest and reports tokens/s, ms/step, the peak CUDA memory (weights
included) and every step's loss as one JSON line, on stdout and in --out.

Exit codes: 0 ok, 2 peer unavailable (no CUDA, or transformers/peft missing), 3 out of memory.
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def unavailable(reason: str) -> NoReturn:
    print(f"peft_lora: peer unavailable: {reason}", file=sys.stderr)
    sys.exit(2)


def emit(result: dict[str, Any], out: Path) -> None:
    out.write_text(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)


def load_tokens(args: argparse.Namespace, vocab: int) -> "torch.Tensor":
    import numpy as np
    import torch

    rows, width = args.steps * args.batch, args.seq + 1
    if args.tokens is None:
        gen = torch.Generator().manual_seed(0)
        return torch.randint(0, vocab, (rows, width), generator=gen, dtype=torch.long)
    ids = np.fromfile(args.tokens, dtype="<i4")
    if ids.size < rows * width or ids.size % width:
        sys.exit(f"peft_lora: {args.tokens} holds {ids.size} ids, need {rows} rows of {width}")
    if ids.min() < 0 or ids.max() >= vocab:
        sys.exit(f"peft_lora: {args.tokens} has ids outside [0, {vocab})")
    return torch.from_numpy(ids.astype(np.int64)).view(-1, width)[:rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True, help="JSON with Qwen2Config fields")
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=int, default=32)
    p.add_argument("--steps", type=int, required=True, help="total steps, warmup included")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--tokens", type=Path, help="little-endian int32 ids, steps*batch*(seq+1)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    if not 0 <= args.warmup < args.steps:
        p.error("need 0 <= --warmup < --steps")

    try:
        import torch
        import torch.nn.functional as F
        import peft
        import transformers
        from peft import LoraConfig, get_peft_model
        from transformers import Qwen2Config, Qwen2ForCausalLM
    except ImportError as e:
        unavailable(f"import failed: {e}")
    if not torch.cuda.is_available():
        unavailable("CUDA is not available")

    config = Qwen2Config(**json.loads(args.config.read_text()), attn_implementation="sdpa")
    config._attn_implementation = "sdpa"
    config.use_cache = False
    data = load_tokens(args, config.vocab_size)

    torch.cuda.reset_peak_memory_stats()
    try:
        torch.manual_seed(0)
        default_dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)  # initialise directly in bf16 on the GPU
        try:
            with torch.device("cuda"):
                model = Qwen2ForCausalLM(config)
        finally:
            torch.set_default_dtype(default_dtype)
        if model.dtype != torch.bfloat16:  # no .to(dtype) otherwise: it would round rope's fp32 inv_freq
            model = model.to(torch.bfloat16)
        model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0,
                                                 bias="none", target_modules=TARGETS, task_type="CAUSAL_LM"))
        model.train()
        params = [q for q in model.parameters() if q.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
        data = data.cuda()

        def step(i: int) -> torch.Tensor:
            seqs = data[i * args.batch:(i + 1) * args.batch]
            logits = model(input_ids=seqs[:, :-1], use_cache=False).logits
            # logits[:, t] predicts seqs[:, t + 1]: the labels are already shifted, so no further shift.
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), seqs[:, 1:].reshape(-1))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss.detach()

        losses = [step(i) for i in range(args.warmup)]
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        losses += [step(i) for i in range(args.warmup, args.steps)]
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    except torch.cuda.OutOfMemoryError:
        emit({"impl": "hf-peft", "error": "out of memory", "seq": args.seq, "batch": args.batch,
              "rank": args.rank, "peak_memory_bytes": torch.cuda.max_memory_allocated()}, args.out)
        sys.exit(3)

    timed = args.steps - args.warmup
    emit({
        "impl": "hf-peft",
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "device": torch.cuda.get_device_name(), "dtype": "bf16",
        "attn": model.get_base_model().config._attn_implementation,
        "lora_dtype": str(params[0].dtype).removeprefix("torch."),  # peft keeps adapters in fp32 by default
        "seq": args.seq, "batch": args.batch, "rank": args.rank, "steps": args.steps, "warmup": args.warmup,
        "trainable_params": sum(q.numel() for q in params),
        "total_params": sum(q.numel() for q in model.parameters()),
        "tokens_per_s": timed * args.batch * args.seq / seconds,
        "ms_per_step": 1000 * seconds / timed,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(),
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        "losses": torch.stack(losses).float().tolist(),
    }, args.out)


if __name__ == "__main__":
    main()
