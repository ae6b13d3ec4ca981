"""train.ipynb: the exported training script as a Jupyter notebook, each step explained in a student's words.

The code cells are train.py's sections (builder.train.exports.sections), so the
notebook and the script cannot drift apart; the notebook adds a loss curve and
a saliency map. It runs top to bottom (`jupyter nbconvert --execute`) in any
folder that holds model.py (and data.npz where the run needed one).
"""
from __future__ import annotations

import html
import re

INTRO = """# {title}

This notebook trains your Layerlab model again, step by step, outside Layerlab. Run the cells from top to bottom
(or *Run All*). It needs `model.py` beside it{data_note}. At the end it saves `model.keras`, a model that takes
raw data, and prints the same test numbers as your run."""

CURVE = """import plotly.express as px

curves = {name: values for name, values in history.history.items() if name.endswith("loss")}
px.line(curves, labels={"index": "epoch", "value": "loss", "variable": ""}, title="Loss while training")"""

# Occlusion, not gradients: it needs only predict(), so the notebook runs under any Keras backend.
SALIENCY = """example = x_test[:1]
answer = deployable.predict(example, verbose=0)[0]
top = int(answer.argmax()) if answer.size > 1 else 0
count = example[0].size
hidden = np.repeat(example, count, axis=0).reshape(count, -1)
hidden[np.arange(count), np.arange(count)] = 0  # copy i hides input number i
scores = deployable.predict(hidden.reshape((count,) + example.shape[1:]), verbose=0).reshape(count, -1)[:, top]
saliency = np.abs(answer[top] - scores).reshape(example.shape[1:])
print("test example 0: true answer", y_test[0], "- model says", answer.round(3))
{show}"""

SHOW_IMAGE = 'px.imshow(saliency.max(axis=-1), color_continuous_scale="hot", title="Where the model looked")'
SHOW_FEATURES = ('px.bar(x={names}, y=saliency.reshape(-1), labels={{"x": "", "y": "effect"}}, '
                 'title="How much each input number moves the answer")')


# Characters that mean something in Markdown; escaped with a backslash they read as themselves.
_MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=:])")


def markdown_text(text: str) -> str:
    """A name as plain words inside Markdown: one line, no HTML, no formatting (as `comment_lines` is for code)."""
    line = " ".join(str(text).split())  # line breaks (any kind) would start new Markdown blocks
    return _MARKDOWN_MARKS.sub(r"\\\1", html.escape(line, quote=False))  # <, >, & as entities: shown, not run


def build(exp, steps: list, data_file: bool, feature_names: list[str] | None = None) -> str:
    """The notebook (JSON text) for an experiment from its training script's `steps`
    (builder.train.exports.sections); a table's saliency bars are named by its `feature_names`."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from builder.codegen import literal  # imports Keras: only when a notebook is made

    note = " and `data.npz`, the run's data" if data_file else ""
    cells = [new_markdown_cell(INTRO.format(title=markdown_text(exp.title), data_note=note))]
    for name, words, code in steps:
        cells += [new_markdown_cell(f"## {name.capitalize()}\n\n{words}"), new_code_cell(code)]
        if name == "training":
            cells += [new_markdown_cell("The loss should fall epoch by epoch. If the validation loss climbs while the "
                                        "training loss keeps falling, the model is learning the training examples "
                                        "by heart (overfitting)."), new_code_cell(CURVE)]
    if exp.hp["task"] != "reconstruction" and _kind(exp) != "tokens":  # token id 0 is a word too: no "hidden"
        names = literal([str(n) for n in feature_names]) if feature_names else '[f"input {i}" for i in range(saliency.size)]'
        show = SHOW_IMAGE if _is_image(exp) else SHOW_FEATURES.format(names=names)
        cells += [new_markdown_cell("## Saliency\n\nWhich parts of the input change the model's answer most? The "
                                    "notebook hides one input number at a time and measures how much the top "
                                    "answer moves: big values mark what the model looks at."),
                  new_code_cell(SALIENCY.format(show=show))]
    book = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})
    return nbformat.writes(book)


def _is_image(exp) -> bool:
    return _kind(exp) == "image"


def _kind(exp) -> str:
    from datasets import registry

    return registry.info(exp.dataset).kind
