"""Fuzzing of the COCO and LabelMe importers with mutated real documents (run by
tests/core/test_import_fuzz.py in a child process under an address-space limit, so that a crash
or a runaway allocation fails the test instead of the test run).

Each example takes a document of the interop corpus, replaces a few of its nodes (anywhere in the
tree) with hostile values - wrong types, ids as lists/dicts, integers too large for any C type,
1e308 / 4e8 / NaN coordinates, huge RLE sizes, empty containers - imports it into a fresh project
and checks the outcome: a clean import, items skipped with a reason, or one FormatError. Any other
exception is a failure (printed with the document).

    python tests/core/fuzz_importers.py --examples 150 --seed 0
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from app.core.errors import FormatError  # noqa: E402
from app.core.formats import import_coco, import_labelme  # noqa: E402
from app.core.project import Project  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "interop"

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 4e8, -1e9, 2 ** 63, 2 ** 64, 10 ** 30, -(2 ** 63) - 1, 0, -1, 0.5]),
    st.just([]), st.just({}), st.just([[]]), st.just([1, 2]), st.just({"a": [1]}),
    st.lists(st.integers(min_value=-(10 ** 12), max_value=10 ** 12), max_size=8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8),
    st.sampled_from([
        [[1e308, 0.0, 5.0, 5.0, 0.0, 5.0]], [[4e8, 4e8, -4e8, 4e8, 0, -4e8]], [[0, 0, 10 ** 30, 0, 5, 5]],
        {"size": [10 ** 9, 10 ** 9], "counts": "abc"}, {"size": [48, 64], "counts": [10 ** 12]},
        {"size": [48, 64], "counts": [-5, 3072]}, {"size": [48, 64], "counts": "0000"},
        {"size": [48, 64], "counts": [[1]]}, [[[0, 0], [1, 1]]], [[1e308, 1e308]], [[0, 0], [64, 48]],
        {"x": {"y": {"z": [None]}}},
    ]),
)


def _paths(node: object, out: list[tuple[object, object]]) -> None:
    """Every (container, key) of a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((node, k))
            _paths(v, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((node, i))
            _paths(v, out)


@st.composite
def mutated(draw: st.DrawFn, doc: dict) -> dict:
    d = copy.deepcopy(doc)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths: list[tuple[object, object]] = []
        _paths(d, paths)
        if not paths:
            break
        container, key = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "grow"]))
        if action == "replace":
            container[key] = copy.deepcopy(draw(HOSTILE))  # type: ignore[index]  (never a shared object)
        elif action == "delete":
            del container[key]  # type: ignore[attr-defined]
        elif isinstance(container[key], list):  # type: ignore[index]
            container[key].append(copy.deepcopy(draw(HOSTILE)))  # type: ignore[index]
        elif isinstance(container[key], dict):  # type: ignore[index]
            container[key][draw(st.text(max_size=4))] = copy.deepcopy(draw(HOSTILE))  # type: ignore[index]
    return d


def _coco_doc() -> dict:
    return {
        "info": {"description": "fuzz"}, "licenses": [{"id": 1, "name": "x"}],
        "categories": [{"id": 1, "name": "car", "supercategory": "vehicle"}, {"id": 2, "name": "person"}],
        "images": [{"id": 10, "file_name": "street.png", "width": 64, "height": 48, "license": 1}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 1, "iscrowd": 0, "area": 10.0, "bbox": [2, 3, 10, 8],
             "segmentation": [[2.0, 3.0, 12.0, 3.0, 12.0, 11.0, 2.0, 11.0]], "score": 0.5},
            {"id": 2, "image_id": 10, "category_id": 2, "iscrowd": 1, "area": 20.0, "bbox": [0, 0, 4, 5],
             "segmentation": {"size": [48, 64], "counts": [0, 5, 43, 5, 43, 5, 43, 5, 2926]}},
            {"id": 3, "image_id": 10, "category_id": 1, "iscrowd": 0, "bbox": [30, 30, 5, 5]},
        ],
    }


def _check(kind: str, doc: dict) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        shutil.copy(CORPUS / "images" / "street.png", tmp / "street.png")
        src = tmp / "doc.json"
        src.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
        project = Project.create(tmp / "p.samlabel")
        try:
            try:
                report = (import_coco if kind == "coco" else import_labelme)(project, src, tmp)
            except FormatError:
                return
            # whatever was stored is readable and consistent
            stored = project.annotation_count()
            assert stored == report.annotations, (stored, report.annotations)
            for rec in project.images():
                for ann in project.annotations(rec.id):
                    for part in ann.parts:
                        assert all(math.isfinite(x) and math.isfinite(y) for x, y in part.exterior)
            assert all(isinstance(what, str) and isinstance(why, str) and why for what, why in report.skipped)
        finally:
            project.close()
    except BaseException:
        print(f"failing {kind} document: {json.dumps(doc, allow_nan=True)[:2000]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    labelme_docs = [json.loads((CORPUS / rel).read_text(encoding="utf-8"))
                    for rel in ("labelme5/street.json", "labelme7/kitchen.json", "xanylabeling/field.json")]
    for d in labelme_docs:
        d["imagePath"] = "street.png"
        d["imageHeight"], d["imageWidth"] = 48, 64
    options = settings(max_examples=args.examples, deadline=None, derandomize=False, database=None,
                       suppress_health_check=list(HealthCheck))

    @options
    @given(mutated(_coco_doc()))
    def fuzz_coco(doc: dict) -> None:
        _check("coco", doc)

    @options
    @given(st.sampled_from(labelme_docs).flatmap(mutated))
    def fuzz_labelme(doc: dict) -> None:
        _check("labelme", doc)

    from hypothesis import seed

    seed(args.seed)(fuzz_coco)()
    seed(args.seed)(fuzz_labelme)()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
