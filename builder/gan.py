"""GAN experiments: the optional `gan` key of layerlab/experiment@1 and its checks.

A GAN experiment is an ordinary experiment whose `model` is the **generator**
(noise → image: one 1-D Input, the noise size) and whose `gan` object holds the
**discriminator** (image → one real/fake probability), a second model spec:

    {"format": "layerlab/experiment@1", "model": {generator spec},
     "gan": {"discriminator": {discriminator spec}}, "data": {"dataset": "digits"}, ...}

So every screen that edits or shows "the model" works on the generator
unchanged, and experiments without `gan` are exactly what they were.
`problems(exp, info)` replaces the classifier's data-fit checks for a GAN.
"""
from __future__ import annotations

import copy
from dataclasses import replace

from builder import compute
from builder import validate as model_validate
from builder.spec import ModelSpec, SpecError
from builder.validate import Problem

KEY = "gan"
PART = "discriminator"  # the problems' field section and the fix key for discriminator nodes
KEYS = ("discriminator",)
PARTS = {"generator": "Generator: noise → image", "discriminator": "Discriminator: image → real or fake"}


def parse(value) -> dict:
    """The `gan` object with its discriminator as a ModelSpec; raises SpecError (structure only)."""
    if not isinstance(value, dict) or not isinstance(value.get(PART), (dict, ModelSpec)):
        raise SpecError(["'gan' must be an object {\"discriminator\": a model spec (layerlab/model@1)}"])
    unknown = [k for k in value if k not in KEYS]
    if unknown:
        raise SpecError([f"unknown key '{k}' in 'gan' (allowed: {', '.join(KEYS)})" for k in unknown])
    spec = value[PART]
    try:
        return {PART: spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)}
    except SpecError as e:
        raise SpecError([f"discriminator: {p}" for p in e.problems]) from None


def to_dict(gan: dict) -> dict:
    return {PART: gan[PART].to_dict()}


def noise_size(generator: ModelSpec) -> int:
    """The generator's noise size: its one Input's shape [n]."""
    return int(generator.node(generator.input_ids()[0]).params["shape"][0])


def apply_fix(experiment: dict, fix: dict) -> None:
    """Apply a discriminator fix {"node": id, "params": {...}} in place (a None value removes the param)."""
    nodes = {n.get("id"): n for n in experiment[KEY][PART]["nodes"]}
    if fix["node"] not in nodes:
        raise ValueError(f"the discriminator has no node '{fix['node']}' any more; check the model again")
    params = nodes[fix["node"]].setdefault("params", {})
    for key, value in fix["params"].items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = copy.deepcopy(value)


# -- the checks ----------------------------------------------------------------------------
def problems(exp, generator_report, info) -> list[Problem]:
    """Settings a GAN cannot use, the discriminator's own problems, then the two networks' shapes against
    each other and against the data (`info`: its DatasetInfo, or None when the dataset is unknown)."""
    from builder.experiment import data_input_shape

    found = _setting_problems(exp)
    disc = exp.gan[PART]
    d_report = model_validate.check(disc)
    found += [replace(p, field=f"{PART}.{p.field or 'model'}") for p in d_report.problems]
    batch = compute.step_batch(exp.hp["batch_size"], info)
    found += [replace(p, field=f"{PART}.{p.field}") for p in compute.problems(d_report, batch)]
    g_in, g_out = exp.model.input_ids(), exp.model.output_ids()
    d_in, d_out = disc.input_ids(), disc.output_ids()
    if len(g_in) != 1 or len(g_out) != 1:
        return found + [Problem(None, "the generator needs exactly one Input (the noise) and one output (the "
                                "image)", field="model")]
    if len(d_in) != 1 or len(d_out) != 1:
        return found + [_d(None, "the discriminator needs exactly one Input (an image) and one output "
                           "(real or fake)")]
    found += _noise_problems(exp.model.node(g_in[0]))
    image = None if info is None else tuple(data_input_shape(info, exp.data_settings))
    if image is not None and getattr(info, "kind", None) != "image" and len(image) != 3:
        return found + [Problem(None, f"a GAN learns to draw images, but '{info.id}' is not an image dataset; "
                                "pick one such as digits or shapes", field="data.dataset")]
    return found + _shape_problems(exp.model, generator_report, disc, d_report, image)


def _setting_problems(exp) -> list[Problem]:
    from builder.experiment import _setting

    out = []
    if exp.training.get("loss") not in (None, "binary_crossentropy"):
        out.append(_setting("training", "loss", "a GAN always trains with binary cross-entropy (real or fake); "
                            "clear the loss setting", {"loss": None}))
    if exp.training.get("early_stopping"):
        out.append(_setting("training", "early_stopping", "a GAN has no validation loss to stop on; switch early "
                            "stopping off", {"early_stopping": None}))
    if exp.augmentation:
        out.append(Problem(None, "augmentation is not used when training a GAN; remove the augmentation layers",
                           field="augmentation"))
    return out


def _noise_problems(noise_input) -> list[Problem]:
    shape = noise_input.params.get("shape") or []
    if len(shape) != 1 or not isinstance(shape[0], int) or shape[0] < 1:
        return [Problem(noise_input.id, f"the generator's Input is its noise: one positive size such as [16], "
                        f"not {list(shape)}", field="shape", fix={"node": noise_input.id, "params": {"shape": [16]}})]
    return []


def _shape_problems(gen: ModelSpec, g_report, disc: ModelSpec, d_report, image: tuple | None) -> list[Problem]:
    from builder.experiment import shapes_fit

    found = []
    d_input = disc.node(disc.input_ids()[0])
    d_shape = tuple(d_input.params.get("shape") or ())
    if image is not None and not shapes_fit(image, d_shape):
        found.append(_d(d_input.id, f"the data's images are {list(image)}, but the discriminator's Input takes "
                        f"{list(d_shape)}; set its shape to {list(image)}", "shape",
                        {"node": d_input.id, "params": {"shape": list(image)}}))
    g_out_id = gen.output_ids()[0]
    g_shape = g_report.shapes.get(g_out_id)
    if g_shape is not None and tuple(g_shape)[1:] != d_shape:
        found.append(Problem(g_out_id, f"the generator draws images of shape {list(g_shape[1:])}, but the "
                             f"discriminator takes {list(d_shape)}; make the generator end with the image shape "
                             f"{list(d_shape)} (a Reshape helps)", field="shape"))
    d_out = disc.node(disc.output_ids()[0])
    out_shape = d_report.shapes.get(d_out.id)
    if out_shape is not None and tuple(out_shape)[1:] != (1,):
        fix = {"node": d_out.id, "params": {"units": 1, "activation": "sigmoid"}} if d_out.type == "Dense" else None
        found.append(_d(d_out.id, f"the discriminator must give one number per image (real or fake), but gives "
                        f"{list(out_shape[1:])}; end with Dense(units=1, activation=sigmoid)", "units", fix))
    elif d_out.type == "Dense" and d_out.params.get("activation") != "sigmoid":
        found.append(_d(d_out.id, "the discriminator's last layer must say how likely an image is real: set its "
                        "activation to sigmoid", "activation", {"node": d_out.id, "params": {"activation": "sigmoid"}}))
    return found


def _d(node, message, field=None, fix=None) -> Problem:
    """A problem on a discriminator node (its field starts with "discriminator")."""
    return Problem(node, message, field=f"{PART}.{field or 'model'}", fix=None if fix is None else {PART: fix})
