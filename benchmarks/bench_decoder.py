"""Speed of one mask decode on the CPU (issues 10 and 16); prints JSON. Not a test: figures depend
on the machine and its load (the 1-minute load average is printed with them).

mobile_sam (random weights, or the golden fp16 weights with --weights golden), the embedding of a
4000x3000 image; `SamPredictor._decode` (prompt encoder + mask decoder, what `predict` and
`predict_boxes` run per prompt, without the mask upsampling) for
  point_multimask  one foreground point, multimask=True (3 candidates),
  box              one box, multimask=False (what autolabel --mode boxes runs per box),
through the plain modules ("plain", the reference arithmetic: SamPredictor(fast=False)) and the
fast route ("fast", the default), at 1 thread (process CPU ms: load-independent) and 2 threads
(wall ms). The two routes alternate in blocks (ABBA...) within one process, so their ratio
survives the machine's load; per configuration the median and the minimum over --reps blocks of
--calls decodes. The fast route's prompt-independent image side is cached per embedding (what
every click after the first on an image reuses): "fast_prepare_ms" is that one-off cost (1 thread,
CPU ms). "max_abs_diff" is the largest difference of the low-res logits between the routes.

    python benchmarks/bench_decoder.py [--weights random|golden] [--reps 15] [--calls 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_autolabel import _image, _loadavg, _model  # noqa: E402  (the same model and image)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", choices=["random", "golden"], default="random")
    ap.add_argument("--reps", type=int, default=15, help="blocks per route and configuration (median over them)")
    ap.add_argument("--calls", type=int, default=3, help="decodes per block")
    args = ap.parse_args(argv)

    import torch

    from sam_backend.predictor import SamPredictor, validate_prompts

    model = _model(args.weights)
    fast = SamPredictor(model, "mobile_sam", "cpu")
    plain = SamPredictor(model, "mobile_sam", "cpu", fast=False)
    h, w = 3000, 4000
    emb = fast.encode(_image((h, w)))
    cases = {
        "point_multimask": (validate_prompts([[w * 0.4, h * 0.5]], [1], None, None), True),
        "box": (validate_prompts(None, None, [w * 0.25, h * 0.2, w * 0.6, h * 0.7], None), False),
    }
    routes = {"plain": plain, "fast": fast}
    out: dict[str, Any] = {"model": "mobile_sam", "weights": args.weights, "image": [w, h], "reps": args.reps,
                           "calls_per_block": args.calls, "loadavg_1min_start": _loadavg(), "cases": {}}
    torch.set_num_threads(1)
    decoder = fast.fast_decoder
    assert decoder is not None
    with torch.inference_mode():
        feats = emb.features.float()
        pe = model.prompt_encoder
        dense = pe(None, torch.zeros(1, 4), None)[1]
        dense_pe = pe.get_dense_pe()
        prep_times = []
        for _ in range(5):
            t0 = time.process_time()
            decoder.prepare(feats, dense_pe, dense)
            prep_times.append((time.process_time() - t0) * 1e3)
    out["fast_prepare_ms"] = round(statistics.median(prep_times), 2)
    for name, (prompts, multimask) in cases.items():
        ref = plain._decode(emb, prompts, multimask)[0]
        low = fast._decode(emb, prompts, multimask)[0]
        entry: dict[str, Any] = {"max_abs_diff": float((low - ref).abs().max())}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            clock: Callable[[], float] = time.process_time if threads == 1 else time.perf_counter
            times: dict[str, list[float]] = {r: [] for r in routes}
            for r in routes.values():
                r._decode(emb, prompts, multimask)  # warm
            for rep in range(args.reps):
                order = list(routes.items()) if rep % 2 == 0 else list(routes.items())[::-1]
                for route, predictor in order:
                    t0 = clock()
                    for _ in range(args.calls):
                        predictor._decode(emb, prompts, multimask)
                    times[route].append((clock() - t0) / args.calls * 1e3)
            kind = "cpu_ms" if threads == 1 else "wall_ms"
            for route, v in times.items():
                entry[f"{route}_{threads}t_{kind}"] = {"median": round(statistics.median(v), 2), "min": round(min(v), 2)}
            entry[f"speedup_{threads}t"] = round(statistics.median(times["plain"]) / statistics.median(times["fast"]), 2)
        out["cases"][name] = entry
    out["loadavg_1min_end"] = _loadavg()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
