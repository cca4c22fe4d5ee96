"""`sam-labeler models list | download ID | import ID FILE | verify [ID] | modes ID`: the checkpoint cache and
the encoder modes (exact and the opt-in fast ones, with their measured speed and mask agreement)."""
from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

NAME = "models"
HELP = "list, download, import and verify SAM checkpoints in the model cache"


class ProgressBar:
    """Progress on a stream: a bar redrawn in place on a terminal, periodic plain lines otherwise.

    Call it as progress(done, total | None) (the sam_backend progress signature); `finish()` ends the line.
    """

    def __init__(self, label: str, stream: TextIO | None = None, unit: str = "MB", scale: float = 1e6,
                 min_interval_s: float = 0.1, line_interval_s: float = 5.0) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.unit, self.scale = unit, scale
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._min_interval = min_interval_s if self.tty else line_interval_s
        self._last_draw = 0.0
        self._last_pct = -1
        self._start = time.monotonic()
        self._start_done: int | None = None
        self._drawn = False
        self._width = 0
        self._last: tuple[int, int | None] = (0, None)

    def __call__(self, done: int, total: int | None) -> None:
        self._last = (done, total)
        if self._start_done is None:
            self._start_done = done
        now = time.monotonic()
        pct = int(100 * done / total) if total else -1
        complete = total is not None and done >= total
        if self.tty:
            if now - self._last_draw >= self._min_interval or complete:
                self._draw(done, total, now)
        elif (pct >= 0 and pct // 10 > self._last_pct // 10) or now - self._last_draw >= self._min_interval \
                or complete:
            self._draw(done, total, now)
            self._last_pct = pct

    def _draw(self, done: int, total: int | None, now: float) -> None:
        self._last_draw = now
        elapsed = max(now - self._start, 1e-6)
        rate = (done - (self._start_done or 0)) / self.scale / elapsed
        amount = f"{self._fmt(done)}/{self._fmt(total)} {self.unit}" if total else f"{self._fmt(done)} {self.unit}"
        if self.tty:
            width = 30
            filled = int(width * done / total) if total else 0
            bar = "#" * filled + "-" * (width - filled) if total else "?" * 3
            pct = f"{100 * done / total:5.1f}%" if total else "    ?"
            line = f"{self.label} [{bar}] {pct} {amount} {rate:.1f} {self.unit}/s"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = max(self._width, len(line))
            self._drawn = True
        else:
            pct = f"{100 * done / total:.0f}% " if total else ""
            self.stream.write(f"{self.label}: {pct}{amount}\n")
        self.stream.flush()

    def _fmt(self, n: int) -> str:
        return str(n) if self.scale == 1 else f"{n / self.scale:.1f}"

    def finish(self) -> None:
        """Draw the final state and end the in-place line."""
        if self.tty and self._drawn:
            self._draw(*self._last, time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="list the known models and whether they are installed and verified")
    p = sub.add_parser("download", help="download, verify and install a checkpoint (resumes partial downloads)")
    p.add_argument("model_id", metavar="ID")
    p.add_argument("--mirror", default=None, help="base URL instead of the official host "
                                                  "(default: $SAM_LABELER_MODEL_MIRROR; hub models use $HF_ENDPOINT)")
    p.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)")
    p = sub.add_parser("import", help="verify a checkpoint file (or, for hub models, a snapshot folder or an "
                                      "official SAM 2.1 .pt) you already have and copy it into the cache")
    p.add_argument("model_id", metavar="ID")
    p.add_argument("file", metavar="FILE|DIR")
    p = sub.add_parser("verify", help="re-hash installed checkpoints (all, or one ID)")
    p.add_argument("model_id", metavar="ID", nargs="?")
    p = sub.add_parser("modes", help="the encoder modes of a model (exact, bf16, int8, fp16) with their measured "
                                     "speed-up and mask IoU against exact, and whether each works here")
    p.add_argument("model_id", metavar="ID")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps (default cpu)")


def run(args: argparse.Namespace) -> int:
    action = {"list": _list, "download": _download, "import": _import, "verify": _verify, "modes": _modes}[args.action]
    return action(args)


def _human(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def _list(args: argparse.Namespace) -> int:
    from sam_backend.checkpoints import install_state
    from sam_backend.paths import models_dir
    from sam_backend.registry import MODELS

    from sam_backend.families import family_for

    rows = [("ID", "FAMILY", "SIZE", "LICENCE", "STATUS")]
    for spec in MODELS.values():
        state = install_state(spec.id)
        status = {"verified": "installed, verified", "unverified": "installed, not verified (run verify)",
                  "missing": "not installed"}[state.status]
        if state.partial_bytes and state.status != "verified":
            status += f" (partial download {_human(state.partial_bytes)})"
        fam = family_for(spec.id)
        missing = fam.available() if fam is not None else f"family {spec.family!r} is not registered (plugin missing)"
        if missing:
            status += f"; unusable here: {missing}"
        rows.append((spec.id, spec.family, _human(spec.size_bytes), spec.licence, status))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}")
    print(f"model cache: {models_dir(create=False)}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from sam_backend.checkpoints import install_state
    from sam_backend.download import download
    from sam_backend.registry import get_spec

    spec = get_spec(args.model_id)
    if install_state(spec.id).status == "verified":
        print(f"{spec.id} is already installed and verified: {install_state(spec.id).path}")
        return 0
    bar = ProgressBar(f"downloading {spec.id}")
    try:
        path = download(spec.id, progress=bar, mirror=args.mirror, timeout=args.timeout)
    except KeyboardInterrupt:
        print(f"sam-labeler: download of {spec.id} interrupted; run the same command again to resume",
              file=sys.stderr)
        return 130
    finally:
        bar.finish()
    print(f"installed {spec.id}: {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from sam_backend.checkpoints import import_checkpoint
    from sam_backend.registry import get_spec

    spec = get_spec(args.model_id)
    bar = ProgressBar(f"verifying and copying {args.file}")
    try:
        path = import_checkpoint(spec.id, args.file, progress=bar)
    finally:
        bar.finish()
    print(f"installed {spec.id} from {args.file}: {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from sam_backend.checkpoints import install_state, verify
    from sam_backend.paths import models_dir
    from sam_backend.registry import MODELS, get_spec

    if args.model_id is not None:
        ids = [get_spec(args.model_id).id]
    else:
        ids = [i for i in MODELS if install_state(i).status != "missing"]
        if not ids:
            print(f"no models are installed in {models_dir(create=False)}")
            return 0
    failed = 0
    for model_id in ids:
        bar = ProgressBar(f"hashing {model_id}")
        try:
            result = verify(model_id, progress=bar)
        finally:
            bar.finish()
        if result.ok:
            print(result.message)
        else:
            failed += 1
            hint = "" if not result.installed else f"; run `sam-labeler models download {model_id}` to replace it"
            print(f"sam-labeler: error: {result.message}{hint}", file=sys.stderr)
    return 1 if failed else 0


def _modes(args: argparse.Namespace) -> int:
    from sam_backend.modes import encoder_modes
    from sam_backend.registry import get_spec

    spec = get_spec(args.model_id)
    modes = encoder_modes(spec.id, device=args.device)
    rows = [("MODE", "EXACT", "SPEED-UP", "MASK IOU (WORST)", "HERE")]
    for m in modes:
        iou = "-" if m.mask_iou is None else f"{m.mask_iou * 100:.1f}% ({(m.min_iou or 0) * 100:.1f}%)"
        if m.iou_weights == "random" and not m.exact and m.mask_iou is not None:
            iou += " random weights"
        rows.append((m.precision, "yes" if m.exact else "no", "-" if m.speedup is None else f"{m.speedup:.2f}x",
                     iou, "works" if m.available else m.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}")
    measured_on = next((m.measured_on for m in modes if m.measured_on), None)
    print(f"figures measured on: {measured_on}" if measured_on else
          f"no figures were measured for {spec.id} on {args.device}")
    print("use one with --precision MODE (autolabel) or in the model manager; fp32 is exact (the default)")
    return 0
