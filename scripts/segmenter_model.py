"""Rebuild the effects' segmentation model: MediaPipe's landscape selfie model + Tasks metadata.

Why: MediaPipe Tasks' ``ImageSegmenter`` (the worker in web/sdk/effects/) refuses a float
model without TFLite metadata that says how to normalize the input. The legacy package
``@mediapipe/selfie_segmentation`` (npm, Apache-2.0) ships the model without it; this adds
input normalization (pixels / 255 → 0..1, what the model was trained on) and the label.
The result is committed (src/peercall/web/sdk/effects/model/), so this runs only when the
model changes. Needs ``tflite-support`` (a throw-away venv: ``pip install tflite-support``).

    python scripts/segmenter_model.py [SOURCE.tflite] [OUT.tflite]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tflite_support.metadata_writers import image_segmenter, writer_utils

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "node_modules/@mediapipe/selfie_segmentation/selfie_segmentation_landscape.tflite"
OUT = ROOT / "src/peercall/web/sdk/effects/model/selfie_segmentation_landscape.tflite"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "labels.txt"
        labels.write_text("background\nperson\n")
        writer = image_segmenter.MetadataWriter.create_for_inference(
            writer_utils.load_file(str(source)),
            input_norm_mean=[0.0],
            input_norm_std=[255.0],
            label_file_paths=[str(labels)],
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        writer_utils.save_file(writer.populate(), str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
