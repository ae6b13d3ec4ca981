"""Sound and text templates with their defaults: held-out accuracy, and the deployable model's score on raw inputs.

    python bench/bench_sound_text.py [OUT_DIR]

Trains sound-cnn on 'sounds' (3 classes x 40 one-second clips) and bag-of-words and text-transformer on
'sentences' (3,000 short sentences, 3 topics), each with its template's settings, and prints per template the
test accuracy the run recorded, the deployable model's accuracy on the raw test inputs (waves / strings) and
the training time. README's "Sound and text" section quotes these numbers.
"""
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from builder.experiments import templates  # noqa: E402
from builder.experiments.experiment import coerce  # noqa: E402
from builder.store import runfolder  # noqa: E402
from builder.train import preprocessing
from builder.train.data import raw_parts  # noqa: E402
from builder.train.runner import run  # noqa: E402
from datasets.base import as_model_input  # noqa: E402

TEMPLATES = ("sound-cnn", "bag-of-words", "text-transformer")


def measure(template_id: str, root: Path) -> dict:
    folder = root / template_id
    started = time.perf_counter()
    assert run(templates.experiment(template_id), folder) == "completed", runfolder.read_status(folder)
    seconds = time.perf_counter() - started
    x, y = raw_parts(coerce(folder / runfolder.EXPERIMENT), preprocessing.read(folder))["test"]
    deployed = keras.saving.load_model(folder / preprocessing.DEPLOY_MODEL)
    raw_score = float((deployed.predict(as_model_input(x.astype(object) if x.dtype.kind == "U" else x),
                                        verbose=0).argmax(-1) == y).mean())
    recorded = json.loads((folder / runfolder.EVALUATION).read_text())["accuracy"]
    return {"template": template_id, "dataset": templates.TEMPLATES[template_id].dataset, "test_examples": len(y),
            "test_accuracy": round(recorded, 4), "deployable_on_raw_inputs": round(raw_score, 4),
            "train_s": round(seconds, 1)}


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-sound-text-"))
    for template_id in TEMPLATES:
        print(json.dumps(measure(template_id, root)), flush=True)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
