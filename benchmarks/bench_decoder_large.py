"""A 0.5B-class decoder reward model (Qwen2-0.5B's shape, random weights, built from a config: nothing downloaded)
scored in float32 and bfloat16 on the same pairs: the same ranking of pairs, scores to bfloat16 tolerance, throughput
and peak memory; and a DPO pair (two such causal LMs) the same way. For the GPU check (run by hand):

    python benchmarks/bench_decoder_large.py --device cuda --json out.json
    python benchmarks/bench_decoder_large.py --small        # a CPU smoke run of the same code (tiny shape)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch
from scipy.stats import spearmanr

import workbench
from benchmarks.bench_models import long_tailed_pairs

#: Qwen2-0.5B's shape (494M parameters with its 151,936-token vocabulary).
HALF_B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
              vocab_size=151936, max_position_embeddings=32768, tie_word_embeddings=True)
SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
             vocab_size=1000, max_position_embeddings=4096, tie_word_embeddings=True)


def build(folder: str, shape: dict, head: str, seed: int, device: str = "cpu") -> str:
    """Save a random Qwen2 of ``shape`` with the tiny word-level tokenizer and chat template (ids fit the vocabulary)."""
    import transformers as tf

    from workbench.analysis.tiny_decoders import tiny_decoder

    tiny_decoder(folder, "qwen2", head=head, pad=None, max_positions=shape["max_position_embeddings"])  # the tokenizer and template; the model is replaced below
    config = tf.Qwen2Config(**shape, bos_token_id=1, eos_token_id=2, initializer_range=0.02, **({"num_labels": 1} if head == "classifier" else {}))
    torch.manual_seed(seed)
    cls = tf.Qwen2ForSequenceClassification if head == "classifier" else tf.Qwen2ForCausalLM
    with torch.device(device):  # random init of 0.5B parameters is quick on the GPU
        model = cls(config).eval()
    model.save_pretrained(folder)
    return folder


def run(label: str, call, device: str) -> tuple[dict, object]:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    scored = call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    report = scored.attrs["scoring"]
    row = {"case": label, "seconds": seconds, "pairs_per_s": len(scored) / seconds, "dtype": report["dtype"],
           "padding_overhead": report["padding_overhead"], "batches": report["batches"], "oom_retries": report["oom_retries"],
           "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None}
    print(f"  {label:<28} {seconds:7.2f} s  {row['pairs_per_s']:8.1f} pairs/s  padding +{row['padding_overhead']:.1%}"
          + (f"  peak {row['peak_gpu_mib']:,.0f} MiB" if row["peak_gpu_mib"] else ""), flush=True)
    return row, scored


def agreement(full, half) -> dict:
    margin_full = (full["score_a"] - full["score_b"]).to_numpy()
    margin_half = (half["score_a"] - half["score_b"]).to_numpy()
    scores_full = np.concatenate([full["score_a"], full["score_b"]])
    scores_half = np.concatenate([half["score_a"], half["score_b"]])
    return {"spearman_margin": float(spearmanr(margin_full, margin_half)[0]),
            "same_preferred_share": float(np.mean(np.sign(margin_full) == np.sign(margin_half))),
            "max_abs_diff_over_sd": float(np.abs(scores_full - scores_half).max() / scores_full.std())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--small", action="store_true", help="a tiny shape (CPU smoke run)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    shape = SMALL if args.small else HALF_B
    pairs = long_tailed_pairs(args.pairs, max_words=400)
    root = tempfile.mkdtemp()
    rm = build(f"{root}/rm", shape, "classifier", 0, args.device)
    policy = build(f"{root}/policy", shape, "causal", 1, args.device)
    reference = build(f"{root}/ref", shape, "causal", 2, args.device)
    print(f"{args.pairs} pairs, Qwen2 {'tiny' if args.small else '0.5B-class'} (random), {args.device}", flush=True)
    rows, out = [], {}
    for case, kwargs in (("classifier", {}), ("dpo", {"reference": reference, "beta": 0.1})):
        model = rm if case == "classifier" else policy
        for dtype in ("float32", "bfloat16"):
            row, out[case, dtype] = run(f"{case} {dtype}", lambda: workbench.score_pairs(
                model, pairs, device=args.device, dtype=dtype, batch_size=64, progress=False, **kwargs), args.device)
            rows.append(row)
        check = agreement(out[case, "float32"], out[case, "bfloat16"])
        rows[-1].update(check)
        print(f"  {case}: bf16 vs fp32 margin Spearman {check['spearman_margin']:.4f}, same preferred response "
              f"{check['same_preferred_share']:.1%}, max |Δscore| {check['max_abs_diff_over_sd']:.3f} SD", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"device": args.device, "pairs": args.pairs, "shape": shape, "rows": rows,
                       "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}, handle, indent=1)


if __name__ == "__main__":
    main()
