"""Try a trained model on one new input: its answer and where it looked.

* `open_run(run_dir) -> Trained` (cached, loads `deploy/model.keras` once), `Trained.answer(raw) -> Answer`,
  `predict(run_dir, raw)`, `deploy_problem(run_dir)`,
  `open_generator(run_dir) -> Generator` (a GAN's pictures from chosen noise), `PredictError` — engine.py
* `frame(picture, shape, raw_max, look)`, `data_look(images)`, `is_light` — framing.py (pure); `read_picture` (datasets.pictures)
* `cli_predict` — cli.py (`python -m builder predict RUN INPUT`)

Importing this package does not import Keras; loading a run does.
"""
from builder.predict.engine import (
    Answer,
    Generator,
    PredictError,
    Trained,
    deploy_problem,
    open_generator,
    open_run,
    predict,
)
from builder.predict.framing import DataLook, data_look, frame, is_light
from datasets.pictures import PictureError, read_picture

__all__ = ["Answer", "DataLook", "Generator", "PictureError", "PredictError", "Trained", "data_look", "deploy_problem", "frame",
           "is_light", "open_generator", "open_run", "predict", "read_picture"]
