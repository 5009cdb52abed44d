"""What runs the SSDLite network: OpenVINO where it is installed, else OpenCV's dnn module.

Both read the same pinned frozen graph and answer the same question: for a batch of crops, the
person boxes as OpenCV's `DetectionOutput` layer gives them, rows of
`[crop, class, score, x1, y1, x2, y2]` in 0..1 of the crop. The detector above does the rest.

OpenVINO runs the network about twice as fast on an x86 CPU, in the same 32-bit floats
(models/README.md, thirteenth round), and the CPU it frees goes to close-ups. It runs the graph
up to the box predictors; the anchors, box decoding and per-crop NMS that OpenCV's head does are
done here in numpy, with the anchors taken from OpenCV's own `PriorBox` layers, so the two engines
give the same boxes (tests/integration/vision/test_engines.py holds them to it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from edge_agent.vision.models import RuntimeMissing

Runtime = Literal["auto", "openvino", "opencv"]
INPUT = 300  # the graph's anchors are laid out for a 300x300 input
LAYERS = 6  # box predictors of SSDLite-MobileNetV2
# OpenCV's DetectionOutput in models/ssdlite/ssdlite_person.pbtxt, which this file mirrors.
CONFIDENCE = 0.01
TOP_K = 100
NMS_IOU = 0.6
PERSON = 1  # class 0 is the background
# The last box predictors run a 3x3 depthwise kernel over a 1x1 feature map, where TensorFlow's SAME
# padding leaves only the centre tap on data. OpenCV's dnn (4.14) computes those two layers wrongly
# on a 1x1 input, which moves the boxes and scores of the biggest anchors: a person filling a
# close-up. Zeroing the taps that only ever meet padding changes nothing in TensorFlow's terms and
# gives OpenCV the right numbers (models/README.md, fourteenth round).
ONE_BY_ONE_DEPTHWISE = tuple(
    f"BoxPredictor_{LAYERS - 1}/{head}_depthwise/depthwise"
    for head in ("BoxEncodingPredictor", "ClassPredictor")
)


class Engine(Protocol):
    @property
    def name(self) -> str:
        """What runs the network: "openvino" or "opencv"."""
        ...

    def forward(
        self, images: list[npt.NDArray[np.uint8]], min_score: float = 0.0
    ) -> npt.NDArray[np.float32]:
        """Person boxes of every BGR crop: (K, 7) rows `[crop, class, score, x1, y1, x2, y2]`.

        Rows under `min_score` may be left out (the caller drops them anyway).
        """
        ...


class OpenCvEngine:
    """The graph through cv2.dnn, with OpenCV's own SSD head (`DetectionOutput`)."""

    name = "opencv"

    def __init__(self, weights: Path, graph: Path, threads: int) -> None:
        import cv2

        if threads:
            cv2.setNumThreads(threads)
        self._cv2: Any = cv2
        self.net: Any = cv2.dnn.readNetFromTensorflow(str(weights), str(graph))
        for name in ONE_BY_ONE_DEPTHWISE:
            layer = self.net.getLayerId(name)
            kernel = np.asarray(self.net.getParam(layer, 0)) if layer >= 0 else None
            if kernel is not None and kernel.shape[1:] == (1, 3, 3):
                centre = np.zeros_like(kernel)
                centre[:, :, 1, 1] = kernel[:, :, 1, 1]
                self.net.setParam(layer, 0, centre)

    def forward(
        self, images: list[npt.NDArray[np.uint8]], min_score: float = 0.0
    ) -> npt.NDArray[np.float32]:
        size = (INPUT, INPUT)
        blob = self._cv2.dnn.blobFromImages(images, 1.0, size, swapRB=True, crop=False)
        self.net.setInput(blob)
        return np.asarray(self.net.forward(), dtype=np.float32).reshape(-1, 7)

    def priors(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The anchors `[x1, y1, x2, y2]` (0..1) and their variances, as the head decodes them."""
        blob = self._cv2.dnn.blobFromImage(np.zeros((INPUT, INPUT, 3), np.uint8))
        self.net.setInput(blob)
        out = np.asarray(self.net.forward("PriorBox/concat"), dtype=np.float32).reshape(2, -1, 4)
        return out[0], out[1]


class OpenVinoEngine:
    """The graph's backbone and box predictors through OpenVINO; the SSD head in numpy."""

    name = "openvino"

    def __init__(self, weights: Path, graph: Path, threads: int) -> None:
        import cv2

        ov = import_openvino()
        from openvino.frontend import FrontEndManager

        self._cv2: Any = cv2
        self._priors, self._variances = OpenCvEngine(weights, graph, threads).priors()
        frontend = FrontEndManager().load_by_framework("tf")
        model = frontend.load(str(weights))
        outputs = [
            model.get_place_by_tensor_name(f"BoxPredictor_{i}/{head}/BiasAdd:0")
            for i in range(LAYERS)
            for head in ("BoxEncodingPredictor", "ClassPredictor")
        ]
        source = model.get_place_by_tensor_name("image_tensor:0")
        if source is None or any(p is None for p in outputs):
            raise RuntimeError(f"{weights.name} is not the SSDLite graph this detector expects")
        model.override_all_outputs(outputs)
        model.override_all_inputs([source])
        model.set_partial_shape(source, ov.PartialShape([-1, INPUT, INPUT, 3]))
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            # Each camera has its own worker process: pinned threads would all land on one core.
            "ENABLE_CPU_PINNING": "NO",
            "INFERENCE_PRECISION_HINT": "f32",  # bf16 on newer CPUs would move the boxes
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = str(threads)
        self._compiled: Any = ov.Core().compile_model(frontend.convert(model), "CPU", config)
        self._request: Any = self._compiled.create_infer_request()

    def forward(
        self, images: list[npt.NDArray[np.uint8]], min_score: float = 0.0
    ) -> npt.NDArray[np.float32]:
        cv2 = self._cv2
        size = (INPUT, INPUT)
        # blobFromImages' own steps: a linear resize to the input, then BGR to RGB.
        batch = np.stack(
            [
                cv2.cvtColor(
                    cv2.resize(im, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
                )
                for im in images
            ]
        )
        self._request.infer({0: batch})
        heads = [self._request.get_output_tensor(i).data for i in range(2 * LAYERS)]
        n = len(images)
        loc = np.concatenate([h.reshape(n, -1, 4) for h in heads[0::2]], axis=1)
        logits = np.concatenate([h.reshape(n, -1, 2) for h in heads[1::2]], axis=1)
        scores = 1.0 / (1.0 + np.exp(-logits[:, :, PERSON].astype(np.float64)))
        rows = [
            _detections(k, loc[k], scores[k], self._priors, self._variances, min_score)
            for k in range(n)
        ]
        return np.concatenate(rows) if rows else np.empty((0, 7), np.float32)


def decode(
    loc: npt.NDArray[np.float64],
    priors: npt.NDArray[np.float32],
    variances: npt.NDArray[np.float32],
) -> npt.NDArray[np.float64]:
    """Boxes `[x1, y1, x2, y2]` from TF-order offsets `(dy, dx, dh, dw)` against the anchors."""
    pw = priors[:, 2] - priors[:, 0]
    ph = priors[:, 3] - priors[:, 1]
    pcx = (priors[:, 0] + priors[:, 2]) / 2
    pcy = (priors[:, 1] + priors[:, 3]) / 2
    cx = variances[:, 0] * loc[..., 1] * pw + pcx
    cy = variances[:, 1] * loc[..., 0] * ph + pcy
    w = np.exp(variances[:, 2] * loc[..., 3]) * pw
    h = np.exp(variances[:, 3] * loc[..., 2]) * ph
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def _detections(
    crop: int,
    loc: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float64],
    priors: npt.NDArray[np.float32],
    variances: npt.NDArray[np.float32],
    min_score: float,
) -> npt.NDArray[np.float32]:
    """OpenCV's DetectionOutput for one crop: the best `TOP_K` over `CONFIDENCE`, then NMS.

    Only the rows at or over `min_score` are worked out: a weaker box can only suppress boxes
    weaker still, so leaving them out changes none of the stronger rows.
    """
    idx = np.flatnonzero(scores > CONFIDENCE)
    idx = idx[np.argsort(-scores[idx], kind="stable")][:TOP_K]
    idx = idx[scores[idx] >= min_score]
    b = decode(loc[idx].astype(np.float64), priors[idx], variances[idx])
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    keep: list[int] = []
    for i in range(len(idx)):
        if keep:
            k = np.asarray(keep)
            iw = np.clip(np.minimum(b[k, 2], b[i, 2]) - np.maximum(b[k, 0], b[i, 0]), 0, None)
            ih = np.clip(np.minimum(b[k, 3], b[i, 3]) - np.maximum(b[k, 1], b[i, 1]), 0, None)
            inter = iw * ih
            union = area[k] + area[i] - inter
            iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
            if np.any(iou > NMS_IOU):
                continue
        keep.append(i)
    out = np.empty((len(keep), 7), np.float32)
    out[:, 0] = crop
    out[:, 1] = PERSON
    out[:, 2] = scores[idx[keep]]
    out[:, 3:] = b[keep]
    return out


def import_openvino() -> Any:
    """`import openvino`, with its usage telemetry cut off.

    Importing openvino imports its model-conversion tools, which report the import (and each
    conversion) to Google Analytics through the `openvino_telemetry` package unless the user of
    the PC has opted out, and keep a client id and a usage count under ~/intel. A bank's branch
    PC sends nothing anywhere but to its own headquarters (docs/privacy.md). Without that package
    the tools fall back to their own no-op stub, so it is hidden from the import; nothing here
    uses the conversion tools.
    """
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]
    import openvino

    return openvino


def build_engine(runtime: Runtime, weights: Path, graph: Path, threads: int) -> Engine:
    """`auto`: OpenVINO where it is installed and works, else OpenCV. Raises RuntimeMissing.

    A camera must count with whatever runs: under `auto`, an OpenVINO that is installed but cannot
    load the network (a broken or partial install, a CPU its build does not support) is said on
    stderr (the camera worker's goes to the journal) and OpenCV takes over. Asked for by name,
    OpenVINO failing stops the camera with the reason instead.
    """
    if runtime == "opencv":
        return OpenCvEngine(weights, graph, threads)
    try:
        import_openvino()
    except ImportError:
        if runtime == "openvino":
            raise RuntimeMissing(
                "detector.runtime is openvino but the openvino package is not installed: "
                "pip install 'edge-agent[vision]', or set detector.runtime: opencv"
            ) from None
        return OpenCvEngine(weights, graph, threads)
    try:
        engine = OpenVinoEngine(weights, graph, threads)
    except Exception as exc:  # noqa: BLE001 - OpenVINO's errors have no common type of their own
        if runtime == "openvino":
            raise RuntimeMissing(
                f"OpenVINO cannot run the person network ({_reason(exc)}): "
                "set detector.runtime: auto or opencv"
            ) from None
        sys.stderr.write(f"OpenVINO cannot run the person network ({_reason(exc)}); using OpenCV\n")
        return OpenCvEngine(weights, graph, threads)
    if runtime == "openvino":
        return engine
    return HandOver(engine, lambda: OpenCvEngine(weights, graph, threads))


class HandOver:
    """`auto`'s OpenVINO engine, which hands over to OpenCV for good if an inference fails.

    OpenVINO that loaded the network can still fail on a pass (a plugin fault on this CPU); the
    camera worker would then restart, load OpenVINO again and fail the same way, and never count.
    The first failure is said on stderr (the journal) and that same batch and every later one
    run on OpenCV; `name` follows, so health and `status` show the engine that runs now.
    """

    def __init__(self, engine: Engine, fallback: Callable[[], Engine]) -> None:
        self._engine = engine
        self._fallback: Callable[[], Engine] | None = fallback

    @property
    def name(self) -> str:
        return self._engine.name

    def forward(
        self, images: list[npt.NDArray[np.uint8]], min_score: float = 0.0
    ) -> npt.NDArray[np.float32]:
        try:
            return self._engine.forward(images, min_score)
        except Exception as exc:
            fallback, self._fallback = self._fallback, None
            if fallback is None:
                raise  # OpenCV failing too is the camera's fault to restart on
            sys.stderr.write(
                f"OpenVINO failed on a pass of the person network ({_reason(exc)}); "
                "using OpenCV from now on\n"
            )
            self._engine = fallback()
            return self._engine.forward(images, min_score)


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
