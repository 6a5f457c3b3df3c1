"""Whole decode-step timing of a Llama-3.1-8B-shaped decoder (random bf16 weights) under CUDA graphs.

Checks the cost model's composition of per-operator times into one iteration (and its `engine: vllm` kernel term):
32 layers of RMSNorm, fused QKV GEMM, SDPA over a static KV cache, O GEMM, RMSNorm, fused gate+up GEMM, SiLU*mul,
down GEMM, residual adds; final norm and LM head. One decode step (one new token per sequence) is captured in a CUDA
graph and replayed; timed with CUDA events, median of 50 replays after 10 warm-ups. No scheduler, sampling or
host work: this is the GPU floor an engine with CUDA graphs approaches.

Writes $OUT/decode_step.csv: gpu, model, batch, context, median_ms, min_ms, max_ms.
"""
import csv, os, statistics, sys
import torch
import torch.nn.functional as F

OUT = os.environ.get("OUT", ".")
torch.manual_seed(0)
dev = "cuda"
dt = torch.bfloat16
H, NH, KV, HD, FF, L, V = 4096, 32, 8, 128, 14336, 32, 128256


def rms(x, w):
    return F.rms_norm(x, (x.shape[-1],), w, 1e-5)


class Layer:
    def __init__(self, batch, ctx):
        s = 0.02
        self.n1 = torch.ones(H, device=dev, dtype=dt)
        self.n2 = torch.ones(H, device=dev, dtype=dt)
        self.qkv = torch.randn((NH + 2 * KV) * HD, H, device=dev, dtype=dt) * s
        self.o = torch.randn(H, NH * HD, device=dev, dtype=dt) * s
        self.gu = torch.randn(2 * FF, H, device=dev, dtype=dt) * s
        self.dn = torch.randn(H, FF, device=dev, dtype=dt) * s
        self.k = torch.randn(batch, KV, ctx, HD, device=dev, dtype=dt)
        self.v = torch.randn(batch, KV, ctx, HD, device=dev, dtype=dt)

    def __call__(self, x):
        b = x.shape[0]
        h = rms(x, self.n1)
        qkv = F.linear(h, self.qkv)
        q = qkv[:, : NH * HD].view(b, NH, 1, HD)
        # the new token's K/V are part of the static cache (written in place, as a paged cache would)
        att = F.scaled_dot_product_attention(q, self.k, self.v, enable_gqa=True)
        x = x + F.linear(att.reshape(b, NH * HD), self.o)
        h = rms(x, self.n2)
        gu = F.linear(h, self.gu)
        g, u = gu.chunk(2, dim=-1)
        return x + F.linear(F.silu(g) * u, self.dn)


def main():
    name = torch.cuda.get_device_name(0)
    rows = []
    emb = torch.randn(V, H, device=dev, dtype=dt) * 0.02
    head = torch.randn(V, H, device=dev, dtype=dt) * 0.02
    fn = torch.ones(H, device=dev, dtype=dt)
    for batch, ctx in [(1, 512), (1, 2048), (8, 1024), (32, 1024), (64, 1024), (128, 512)]:
        layers = [Layer(batch, ctx) for _ in range(L)]
        ids = torch.randint(0, V, (batch,), device=dev)

        def step():
            x = emb[ids]
            for layer in layers:
                x = layer(x)
            return F.linear(rms(x, fn), head)

        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step()
        for _ in range(10):
            g.replay()
        torch.cuda.synchronize()
        times = []
        for _ in range(50):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            g.replay()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b))
        rows.append([name, "llama-3.1-8b", batch, ctx, round(statistics.median(times), 4), round(min(times), 4), round(max(times), 4)])
        print(rows[-1], flush=True)
        del layers, g
        torch.cuda.empty_cache()
    with open(os.path.join(OUT, "decode_step.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["gpu", "model", "batch", "context", "median_ms", "min_ms", "max_ms"])
        w.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
