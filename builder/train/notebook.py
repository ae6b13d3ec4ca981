"""train.ipynb: the exported training script as a Jupyter notebook, each step explained in a student's words.

The code cells are train.py's sections (builder.train.exports.sections), so the
notebook and the script cannot drift apart; the notebook adds a loss curve and
a saliency map. It runs top to bottom (`jupyter nbconvert --execute`) in any
folder that holds model.py (and data.npz where the run needed one).
"""
from __future__ import annotations

INTRO = """# {title}

This notebook trains your Layerlab model again, step by step, outside Layerlab. Run the cells from top to bottom
(or *Run All*). It needs `model.py` beside it{data_note}. At the end it saves `model.keras`, a model that takes
raw data, and prints the same test numbers as your run."""

CURVE = """import plotly.express as px

curves = {name: values for name, values in history.history.items() if name.endswith("loss")}
px.line(curves, labels={"index": "epoch", "value": "loss", "variable": ""}, title="Loss while training")"""

SALIENCY = """import tensorflow as tf

example = tf.convert_to_tensor(x_test[:1].astype("float32"))
with tf.GradientTape() as tape:
    tape.watch(example)
    answer = deployable(example)[0]
    top = answer[int(tf.argmax(answer))] if answer.shape[-1] > 1 else answer[0]
saliency = tf.abs(tape.gradient(top, example))[0].numpy()
print("test example 0: true answer", y_test[0], "- model says", answer.numpy().round(3))
{show}"""

SHOW_IMAGE = 'px.imshow(saliency.max(axis=-1), color_continuous_scale="hot", title="Where the model looked")'
SHOW_FEATURES = ('px.bar(x=[f"input {i}" for i in range(saliency.size)], y=saliency.reshape(-1), '
                 'title="How much each input number moves the answer")')


def build(exp, steps: list, data_file: bool) -> str:
    """The notebook (JSON text) for an experiment from its training script's `steps`
    (builder.train.exports.sections)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    note = " and `data.npz`, the run's data" if data_file else ""
    cells = [new_markdown_cell(INTRO.format(title=exp.title, data_note=note))]
    for name, words, code in steps:
        cells += [new_markdown_cell(f"## {name.capitalize()}\n\n{words}"), new_code_cell(code)]
        if name == "training":
            cells += [new_markdown_cell("The loss should fall epoch by epoch. If the validation loss climbs while the "
                                        "training loss keeps falling, the model is learning the training examples "
                                        "by heart (overfitting)."), new_code_cell(CURVE)]
    if exp.hp["task"] != "reconstruction" and _kind(exp) != "tokens":  # token ids have no gradient
        show = SHOW_IMAGE if _is_image(exp) else SHOW_FEATURES
        cells += [new_markdown_cell("## Saliency\n\nWhich parts of the input change the model's answer most? The "
                                    "gradient of its top answer with respect to each input number says so: big "
                                    "values mark what the model looks at."),
                  new_code_cell(SALIENCY.format(show=show))]
    book = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})
    return nbformat.writes(book)


def _is_image(exp) -> bool:
    return _kind(exp) == "image"


def _kind(exp) -> str:
    from datasets import registry

    return registry.info(exp.dataset).kind
