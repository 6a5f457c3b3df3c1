#!/usr/bin/env python3
"""Measure per-layer transformer operator times on one GPU, as held-out data for the
simulator's roofline cost model.

What it writes (all under --out, one folder per model, model folders named like Vidur's):

  <org>/<model>/mlp.csv
      Vidur's mlp.csv format (same header order as Vidur's H100 Llama-2-7B file): for each
      op in emb, input_layernorm, attn_pre_proj, attn_rope, attn_post_proj,
      post_attention_layernorm, mlp_up_proj, mlp_act, mlp_down_proj, add the columns
      time_stats.<op>.{min,max,mean,median,std} in milliseconds, then the model-shape columns
      n_head, n_kv_head, n_embd, n_expanded_embd, vocab_size, use_gated_mlp, and
      num_tokens, num_tensor_parallel_workers.  One row per (num_tokens, TP).
      GEMM columns are the L2-flushed measurements; element-wise columns the faster of
      the eager and torch.compile(d) forms (see ops_long.csv for both).
  <org>/<model>/attention_decode.csv
      Decode attention (one new query token per sequence) over a dense bf16 KV cache.
      Columns: model, tp, n_q_heads, n_kv_heads, head_dim, batch_size, context_len, backend,
      kv_bytes (K+V bytes read), min_ms, max_ms, mean_ms, median_ms, std_ms, achieved_tbps
      (kv_bytes / median).
  ops_long.csv
      Every single measurement in long form: model, tp, num_tokens, op, impl, m, n, k,
      l2_flush, min_ms, max_ms, mean_ms, median_ms, std_ms, tflops (GEMMs, at the median).
      GEMMs are measured both with and without an L2 flush between repetitions; the
      element-wise ops both in eager PyTorch and torch.compile'd (fused) form.
  peak.json
      Achieved bf16 GEMM TFLOP/s (largest over a few big square products) and HBM copy
      bandwidth in TB/s (bytes read + bytes written over the median copy time).
  env.txt
      nvidia-smi, torch/cuBLAS/cuDNN versions, date.

Method (see README.md beside this file): every op is timed per repetition with CUDA events
around that op alone; before each repetition a 256 MiB buffer is zeroed so that the op
finds nothing of its inputs in L2 (GEMMs are additionally measured without it).  All
repetitions are enqueued behind a GPU-side spin, so host overhead never lands between the
events (see Timer).  Warm-up repetitions first; statistics over --reps repetitions.
Inputs are random (never zeros).  Tensor parallelism is emulated on one GPU by sharding
the weight shapes by TP, as Vidur did; no communication is measured.

Usage:  python3 measure_ops.py --out DIR [--budget-s 420] [--reps 30]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time
import traceback

import torch
import torch.nn.functional as F

DTYPE = torch.bfloat16
DEV = "cuda"

# ---------------------------------------------------------------------------------------
# Models (from the published HF configs in data/models)
# ---------------------------------------------------------------------------------------
MODELS = [
    # dir, n_head, n_kv_head, hidden, ffn, vocab, head_dim
    dict(dir="meta-llama/Meta-Llama-3.1-8B", n_head=32, n_kv=8, hidden=4096, ffn=14336,
         vocab=128256, head_dim=128),
    dict(dir="meta-llama/Meta-Llama-3.1-70B", n_head=64, n_kv=8, hidden=8192, ffn=28672,
         vocab=128256, head_dim=128),
    # Qwen3-30B-A3B: attention shapes of the real model (head_dim 128, so q width 4096 >
    # hidden 2048); the MLP columns are ONE expert's GEMMs (moe_intermediate 768) fed with
    # num_tokens tokens, i.e. the per-expert grouped-GEMM building block, not the whole MoE.
    dict(dir="Qwen/Qwen3-30B-A3B", n_head=32, n_kv=4, hidden=2048, ffn=768,
         vocab=151936, head_dim=128),
]
TPS = [1, 2, 4, 8]
TOKENS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768,
          1024, 1536, 2048, 3072, 4096, 6144, 8192]
OPS = ["emb", "input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj",
       "post_attention_layernorm", "mlp_up_proj", "mlp_act", "mlp_down_proj", "add"]
GEMM_OPS = {"attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj"}
STATS = ["min", "max", "mean", "median", "std"]
VIDUR_SHAPE_COLS = ["n_head", "n_kv_head", "n_embd", "n_expanded_embd", "vocab_size",
                    "use_gated_mlp", "num_tokens", "num_tensor_parallel_workers"]

DECODE_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
DECODE_CONTEXTS = [512, 1024, 2048, 4096, 8192, 16384, 32768]
# Cap on batch*context (tokens resident in one layer's KV cache); above ~1M tokens a
# single GPU could not hold the whole model's KV cache anyway.
DECODE_MAX_TOKENS = 1 << 20

LOG = None
T0 = time.time()


def log(*a):
    s = " ".join(str(x) for x in a)
    line = f"[{time.time() - T0:7.1f}s] {s}"
    print(line, flush=True)
    if LOG:
        LOG.write(line + "\n")
        LOG.flush()


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
class Timer:
    """do_bench-like timer with one CUDA-event pair around the op in every repetition.

    Each repetition zeroes a 256 MiB buffer first (flushing L2, so the op reads its weights
    and inputs from HBM, as in serving) unless flush=False.  To keep host-side effects
    (Python, launch overhead, torch.compile guards, a descheduled VM vCPU) out of the
    events, all repetitions are enqueued behind a GPU-side spin (torch.cuda._sleep) that
    lasts longer than the host needs to enqueue them: the GPU then runs flush, event, op,
    event back to back from its queue.  If the host took longer than the spin (the queue
    could have run dry), the measurement is repeated with a 4x longer spin.
    """

    def __init__(self, warmup: int, reps: int):
        self.warmup = warmup
        self.reps = reps
        self.cache = torch.empty(256 * 1024 * 1024, dtype=torch.int8, device=DEV)
        n = max(reps, 64)
        self.starts = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
        self.ends = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
        self.retries = 0
        self.unguarded = 0
        self.cycles_per_s = 0.0
        try:
            torch.cuda._sleep(1000)
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            torch.cuda._sleep(20_000_000)
            b.record()
            torch.cuda.synchronize()
            self.cycles_per_s = 20_000_000 / (a.elapsed_time(b) * 1e-3)
        except Exception:  # noqa: BLE001
            self.cycles_per_s = 0.0

    def time(self, fn, flush: bool = True, reps: int | None = None):
        reps = reps or self.reps
        for _ in range(self.warmup):
            if flush:
                self.cache.zero_()
            fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(3):
            if flush:
                self.cache.zero_()
            fn()
        host_per_rep = (time.perf_counter() - t0) / 3
        torch.cuda.synchronize()
        spin_s = 0.002 + 3.0 * reps * host_per_rep
        for _attempt in range(4):
            if self.cycles_per_s:
                torch.cuda._sleep(int(spin_s * self.cycles_per_s))
            t0 = time.perf_counter()
            for i in range(reps):
                if flush:
                    self.cache.zero_()
                self.starts[i].record()
                fn()
                self.ends[i].record()
            host_s = time.perf_counter() - t0
            torch.cuda.synchronize()
            if not self.cycles_per_s or host_s < 0.8 * spin_s:
                break
            self.retries += 1
            spin_s *= 4
        else:
            self.unguarded += 1
        ms = [self.starts[i].elapsed_time(self.ends[i]) for i in range(reps)]
        return dict(min=min(ms), max=max(ms), mean=statistics.fmean(ms),
                    median=statistics.median(ms), std=statistics.pstdev(ms))


def rnd(*shape):
    return torch.randn(*shape, dtype=DTYPE, device=DEV) * 0.05


# ---------------------------------------------------------------------------------------
# Element-wise ops (eager reference forms; torch.compile fuses them like vLLM's kernels)
# ---------------------------------------------------------------------------------------
def rms_norm(x, w, eps: float = 1e-5):
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (y * w.float()).to(x.dtype)


def silu_and_mul(x):
    d = x.shape[-1] // 2
    return F.silu(x[..., :d]) * x[..., d:]


def rope_neox(positions, q, k, cos_sin, head_dim: int):
    """Neox-style rotary embedding on q [T, Hq*D] and k [T, Hkv*D] (Llama layout)."""
    t = q.shape[0]
    cs = cos_sin.index_select(0, positions)
    cos, sin = cs.chunk(2, dim=-1)
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    half = head_dim // 2

    def rot(x):
        x = x.view(t, -1, head_dim)
        x1 = x[..., :half]
        x2 = x[..., half:]
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).view(t, -1)

    return rot(q), rot(k)


def vocab_parallel_embedding(ids, w, start: int, end: int, tp: int):
    """Megatron/Vidur vocab-parallel lookup: mask ids outside this shard, look up, zero."""
    if tp == 1:
        return F.embedding(ids, w)
    mask = (ids < start) | (ids >= end)
    local = (ids - start).masked_fill(mask, 0)
    out = F.embedding(local, w)
    return out.masked_fill(mask.unsqueeze(-1), 0.0)


def residual_add(x, y):
    return x + y


COMPILED = {}


def build_compiled():
    """torch.compile(dynamic=True) versions of the element-wise ops; eager on failure."""
    try:
        import torch._dynamo as dynamo
        for attr in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit",
                     "accumulated_recompile_limit"):
            if hasattr(dynamo.config, attr):
                setattr(dynamo.config, attr, 512)
    except Exception:  # noqa: BLE001
        pass
    for name, fn in [("rms_norm", rms_norm), ("silu_and_mul", silu_and_mul),
                     ("rope_neox", rope_neox), ("emb", vocab_parallel_embedding),
                     ("add", residual_add)]:
        try:
            COMPILED[name] = torch.compile(fn, dynamic=True)
        except Exception as e:  # noqa: BLE001
            log("compile setup failed", name, repr(e))


def check_compiled():
    """Compare each compiled op with its eager form on random inputs; drop any that differ."""
    t, h, hd = 37, 4096, 128
    x, w = rnd(t, h), rnd(h) + 1.0
    pos = torch.randint(0, 4096, (t,), device=DEV)
    cs = rnd(4096, hd).float()
    ids = torch.randint(0, 1000, (t,), device=DEV)
    ew = rnd(500, h)
    cases = {
        "rms_norm": lambda f: f(x, w),
        "silu_and_mul": lambda f: f(x),
        "rope_neox": lambda f: torch.cat(f(pos, x, x[:, :1024].contiguous(), cs, hd), 1),
        "emb": lambda f: f(ids, ew, 500, 1000, 2),
        "add": lambda f: f(x, x),
    }
    eager = {"rms_norm": rms_norm, "silu_and_mul": silu_and_mul, "rope_neox": rope_neox,
             "emb": vocab_parallel_embedding, "add": residual_add}
    for name in list(COMPILED):
        try:
            t0 = time.time()
            got = cases[name](COMPILED[name]).float()
            ref = cases[name](eager[name]).float()
            err = ((got - ref).norm() / ref.norm().clamp_min(1e-30)).item()
            log(f"compiled {name}: rel err {err:.2e}, first call {time.time() - t0:.1f}s")
            if not math.isfinite(err) or err > 1e-2:
                COMPILED.pop(name)
        except Exception as e:  # noqa: BLE001
            log("compiled op dropped", name, repr(e)[:300])
            COMPILED.pop(name, None)


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------
def section_env(out):
    lines = [f"date_utc: {datetime.datetime.now(datetime.timezone.utc).isoformat()}",
             f"python: {sys.version.split()[0]}", f"torch: {torch.__version__}",
             f"torch.version.cuda: {torch.version.cuda}",
             f"cudnn: {torch.backends.cudnn.version()}"]
    p = torch.cuda.get_device_properties(0)
    lines += [f"device: {p.name}", f"sm_count: {p.multi_processor_count}",
              f"total_memory_bytes: {p.total_memory}",
              f"l2_bytes: {getattr(p, 'L2_cache_size', 'n/a')}",
              f"capability: {p.major}.{p.minor}"]
    try:
        import triton
        lines.append(f"triton: {triton.__version__}")
    except Exception:  # noqa: BLE001
        pass
    for cmd in (["nvidia-smi"],
                ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,"
                 "clocks.max.mem,power.limit,pstate,clocks.sm,clocks.mem", "--format=csv"],
                ["uname", "-a"]):
        try:
            lines.append("$ " + " ".join(cmd))
            lines.append(subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout)
        except Exception as e:  # noqa: BLE001
            lines.append(f"failed: {e!r}")
    with open(os.path.join(out, "env.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    log(p.name, "SMs", p.multi_processor_count, "torch", torch.__version__)


def section_peak(out, timer):
    res = {"device": torch.cuda.get_device_name(0), "gemm": [], "copy": []}
    best = 0.0
    for n in (4096, 8192, 16384):
        a, b = rnd(n, n), rnd(n, n)
        s = timer.time(lambda: torch.matmul(a, b), flush=False, reps=20)
        tf = 2 * n ** 3 / (s["median"] * 1e-3) / 1e12
        res["gemm"].append(dict(m=n, n=n, k=n, median_ms=s["median"], tflops=tf))
        best = max(best, tf)
        log(f"peak gemm {n}^3: {s['median']:.3f} ms  {tf:.0f} TFLOP/s")
        del a, b
    res["gemm_tflops_achieved"] = best
    bestbw = 0.0
    for gib in (1, 4):
        nbytes = gib << 30
        src = torch.randint(0, 127, (nbytes,), dtype=torch.int8, device=DEV)
        dst = torch.empty_like(src)
        s = timer.time(lambda: dst.copy_(src), flush=False, reps=20)
        tbps = 2 * nbytes / (s["median"] * 1e-3) / 1e12
        res["copy"].append(dict(bytes=nbytes, median_ms=s["median"], tbps_read_plus_write=tbps))
        bestbw = max(bestbw, tbps)
        log(f"copy {gib} GiB: {s['median']:.3f} ms  {tbps:.2f} TB/s (read+write)")
        del src, dst
    res["hbm_copy_tbps_achieved"] = bestbw
    res["note"] = ("gemm: bf16 torch.matmul on random data, median of 20 after warm-up, no "
                   "L2 flush; copy: device-to-device copy_, bytes read + bytes written over "
                   "the median time")
    torch.cuda.empty_cache()
    with open(os.path.join(out, "peak.json"), "w") as f:
        json.dump(res, f, indent=2)


def gemm_shapes(m, tp):
    h, hd = m["hidden"], m["head_dim"]
    kv_per_rank = max(1, m["n_kv"] // tp)  # KV heads are replicated when TP > n_kv
    qkv = (m["n_head"] // tp + 2 * kv_per_rank) * hd
    return {
        "attn_pre_proj": (qkv, h),              # (out N, in K)
        "attn_post_proj": (h, m["n_head"] * hd // tp),
        "mlp_up_proj": (2 * m["ffn"] // tp, h),
        "mlp_down_proj": (h, m["ffn"] // tp),
    }


def section_model(out, timer, m, long_rows, deadline):
    """All ops of one model over TPS x TOKENS; writes <dir>/mlp.csv."""
    mdir = os.path.join(out, m["dir"])
    os.makedirs(mdir, exist_ok=True)
    hd = m["head_dim"]
    maxt = max(TOKENS)
    cache = {}  # (op, impl, flush, shape key) -> stats, shape-only ops reused across TP
    rows = []
    # Embedding / norm weights and the rope cos/sin table (positions up to 32k).
    cos_sin = rnd(32768, hd).float()
    norm_w = rnd(m["hidden"]) + 1.0
    for tp in TPS:
        if time.time() > deadline:
            log("deadline reached; skipping rest of", m["dir"])
            break
        shapes = gemm_shapes(m, tp)
        weights = {op: rnd(n, k) for op, (n, k) in shapes.items()}
        vshard = math.ceil(m["vocab"] / tp)
        emb_w = rnd(vshard, m["hidden"])
        for t in TOKENS:
            row = {}
            x_h = rnd(t, m["hidden"])
            y_h = rnd(t, m["hidden"])
            for op in OPS:
                if op in GEMM_OPS:
                    n, k = shapes[op]
                    x = rnd(t, k)
                    w = weights[op]
                    for flush in (True, False):
                        s = timer.time(lambda: F.linear(x, w), flush=flush)
                        tf = 2 * t * n * k / (s["median"] * 1e-3) / 1e12
                        long_rows.append(dict(model=m["dir"], tp=tp, num_tokens=t, op=op,
                                              impl="cublas", m=t, n=n, k=k, l2_flush=flush,
                                              **{f"{q}_ms": s[q] for q in STATS}, tflops=tf))
                        if flush:
                            row[op] = s
                    continue
                # element-wise ops: eager and compiled
                if op == "emb":
                    ids = torch.randint(0, m["vocab"], (t,), device=DEV)
                    start = 0 if tp == 1 else vshard  # shard 1 of tp (mixed hits/misses)
                    args = (ids, emb_w, start, start + vshard, tp)
                    key = ("emb", t, tp)
                    fe, fc = vocab_parallel_embedding, COMPILED.get("emb")
                elif op in ("input_layernorm", "post_attention_layernorm"):
                    args = (x_h, norm_w)
                    key = ("rms", t)
                    fe, fc = rms_norm, COMPILED.get("rms_norm")
                elif op == "attn_rope":
                    pos = torch.randint(0, 32768, (t,), device=DEV)
                    q = rnd(t, m["n_head"] * hd // tp)
                    kk = rnd(t, max(1, m["n_kv"] // tp) * hd)
                    args = (pos, q, kk, cos_sin, hd)
                    key = ("rope", t, tp)
                    fe, fc = rope_neox, COMPILED.get("rope_neox")
                elif op == "mlp_act":
                    args = (rnd(t, 2 * m["ffn"] // tp),)
                    key = ("act", t, tp)
                    fe, fc = silu_and_mul, COMPILED.get("silu_and_mul")
                else:  # add
                    args = (x_h, y_h)
                    key = ("add", t)
                    fe, fc = residual_add, COMPILED.get("add")
                chosen = None
                for impl, fn in (("eager", fe), ("compiled", fc)):
                    if fn is None:
                        continue
                    ck = (impl,) + key
                    if ck not in cache:
                        try:
                            cache[ck] = timer.time(lambda: fn(*args), flush=True)
                        except Exception as e:  # noqa: BLE001
                            log("op failed", m["dir"], op, impl, t, tp, repr(e)[:300])
                            if impl == "compiled":
                                COMPILED.pop({"emb": "emb", "attn_rope": "rope_neox",
                                              "mlp_act": "silu_and_mul", "add": "add"}
                                             .get(op, "rms_norm"), None)
                            continue
                    s = cache[ck]
                    long_rows.append(dict(model=m["dir"], tp=tp, num_tokens=t, op=op,
                                          impl=impl, m=t, n="", k="", l2_flush=True,
                                          **{f"{q}_ms": s[q] for q in STATS}, tflops=""))
                    # Vidur's columns get the faster of eager and compiled (fused), the
                    # stand-in for a serving engine's hand-written kernels.
                    if chosen is None or s["median"] < chosen["median"]:
                        chosen = s
                if chosen is not None:
                    row[op] = chosen
            rows.append((t, tp, row))
        del weights, emb_w
        torch.cuda.empty_cache()
        ms = {op: next((r[op]["median"] for (t, tp_, r) in rows if tp_ == tp and t == 1024
                        and op in r), float("nan")) for op in GEMM_OPS}
        log(m["dir"], "tp", tp, "@1024 tok:", {k: round(v, 4) for k, v in ms.items()})
    write_vidur_csv(os.path.join(mdir, "mlp.csv"), m, rows)


def write_vidur_csv(path, m, rows):
    header = [f"time_stats.{op}.{s}" for op in OPS for s in STATS] + VIDUR_SHAPE_COLS
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for t, tp, r in rows:
            vals = []
            for op in OPS:
                for s in STATS:
                    vals.append(repr(float(r[op][s])) if op in r else "")
            vals += [m["n_head"], m["n_kv"], m["hidden"], m["ffn"], m["vocab"], "True", t, tp]
            w.writerow(vals)
    log("wrote", path, len(rows), "rows")


def section_decode(out, timer, deadline):
    """Decode attention: q [B, Hq, 1, D] against K/V [B, Hkv, L, D].  GQA is expressed by
    folding the G = Hq/Hkv query heads that share a KV head into the query-length axis
    (q viewed as [B, Hkv, G, D], non-causal), which is exact for a single decode token and
    reads each KV head once, as serving kernels do."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    hd = 128
    max_elems = max(DECODE_MAX_TOKENS * 8 * hd, 1)
    kbuf = rnd(max_elems)
    vbuf = rnd(max_elems)
    for m in MODELS[:2]:
        rows = []
        for tp in TPS:
            hq, hkv = m["n_head"] // tp, max(1, m["n_kv"] // tp)
            g = hq // hkv
            for b in DECODE_BATCHES:
                for L in DECODE_CONTEXTS:
                    if b * L > DECODE_MAX_TOKENS:
                        continue
                    if time.time() > deadline:
                        break
                    n = b * hkv * L * hd
                    k = kbuf[:n].view(b, hkv, L, hd)
                    v = vbuf[:n].view(b, hkv, L, hd)
                    q = rnd(b, hkv, g, hd)
                    kvb = 2 * n * 2
                    for bname, be in backends:
                        try:
                            with sdpa_kernel([be]):
                                s = timer.time(lambda: F.scaled_dot_product_attention(q, k, v),
                                               flush=True, reps=25)
                        except Exception as e:  # noqa: BLE001
                            if b == 1 and L == 512:
                                log("sdpa backend unavailable", bname, repr(e)[:200])
                            continue
                        rows.append(dict(model=m["dir"], tp=tp, n_q_heads=hq, n_kv_heads=hkv,
                                         head_dim=hd, batch_size=b, context_len=L,
                                         backend=bname, kv_bytes=kvb,
                                         **{f"{q_}_ms": s[q_] for q_ in STATS},
                                         achieved_tbps=kvb / (s["median"] * 1e-3) / 1e12))
            log("decode", m["dir"], "tp", tp, "done", len(rows), "rows")
        path = os.path.join(out, m["dir"], "attention_decode.csv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_dicts(path, rows)
    del kbuf, vbuf
    torch.cuda.empty_cache()


def write_dicts(path, rows):
    if not rows:
        log("no rows for", path)
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    log("wrote", path, len(rows), "rows")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="soft wall-clock budget; later sections are cut short after it")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    LOG = open(os.path.join(a.out, "log.txt"), "w")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    timer = Timer(a.warmup, a.reps)
    s = timer.time(lambda: None, flush=False, reps=10)
    log(f"spin clock {timer.cycles_per_s / 1e9:.3f} GHz; empty event pair "
        f"{s['median'] * 1e3:.2f} us")
    long_rows = []
    for name, fn in [("env", lambda: section_env(a.out)),
                     ("peak", lambda: section_peak(a.out, timer))]:
        try:
            fn()
        except Exception:  # noqa: BLE001
            log("section failed:", name, traceback.format_exc())
    if not a.no_compile:
        build_compiled()
        check_compiled()
    # The model sweep gets ~70% of the budget, decode attention the rest.
    model_deadline = T0 + 0.70 * a.budget_s
    for m in MODELS:
        try:
            section_model(a.out, timer, m, long_rows, model_deadline)
        except Exception:  # noqa: BLE001
            log("section failed:", m["dir"], traceback.format_exc())
        write_dicts(os.path.join(a.out, "ops_long.csv"), long_rows)
    try:
        section_decode(a.out, timer, T0 + a.budget_s)
    except Exception:  # noqa: BLE001
        log("section failed: decode", traceback.format_exc())
    log(f"done; timer retries {timer.retries}, measurements whose queue may have run dry "
        f"{timer.unguarded}")


if __name__ == "__main__":
    main()
