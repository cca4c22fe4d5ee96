"""`sam-labeler encode P.samlabel|DIR`: pre-compute image embeddings into the persistent disk cache.

The cache key is the one the GUI's inference worker uses: (model id, sha1 of the image file bytes,
the predictor's preprocess version), so images encoded here open without an encoder wait.
"""
from __future__ import annotations

import argparse
import errno
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

NAME = "encode"
HELP = "pre-compute SAM embeddings of a folder or project into the disk cache"
PROJECT_SUFFIX = ".samlabel"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="P.samlabel|DIR", help="project file or image folder (recursive)")
    parser.add_argument("--model", default="mobile_sam", help="model id (default mobile_sam)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint file instead of the model cache")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--force", action="store_true", help="encode again even when already cached")


def list_images(path: Path) -> list[Path]:
    """Absolute image paths of a .samlabel project (opened read-only) or of a folder (recursive, sorted)."""
    if path.is_file() and path.suffix.lower() == PROJECT_SUFFIX:
        from app.core.project import Project

        project = Project.open(path, read_only=True)
        try:
            return [Path(project.image_path(rec)) for rec in project.images()]
        finally:
            project.close()
    if path.is_dir():
        from app.core.sync import scan_image_files

        return [path / rel for rel in scan_image_files(path)]
    if path.exists():
        raise ValueError(f"{path} is neither a folder nor a {PROJECT_SUFFIX} project")
    raise FileNotFoundError(errno.ENOENT, f"{path} does not exist")


def _load_rgb(path: Path) -> np.ndarray:
    from app.core.images import load_image

    return load_image(path).array


def run(args: argparse.Namespace) -> int:
    from app.core.errors import CoreError
    from sam_backend import load_predictor
    from sam_backend.cache import CacheKey, EmbeddingCache, sha1_of_file
    from sam_backend.paths import embeddings_dir
    from sam_backend.registry import get_spec

    from app.cli.models_cmd import ProgressBar

    images = list_images(Path(args.path).expanduser())
    if not images:
        print(f"no images found in {args.path}")
        return 0
    spec = get_spec(args.model)
    predictor = load_predictor(model=spec.id, checkpoint=args.checkpoint, device=args.device)
    version = int(predictor.preprocess_version)
    cache = EmbeddingCache(max_bytes=0, disk_dir=embeddings_dir())
    bar = ProgressBar(f"encoding with {spec.id}", unit="images", scale=1.0)
    encoded = cached = 0
    failures: list[str] = []
    start = time.monotonic()
    try:
        for i, image_path in enumerate(images):
            bar(i, len(images))
            try:
                key = CacheKey(spec.id, sha1_of_file(image_path), version)
                if not args.force and cache.on_disk(key):
                    cached += 1
                    continue
                emb = predictor.encode(_load_rgb(image_path))
            except (OSError, ValueError, CoreError) as exc:
                failures.append(f"{image_path}: {exc}")
                continue
            try:
                cache.put(key, emb, strict=True)
            except OSError as exc:
                reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
                raise OSError(exc.errno, f"cannot write the embedding cache in {cache.disk_dir}: {reason}; "
                                         f"{encoded} embeddings were saved before") from exc
            encoded += 1
        bar(len(images), len(images))
    except KeyboardInterrupt:
        bar.finish()
        print(f"sam-labeler: stopped by Ctrl+C after {encoded + cached + len(failures)} of {len(images)} images; "
              f"the {encoded} embeddings computed so far are saved", file=sys.stderr)
        return 130
    bar.finish()
    device = getattr(predictor, "device", args.device)
    print(f"encoded {encoded}, already cached {cached}, unreadable {len(failures)} of {len(images)} images "
          f"with {spec.id} on {device} in {time.monotonic() - start:.1f} s; cache: {cache.disk_dir}")
    for line in failures:
        print(f"  skipped {line}", file=sys.stderr)
    if failures:
        print(f"sam-labeler: error: {len(failures)} image(s) could not be encoded (listed above)", file=sys.stderr)
        return 1
    return 0
