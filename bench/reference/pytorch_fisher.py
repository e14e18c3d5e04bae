"""PyTorch reference for issue 8's "against the field" target.

Times PyTorch's float64 Gram-plus-inverse of the same Fisher blocks that `npm run bench:threads`
builds, on the same machine, from the files it exports (BENCH_EXPORT=DIR): for every block a,
F_a = lambda*I + (1/N) * sum_j w_ja x_j x_j^T, then F_a^-1, in float64. Also times the literal
rank-1 (Sherman-Morrison) loop as WoodFisher runs it, on the first ROWS rows of block 0, and
extrapolates it linearly to n rows x A blocks, as bench/run.ts does for its own literal loop.
Checks our stored block 0 (float32) against PyTorch's float64 inverse.

Not part of the product, its build or its tests (Python is not a dependency of this project):
a side-by-side reference for a reviewer who has PyTorch, e.g.

    BENCH_EXPORT=/tmp/fisher npm run bench:threads
    python3 bench/reference/pytorch_fisher.py /tmp/fisher --threads 1,2 --out bench/pytorch.json

--threads: CPU thread counts for torch.set_num_threads (0 = PyTorch's default). A CUDA device,
where there is one, is timed too (float64, synchronised).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch


def load(folder):
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    n, d, A = meta["n"], meta["d"], meta["A"]
    x = np.fromfile(os.path.join(folder, "features.f32"), dtype="<f4")
    w = np.fromfile(os.path.join(folder, "weights.f64"), dtype="<f8")
    if x.size != n * d or w.size != n * A:
        sys.exit(f"{folder}: features.f32 has {x.size} values (expected {n}x{d}), weights.f64 {w.size} (expected {n}x{A})")
    block0 = None
    path0 = os.path.join(folder, "block0.f32")
    if os.path.exists(path0):
        block0 = np.fromfile(path0, dtype="<f4").reshape(d, d)
    return meta, x.reshape(n, d), w.reshape(n, A), block0


def gram_inverse(x32, w, N, lam, how, device):
    """Every block's float64 inverse, from the float32 features (converted once, timed too)."""
    x = x32.to(device=device, dtype=torch.float64)
    w = w.to(device=device, dtype=torch.float64) / N
    eye = torch.eye(x.shape[1], dtype=torch.float64, device=device)
    out = []
    for a in range(w.shape[1]):
        f = x.T @ (x * w[:, a : a + 1]) + lam * eye
        if how == "cholesky":
            out.append(torch.cholesky_inverse(torch.linalg.cholesky(f)))
        else:
            out.append(torch.linalg.inv(f))
    return out


def literal_loop(x32, w0, N, lam, rows):
    """WoodFisher's loop: F^-1 <- F^-1 - (F^-1 g)(F^-1 g)^T / (1 + g^T F^-1 g), from I/lambda."""
    d = x32.shape[1]
    finv = torch.eye(d, dtype=torch.float64) / lam
    x = x32[:rows].to(torch.float64)
    for j in range(rows):
        g = x[j] * torch.sqrt(w0[j] / N)
        u = finv @ g
        finv -= torch.outer(u, u) / (1.0 + g @ u)
    return finv


def timed(f, runs, sync=None):
    times = []
    for _ in range(runs):
        if sync:
            sync()
        t0 = time.perf_counter()
        f()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder")
    p.add_argument("--threads", default="1,2,0")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--literal-rows", type=int, default=300)
    p.add_argument("--out")
    args = p.parse_args()
    meta, x_np, w_np, block0 = load(args.folder)
    n, d, A, N, lam = meta["n"], meta["d"], meta["A"], meta["N"], meta["damping"]
    x32 = torch.from_numpy(x_np)
    w = torch.from_numpy(w_np)
    default_threads = torch.get_num_threads()
    result = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": {"processor": platform.processor() or platform.machine(), "logical_cores": os.cpu_count(), "torch_default_threads": default_threads},
        "setting": {"n": n, "d": d, "A": A, "N": N, "damping": lam},
        "runs": args.runs,
        "cpu": [],
    }

    # Accuracy: our stored float32 block 0 against PyTorch's float64 inverse of the same block.
    reference = gram_inverse(x32, w[:, :1], N, lam, "cholesky", "cpu")[0]
    if block0 is not None:
        ours = torch.from_numpy(block0.astype(np.float64))
        result["block0_relative_frobenius_error"] = float(torch.linalg.norm(ours - reference) / torch.linalg.norm(reference))
        result["block0_relative_max_error"] = float((ours - reference).abs().max() / reference.abs().max())
    inv = gram_inverse(x32, w[:, :1], N, lam, "inv", "cpu")[0]
    result["cholesky_vs_inv_relative_frobenius"] = float(torch.linalg.norm(inv - reference) / torch.linalg.norm(reference))

    for t in [int(s) for s in args.threads.split(",")]:
        torch.set_num_threads(t if t > 0 else default_threads)
        row = {"threads": torch.get_num_threads()}
        for how in ("cholesky", "inv"):
            gram_inverse(x32, w, N, lam, how, "cpu")  # warm-up
            med, runs = timed(lambda: gram_inverse(x32, w, N, lam, how, "cpu"), args.runs)
            row[f"gram_plus_{how}_s"] = round(med, 4)
            row[f"gram_plus_{how}_runs_s"] = [round(r, 4) for r in runs]
        rows = min(args.literal_rows, n)
        med, _ = timed(lambda: literal_loop(x32, w[:, 0], N, lam, rows), 3)
        row["literal_rows_timed"] = rows
        row["literal_extrapolated_s"] = round(med * (n / rows) * A, 2)
        result["cpu"].append(row)
        print(json.dumps(row), flush=True)
    torch.set_num_threads(default_threads)

    if torch.cuda.is_available():
        dev = torch.device("cuda")
        sync = torch.cuda.synchronize
        gpu = {"device": torch.cuda.get_device_name(0)}
        # Data already on the device, and with the transfer from host memory included.
        x_dev, w_dev = x32.to(dev), w.to(dev)
        for how in ("cholesky", "inv"):
            gram_inverse(x_dev, w_dev, N, lam, how, dev)
            sync()
            med, runs = timed(lambda: gram_inverse(x_dev, w_dev, N, lam, how, dev), args.runs, sync)
            gpu[f"gram_plus_{how}_on_device_s"] = round(med, 5)
            med, _ = timed(lambda: [b.cpu() for b in gram_inverse(x32.to(dev), w.to(dev), N, lam, how, dev)], args.runs, sync)
            gpu[f"gram_plus_{how}_from_host_to_host_s"] = round(med, 5)
        result["cuda"] = gpu
        print(json.dumps(gpu), flush=True)

    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
