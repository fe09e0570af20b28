"""Scoring throughput: length-sorted batches (``workbench.score_pairs``) vs peers measured in the same run (run by hand).

    python benchmarks/bench_models.py               # 2,000 pairs
    python benchmarks/bench_models.py --pairs 500   # a smaller run
    python benchmarks/bench_models.py --device cuda --dtype bfloat16

Same tiny local BERT reward model (built here, nothing downloaded), same pairs with long-tailed
response lengths, every text distinct (so our per-call de-duplication gains nothing). Peers: a
batch-size-1 loop (tokenizer → model per text), the same batches unsorted, and the transformers
``text-classification`` pipeline at batch size 32. Prints pairs/s and ratios, and padded vs real tokens.

Then (unless ``--no-decoders``) the same pairs through a tiny Llama reward model (chat template ending in EOS,
pad = EOS) beside the pipeline on the same model, and a DPO pair of tiny Llama causal LMs beside a
one-text-at-a-time log-prob loop: pairs/s, padding share and peak memory (CUDA: the allocator's peak; CPU:
the process's peak resident set, which only grows, so read it as an upper bound).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np
import pandas as pd
import torch

import workbench
from workbench.analysis.scoring import _TINY_WORDS


def long_tailed_pairs(n: int, seed: int = 0, max_words: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.asarray(_TINY_WORDS)

    def text(k):
        return " ".join(rng.choice(words, size=int(k)))

    lengths = np.minimum(np.exp(rng.normal(3.0, 0.9, size=(n, 2))).astype(int) + 3, max_words)
    return pd.DataFrame({
        "prompt": [text(rng.integers(4, 12)) + f" {k}" for k in range(n)],
        "response_a": [text(k) for k in lengths[:, 0]],
        "response_b": [text(k) for k in lengths[:, 1]],
    })


def one_by_one(model, tokenizer, pairs, device) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for column in ("response_a", "response_b"):
            for p, r in zip(pairs["prompt"], pairs[column]):
                enc = tokenizer(p, r, return_tensors="pt", truncation=True).to(device)
                out.append(float(model(**enc).logits[0, 0]))
    return np.asarray(out)


def unsorted_batches(model, tokenizer, pairs, device, batch_size=32) -> tuple[np.ndarray, int]:
    prompts = list(pairs["prompt"]) * 2
    responses = list(pairs["response_a"]) + list(pairs["response_b"])
    out, padded = [], 0
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            enc = tokenizer(prompts[start:start + batch_size], responses[start:start + batch_size], return_tensors="pt",
                            padding=True, truncation=True).to(device)
            padded += enc["input_ids"].numel()
            out.append(model(**enc).logits[:, 0].float().cpu().numpy())
    return np.concatenate(out), padded


def peak_memory_mib(device) -> float:
    import resource

    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def dpo_loop(policy, reference, tokenizer, pairs, device, beta=0.1) -> np.ndarray:
    """The peer: each (prompt, response) alone through both models, log-probs of the response tokens summed."""
    out = []
    with torch.inference_mode():
        for column in ("response_a", "response_b"):
            for p, r in zip(pairs["prompt"], pairs[column]):
                user = [{"role": "user", "content": p}]
                head = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=True)["input_ids"]
                full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": r}], tokenize=True)["input_ids"]
                ids = torch.tensor([full], device=device)
                total = 0.0
                for sign, model in ((1, policy), (-1, reference)):
                    logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
                    total += sign * float(logp[torch.arange(len(head) - 1, len(full) - 1), ids[0, len(head):]].sum())
                out.append(beta * total)
    return np.asarray(out)


def decoder_rows(pairs, args) -> dict:
    """A decoder classifier and a DPO pair on the same pairs: ours vs the pipeline / a one-by-one loop."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from workbench.analysis.tiny_decoders import tiny_decoder

    device = torch.device(args.device)
    n = len(pairs)
    rm = tiny_decoder(tempfile.mkdtemp(), "llama", pad="eos", hidden_size=args.hidden, layers=2, max_positions=1024)
    workbench.score_pairs(rm, pairs.head(8), device=args.device, dtype=args.dtype, progress=False)  # warm-up (first Llama kernels)
    reset_peak(device)
    t_ours, ours = timed(lambda: workbench.score_pairs(rm, pairs, batch_size=32, device=args.device, dtype=args.dtype, progress=False))
    rows = {"decoder_pairs_per_s": n / t_ours, "decoder_padding_overhead": ours.attrs["scoring"]["padding_overhead"],
            "decoder_peak_mib": peak_memory_mib(device)}
    model = AutoModelForSequenceClassification.from_pretrained(rm).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(rm)
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False)
             for column in ("response_a", "response_b") for p, r in zip(pairs["prompt"], pairs[column])]
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, function_to_apply="none", top_k=None)
    t_pipe, piped = timed(lambda: classify(texts, batch_size=32))
    piped = np.asarray([row[0]["score"] if isinstance(row, list) else row["score"] for row in piped])
    mine = np.concatenate([ours["score_a"], ours["score_b"]])
    rows.update({"decoder_pipeline_pairs_per_s": n / t_pipe, "decoder_speedup_vs_pipeline": t_pipe / t_ours,
                 # the pipeline pads with EOS and the model pools on the last non-EOS token: not the text's real last one
                 "decoder_max_abs_diff_vs_pipeline": float(np.abs(mine - piped).max())})
    policy = tiny_decoder(tempfile.mkdtemp(), "llama", head="causal", seed=1, hidden_size=args.hidden, layers=2, max_positions=1024)
    reference = tiny_decoder(tempfile.mkdtemp(), "llama", head="causal", seed=2, hidden_size=args.hidden, layers=2, max_positions=1024)
    workbench.score_pairs(policy, pairs.head(8), reference=reference, device=args.device, dtype=args.dtype, progress=False)
    reset_peak(device)
    t_dpo, dpo = timed(lambda: workbench.score_pairs(policy, pairs, reference=reference, beta=0.1, batch_size=32,
                                                     device=args.device, dtype=args.dtype, progress=False))
    rows.update({"dpo_pairs_per_s": n / t_dpo, "dpo_padding_overhead": dpo.attrs["scoring"]["padding_overhead"],
                 "dpo_peak_mib": peak_memory_mib(device)})
    pi = AutoModelForCausalLM.from_pretrained(policy).to(device).eval()
    ref = AutoModelForCausalLM.from_pretrained(reference).to(device).eval()
    subset = pairs.head(max(1, n // 10))  # the loop is slow: a tenth of the pairs, rate scaled per pair
    t_loop, looped = timed(lambda: dpo_loop(pi, ref, AutoTokenizer.from_pretrained(policy), subset, device))
    rows.update({"dpo_loop_pairs_per_s": len(subset) / t_loop, "dpo_speedup_vs_loop": (t_loop / len(subset)) / (t_dpo / n),
                 "dpo_max_abs_diff_vs_loop": float(np.abs(np.concatenate([dpo["score_a"].head(len(subset)),
                                                                         dpo["score_b"].head(len(subset))]) - looped).max())})
    return rows


def timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--no-decoders", action="store_true", help="skip the decoder classifier and DPO rows")
    args = parser.parse_args()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    folder = tempfile.mkdtemp()
    path = workbench.tiny_reward_model(folder, hidden_size=args.hidden, max_length=256)
    pairs = long_tailed_pairs(args.pairs)
    device = torch.device(args.device)
    model = AutoModelForSequenceClassification.from_pretrained(path).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    n_params = sum(p.numel() for p in model.parameters())

    t_ours, ours = timed(lambda: workbench.score_pairs(path, pairs, batch_size=32, device=args.device, dtype=args.dtype, progress=False))
    report = ours.attrs["scoring"]
    t_loop, loop = timed(lambda: one_by_one(model, tokenizer, pairs, device))
    t_unsorted, (unsorted, unsorted_padded) = timed(lambda: unsorted_batches(model, tokenizer, pairs, device))
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, function_to_apply="none", top_k=None)
    inputs = [{"text": p, "text_pair": r} for column in ("response_a", "response_b") for p, r in zip(pairs["prompt"], pairs[column])]
    t_pipe, piped = timed(lambda: classify(inputs, batch_size=32))
    piped = np.asarray([row[0]["score"] if isinstance(row, list) else row["score"] for row in piped])

    mine = np.concatenate([ours["score_a"], ours["score_b"]])
    rows = {
        "machine": platform.processor() or platform.machine(), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "device": args.device, "dtype": report["dtype"], "pairs": args.pairs, "parameters": n_params,
        "ours_s": t_ours, "loop_s": t_loop, "unsorted_s": t_unsorted, "pipeline_s": t_pipe,
        "ours_pairs_per_s": args.pairs / t_ours, "loop_pairs_per_s": args.pairs / t_loop,
        "unsorted_pairs_per_s": args.pairs / t_unsorted, "pipeline_pairs_per_s": args.pairs / t_pipe,
        "speedup_vs_loop": t_loop / t_ours, "speedup_vs_unsorted": t_unsorted / t_ours, "speedup_vs_pipeline": t_pipe / t_ours,
        "real_tokens": report["real_tokens"], "padded_tokens": report["padded_tokens"], "padding_overhead": report["padding_overhead"],
        "unsorted_padded_tokens": unsorted_padded,
        "max_abs_diff_vs_loop": float(np.abs(mine - loop).max()),
        "max_abs_diff_vs_pipeline": float(np.abs(mine - piped).max()),
        "max_abs_diff_vs_unsorted": float(np.abs(mine - unsorted).max()),
    }
    print(f"{args.pairs} pairs, BERT {n_params:,} parameters, {args.device} {report['dtype']}, {rows['threads']} threads")
    for name in ("ours", "loop", "unsorted", "pipeline"):
        print(f"  {name:<9} {rows[f'{name}_s']:7.2f} s  {rows[f'{name}_pairs_per_s']:7.1f} pairs/s")
    print(f"  ours vs loop {rows['speedup_vs_loop']:.2f}x, vs unsorted batches {rows['speedup_vs_unsorted']:.2f}x, "
          f"vs pipeline {rows['speedup_vs_pipeline']:.2f}x")
    print(f"  tokens: real {rows['real_tokens']:,}, padded (sorted) {rows['padded_tokens']:,} "
          f"(+{rows['padding_overhead']:.1%}), padded (unsorted) {unsorted_padded:,}")
    print(f"  max |diff| vs loop {rows['max_abs_diff_vs_loop']:.1e}, vs pipeline {rows['max_abs_diff_vs_pipeline']:.1e}")
    if not args.no_decoders:
        rows.update(decoder_rows(pairs, args))
        print(f"  decoder (Llama, hidden {args.hidden}) {rows['decoder_pairs_per_s']:7.1f} pairs/s, padding "
              f"+{rows['decoder_padding_overhead']:.1%}, peak {rows['decoder_peak_mib']:,.0f} MiB; pipeline "
              f"{rows['decoder_pipeline_pairs_per_s']:7.1f} pairs/s (max |diff| {rows['decoder_max_abs_diff_vs_pipeline']:.2f})")
        print(f"  DPO pair (Llama)        {rows['dpo_pairs_per_s']:7.1f} pairs/s, padding +{rows['dpo_padding_overhead']:.1%}, "
              f"peak {rows['dpo_peak_mib']:,.0f} MiB; one-by-one loop {rows['dpo_loop_pairs_per_s']:7.1f} pairs/s "
              f"(max |diff| {rows['dpo_max_abs_diff_vs_loop']:.1e})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
