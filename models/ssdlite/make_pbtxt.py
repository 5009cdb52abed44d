"""Generate the OpenCV text graph for the SSDLite-MobileNetV2 person detector.

OpenCV's TensorFlow importer cannot run the Object Detection API's pre/post-processing
(TensorArray loops, NMS), so it reads the frozen weights together with a text graph that keeps
only the backbone and box predictors and replaces the rest with OpenCV's own `PriorBox` and
`DetectionOutput` layers. This script writes that text graph; its output is committed, so it only
needs re-running when the model changes:

    cd models && python ssdlite/make_pbtxt.py cache/ssdlite_person.pb ssdlite/ssdlite_person.pbtxt

The anchor settings are the stock `ssdlite_mobilenet_v2` ones (6 feature maps, scales 0.2-0.95,
aspect ratios 1, 2, 1/2, 3, 1/3, three boxes in the lowest layer); the graph confirms them: its box
predictors have 3 anchors on the first map and 6 on the others, for 1 class plus background.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from pathlib import Path

Pairs = list[tuple[str, "str | Pairs"]]

NUM_LAYERS = 6
MIN_SCALE = 0.2
MAX_SCALE = 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)
NUM_CLASSES = 1
IMAGE_SIZE = 300
INPUT = "image_tensor"
PREPROCESS_IN = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3"
DROP_PREFIXES = (
    "MultipleGridAnchorGenerator/",
    "Postprocessor/",
    "Preprocessor/map",
    "Concatenate/",
)
KEEP_OPS = {
    "Conv2D", "BiasAdd", "Add", "AddV2", "Relu", "Relu6", "Placeholder", "FusedBatchNorm",
    "FusedBatchNormV3", "DepthwiseConv2dNative", "ConcatV2", "Mul", "Sub", "Const",
}  # fmt: skip
DROP_ATTRS = {"_class", "_output_shapes", "T", "use_cudnn_on_gpu", "explicit_paddings"}

_TOKEN = re.compile(r'\s*(?:([{}:])|("(?:[^"\\]|\\.)*")|([^\s{}:"]+))')


def parse(text: str) -> Pairs:
    """Parse protobuf text format into nested (key, value) pairs, order preserved."""
    tokens = [
        m.group(1) or m.group(2) or m.group(3) for m in _TOKEN.finditer(text) if m.group(0).strip()
    ]
    pos = 0

    def block() -> Pairs:
        nonlocal pos
        out: Pairs = []
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            if tokens[pos] == "{":
                pos += 1
                out.append((key, block()))
                pos += 1  # closing brace
            else:
                out.append((key, tokens[pos]))
                pos += 1
        return out

    return block()


def dump(pairs: Pairs, indent: int = 0) -> str:
    pad = "  " * indent
    lines = []
    for key, value in pairs:
        if isinstance(value, list):
            lines.append(f"{pad}{key} {{")
            lines.append(dump(value, indent + 1))
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{key}: {value}")
    return "\n".join(line for line in lines if line)


def field(node: Pairs, key: str) -> str:
    return next(str(v) for k, v in node if k == key).strip('"')


def inputs(node: Pairs) -> list[str]:
    return [str(v).strip('"') for k, v in node if k == "input"]


def set_inputs(node: Pairs, names: list[str]) -> None:
    node[:] = [(k, v) for k, v in node if k != "input"]
    at = 2  # after name and op
    for offset, name in enumerate(names):
        node.insert(at + offset, ("input", f'"{name}"'))


def attr(key: str, value: Pairs) -> tuple[str, Pairs]:
    return ("attr", [("key", f'"{key}"'), ("value", value)])


def floats(values: list[float]) -> Pairs:
    """A float list in the form OpenCV's importer reads for PriorBox: a 1-D tensor."""
    tensor: Pairs = [
        ("dtype", "DT_FLOAT"),
        ("tensor_shape", [("dim", [("size", str(len(values)))])]),
    ]
    tensor += [("float_val", f"{v:.6g}") for v in values]
    return [("tensor", tensor)]


def new_node(name: str, op: str, ins: list[str], *attrs: tuple[str, Pairs]) -> Pairs:
    node: Pairs = [("name", f'"{name}"'), ("op", f'"{op}"')]
    node += [("input", f'"{i}"') for i in ins]
    node += list(attrs)
    return node


def prior_box(i: int) -> Pairs:
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * k / (NUM_LAYERS - 1) for k in range(NUM_LAYERS)]
    scales.append(1.0)
    if i == 0:
        widths = [0.1, MIN_SCALE * math.sqrt(2.0), MIN_SCALE * math.sqrt(0.5)]
        heights = [0.1, MIN_SCALE / math.sqrt(2.0), MIN_SCALE / math.sqrt(0.5)]
    else:
        widths = [scales[i] * math.sqrt(ar) for ar in ASPECT_RATIOS]
        heights = [scales[i] / math.sqrt(ar) for ar in ASPECT_RATIOS]
        widths.append(math.sqrt(scales[i] * scales[i + 1]))
        heights.append(math.sqrt(scales[i] * scales[i + 1]))
    return new_node(
        f"PriorBox_{i}",
        "PriorBox",
        [f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd", INPUT],
        attr("flip", [("b", "false")]),
        attr("clip", [("b", "false")]),
        attr("width", floats([w * IMAGE_SIZE for w in widths])),
        attr("height", floats([h * IMAGE_SIZE for h in heights])),
        attr("variance", floats([0.1, 0.1, 0.2, 0.2])),
    )


def convert(graph: Pairs) -> Pairs:
    """Keep the backbone and predictors, then append OpenCV's SSD head."""
    nodes = [v for k, v in graph if k == "node" and isinstance(v, list)]
    by_name = {field(n, "name"): n for n in nodes}
    # Identity nodes only forward a tensor: point their consumers at the source instead.
    alias = {field(n, "name"): inputs(n)[0] for n in nodes if field(n, "op") == "Identity"}

    def resolve(name: str) -> str:
        name = name.split(":", maxsplit=1)[0].lstrip("^")
        while name in alias:
            name = alias[name].split(":")[0].lstrip("^")
        return name

    for n in nodes:
        set_inputs(n, [resolve(i) for i in inputs(n) if not i.startswith("^")])
        n[:] = [
            (k, v)
            for k, v in n
            if not (k == "attr" and isinstance(v, list) and field(v, "key") in DROP_ATTRS)
        ]
    set_inputs(
        by_name["Preprocessor/mul"],
        [INPUT if i == PREPROCESS_IN else i for i in inputs(by_name["Preprocessor/mul"])],
    )

    head: list[Pairs] = [
        new_node(
            "concat/axis_flatten",
            "Const",
            [],
            attr(
                "value",
                [("tensor", [("dtype", "DT_INT32"), ("tensor_shape", []), ("int_val", "-1")])],
            ),
        ),
    ]
    for kind, concat in (("BoxEncodingPredictor", "mbox_loc"), ("ClassPredictor", "mbox_conf")):
        flats = []
        for i in range(NUM_LAYERS):
            src = f"BoxPredictor_{i}/{kind}/BiasAdd"
            head.append(new_node(f"{src}/Flatten", "Flatten", [src]))
            flats.append(f"{src}/Flatten")
        head.append(new_node(concat, "ConcatV2", [*flats, "concat/axis_flatten"]))
    head.append(new_node("mbox_conf/activation", "Sigmoid", ["mbox_conf"]))
    head.append(new_node("mbox_conf/activation/Flatten", "Flatten", ["mbox_conf/activation"]))
    head += [prior_box(i) for i in range(NUM_LAYERS)]
    head.append(
        new_node(
            "PriorBox/concat",
            "ConcatV2",
            [*(f"PriorBox_{i}" for i in range(NUM_LAYERS)), "concat/axis_flatten"],
        )
    )
    head.append(
        new_node(
            "detection_out",
            "DetectionOutput",
            ["mbox_loc", "mbox_conf/activation/Flatten", "PriorBox/concat"],
            attr("num_classes", [("i", str(NUM_CLASSES + 1))]),
            attr("share_location", [("b", "true")]),
            attr("background_label_id", [("i", "0")]),
            attr("nms_threshold", [("f", "0.6")]),
            attr("top_k", [("i", "100")]),
            attr("code_type", [("s", '"CENTER_SIZE"')]),
            attr("keep_top_k", [("i", "100")]),
            attr("confidence_threshold", [("f", "0.01")]),
            attr("loc_pred_transposed", [("b", "true")]),
        )
    )
    for n in head:
        by_name[field(n, "name")] = n

    # Keep only what detection_out needs, in execution order (inputs before consumers).
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        stack = [(name, False)]
        while stack:
            cur, done = stack.pop()
            if done:
                order.append(cur)
                continue
            if cur in seen:
                continue
            seen.add(cur)
            node = by_name[cur]
            op = field(node, "op")
            if cur not in {field(h, "name") for h in head} and (
                cur.startswith(DROP_PREFIXES) or op not in KEEP_OPS
            ):
                raise SystemExit(f"graph needs unsupported node {cur} ({op})")
            stack.append((cur, True))
            stack.extend((i, False) for i in reversed(inputs(node)) if i not in seen)

    visit("detection_out")
    # Weights stay in the frozen graph; OpenCV matches them by name, so only new constants go here.
    added = {field(h, "name") for h in head}
    return [
        ("node", by_name[name])
        for name in order
        if name in added or field(by_name[name], "op") != "Const"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frozen_graph", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.pbtxt"
        cv2.dnn.writeTextGraph(str(args.frozen_graph), str(raw))
        graph = parse(raw.read_text())
    args.output.write_text(dump(convert(graph)) + "\n")
    sys.stderr.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
