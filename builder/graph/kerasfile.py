"""Reading `.keras` files safely: the config read from its header-checked size and scanned for custom code,
weights declared but never allocated, and a Keras exception boiled down to one plain sentence."""
from __future__ import annotations

import contextlib
import json
import re
import zipfile
from collections import deque
from pathlib import Path

from builder import limits
from builder.model.spec import SpecError, too_many_nodes

CUSTOM_CODE = "this model contains custom code ({what}); Layerlab only opens models made of standard Keras layers"


def read_config(path: Path) -> dict:
    cap = limits.get("max_keras_config_mb")
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("config.json").file_size > cap:  # the header's size; reading stops there
                raise SpecError([f"{path}: its model description (config.json) is larger than {cap // limits.MB} MB "
                                 "(server setting LAYERLAB_MAX_KERAS_CONFIG_MB); Layerlab cannot open a model that big"])
            config = json.loads(archive.read("config.json"))
    except KeyError:
        raise SpecError([f"{path}: a zip file but not a Keras model (no config.json inside)"]) from None
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, RecursionError, OSError):
        raise SpecError([f"{path}: the Keras model file is damaged; save the model again"]) from None
    if not isinstance(config, dict):
        raise SpecError([f"{path}: the Keras model file is damaged; save the model again"])
    return config


def refuse_custom_code(config) -> None:
    """SpecError naming every Lambda, Python function and non-Keras class a saved config holds."""
    found = []
    for item in _walk(config, inside=lambda item: item.get("class_name") != "Lambda"):  # a Lambda names its function
        what = _custom_code(item)
        if what and what not in found:
            found.append(what)
    if found:
        raise SpecError([CUSTOM_CODE.format(what="; ".join(found))])


def _custom_code(item: dict) -> str | None:
    """What custom code one serialised object is, or None for a Keras one."""
    class_name = item.get("class_name")
    if not isinstance(class_name, str):
        return None
    name = (item.get("config") or {}).get("name") if isinstance(item.get("config"), dict) else None
    if class_name == "Lambda":
        return f"Lambda layer '{name}'"
    if class_name in ("__lambda__", "function"):
        return "a Python function"
    module = item.get("module")
    if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
        return f"custom class {class_name}" + (f" in layer '{name}'" if name else "")
    return None


def refuse_too_many_layers(config) -> None:
    """SpecError if a saved config lists more layers than the node budget: those of nested models included, Inputs
    and the nested models themselves (groups, not nodes) left out, so it never refuses a model that fits."""
    entries = [e for item in _walk(config) if isinstance(item.get("layers"), list) for e in item["layers"]]
    too_many = too_many_nodes(sum(1 for e in entries if isinstance(e, dict) and e.get("class_name") != "InputLayer"
                                  and not (isinstance(e.get("config"), dict) and isinstance(e["config"].get("layers"), list))))
    if too_many:
        raise SpecError([too_many])


def _walk(value, inside=lambda item: True):
    """Every dict inside a parsed JSON value, breadth first, so a model's layers come in their order (iterative:
    no nesting depth can overflow the stack); the insides of a dict for which `inside` is false are skipped."""
    todo = deque([value])
    while todo:
        item = todo.popleft()
        if isinstance(item, dict):
            yield item
            if inside(item):
                todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)


@contextlib.contextmanager
def declared_weights_only():
    """Layers built in here declare their weights (shape, dtype) but never allocate them.

    Keras defers a variable's value inside a stateless scope and lists it for
    initialisation on exit; we switch that off and drop our entries from the list,
    so a Dense 6000→65536 costs a few kilobytes here instead of 1.5 GB.
    """
    import keras
    from keras.src.backend.common import global_state

    pending = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(pending)
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        del pending[before:]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def keras_message(error: Exception) -> str:
    """The useful sentence of a Keras exception, without call-context boilerplate."""
    for line in _ANSI.sub("", str(error)).splitlines():
        line = line.strip()
        if not line or line.startswith(("Exception encountered", "Arguments received", "•")):
            continue
        line = line.rstrip(".")
        return line if len(line) <= 240 else line[:237] + "..."
    return type(error).__name__
