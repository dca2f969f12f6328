#!/usr/bin/env python3
"""Compare `clipseg bench` (the Rust CLI, burn CPU backend) with ONNX Runtime on the same model.

    python scripts/bench_compare.py [--model DIR] [--clipseg PATH] [--runs N] [--threads T] [--json FILE]

DIR (default models/clipseg-full-random) must hold `model.onnx`, as written by
`python scripts/make_fixtures.py --full DIR --onnx`: inputs pixel_values [1,3,352,352] float32,
input_ids and attention_mask [P,77] int64; output logits [P,352,352]. It runs the whole text-prompted
forward (vision tower, text tower, decoder) for one image and P prompts.

ONNX Runtime: CPU execution provider, intra_op_num_threads T (default 2), inter_op_num_threads 1, all
graph optimisations on; the median of N (default 5) forwards after one warm-up, with 1 prompt and with
8 prompts. The clipseg side is `clipseg bench --model DIR --backend cpu --json --runs N`, which reports
medians for encode_image, embed_text (1 prompt), decode_1 and decode_8. If the binary is missing or
fails, the ORT half is still printed.

Prints one markdown table with both sides, and the ratios "clipseg encode / ORT forward" (1 prompt) and
"one extra prompt (embed_text + decode_1) / encode_image" (the marginal cost of a prompt relative to
encoding the image; ORT has no separate stages, so its column gives (forward_8 - forward_1) / 7 relative
to forward_1).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
S = 352
CONTEXT = 77
EOS_ID = 49407


def prompt_ids(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """input_ids / attention_mask [P,77] int64, padded with <|endoftext|> as the CLIPSeg processor does."""
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    tok = Tokenizer.from_file(str(path if path.exists() else REPO / "models" / "tokenizer.json"))
    tok.enable_truncation(max_length=CONTEXT)
    ids = np.full((len(texts), CONTEXT), EOS_ID, dtype=np.int64)
    mask = np.zeros((len(texts), CONTEXT), dtype=np.int64)
    for row, enc in enumerate(tok.encode_batch(texts)):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    return ids, mask


def bench_ort(onnx_path: Path, model_dir: Path, runs: int, threads: int) -> dict:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    pixel_values = rng.standard_normal((1, 3, S, S), dtype=np.float32)
    # The same prompts as `clipseg bench`.
    prompts = {1: ["a photo of a cat"], 8: [f"object number {i}" for i in range(8)]}
    result = {"load_s": load_s, "version": ort.__version__}
    for n, texts in prompts.items():
        ids, mask = prompt_ids(model_dir, texts)
        feeds = {"pixel_values": pixel_values, "input_ids": ids, "attention_mask": mask}
        (logits,) = sess.run(None, feeds)  # warm-up
        assert logits.shape == (n, S, S), logits.shape
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            sess.run(None, feeds)
            samples.append(time.perf_counter() - t)
        result[f"forward_{n}_s"] = statistics.median(samples)
    return result


def bench_clipseg(binary: str, model_dir: Path, runs: int) -> tuple[dict | None, str]:
    """(timings, "") or (None, why not)."""
    path = shutil.which(binary)
    if path is None:
        return None, f"clipseg binary not found: {binary!r} (build it with `cargo build --release`, then pass --clipseg target/release/clipseg)"
    cmd = [path, "bench", "--model", str(model_dir), "--backend", "cpu", "--json", "--runs", str(runs)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:
        return None, f"cannot run {path}: {e}"
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        return None, f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{tail}"
    try:
        # The JSON object is the last line of stdout.
        return json.loads(proc.stdout.strip().splitlines()[-1]), ""
    except (json.JSONDecodeError, IndexError):
        return None, f"`{' '.join(cmd)}` printed no JSON object: {proc.stdout[-500:]!r}"


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "clipseg-full-random", metavar="DIR")
    ap.add_argument("--clipseg", default="clipseg", metavar="PATH", help="the clipseg binary (default: on PATH)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per measurement, after one warm-up")
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write both sides' timings to FILE")
    args = ap.parse_args()

    onnx_path = args.model / "model.onnx"
    if not onnx_path.exists():
        sys.exit(f"{onnx_path} missing: run `python scripts/make_fixtures.py --full {args.model} --onnx`")

    print(f"clipseg bench ({args.clipseg}) ...", file=sys.stderr)
    cs, why = bench_clipseg(args.clipseg, args.model, args.runs)
    if cs is None:
        print(f"warning: {why}\nwarning: printing the ONNX Runtime half only", file=sys.stderr)
    print(f"onnxruntime ({onnx_path}) ...", file=sys.stderr)
    ort = bench_ort(onnx_path, args.model, args.runs, args.threads)

    cs = cs or {}
    encode, embed, dec1, dec8 = (cs.get(k) for k in ("encode_image_s", "embed_text_s", "decode_1_s", "decode_8_s"))
    ort1, ort8 = ort["forward_1_s"], ort["forward_8_s"]

    print(f"\nModel `{args.model}`; medians of {args.runs} runs after one warm-up; {os.cpu_count()} CPU cores. "
          f"ONNX Runtime {ort['version']}: CPU, {args.threads} intra-op threads, 1 inter-op, all graph "
          f"optimisations. clipseg: `bench --backend cpu`.\n")
    ratio = "n/a" if encode is None else f"{encode / ort1:.2f}×"
    extra = "n/a" if None in (encode, embed, dec1) else f"{(embed + dec1) / encode * 100:.1f} %"
    rows = [
        ("whole forward, 1 prompt (ms)", ms(ort1), ""),
        ("whole forward, 8 prompts (ms)", ms(ort8), ""),
        ("encode_image (ms)", "", ms(encode)),
        ("embed_text, 1 prompt (ms)", "", ms(embed)),
        ("decode_1 (ms)", "", ms(dec1)),
        ("decode_8 (ms)", "", ms(dec8)),
        ("clipseg encode / ORT forward (1 prompt)", "", ratio),
        # ORT has no separate stages: its marginal prompt cost is (forward_8 - forward_1) / 7.
        ("one extra prompt / encode_image", f"{(ort8 - ort1) / 7 / ort1 * 100:.1f} % (of forward_1)", extra),
    ]
    print("| measurement | ONNX Runtime | clipseg |")
    print("|---|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if why:
        print(f"\nclipseg: {why}")
    if args.json:
        record = {"model": str(args.model), "runs": args.runs, "cores": os.cpu_count(), "ort_threads": args.threads,
                  "ort": ort, "clipseg": cs or None, "clipseg_error": why or None}
        args.json.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
