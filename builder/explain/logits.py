"""The model's class scores before the softmax, without touching the model.

Explanations are computed on pre-softmax scores ("logits"): the softmax
saturates, so gradients of probabilities vanish exactly where the model is
most confident, and a probability depends on every other class too.

`Scores(model)` wraps a single-input, single-output Keras model:

* output layer with a softmax/sigmoid *activation* (e.g. `Dense(10,
  activation="softmax")`): a sibling layer built from the same config with a
  linear activation, holding a copy of the weights, is applied to that
  layer's input; the user's model is never changed;
* output layer that *is* a softmax/sigmoid (`Softmax`, `Activation`): its input;
* anything else: the model's own output.

A single sigmoid unit becomes the two class scores (-z, z), so class 0 and
class 1 are explained like any other classifier.
"""
from __future__ import annotations

import weakref

import keras
import numpy as np

from builder.explain.gradients import CHUNK, backend, value_and_grad


class ExplainError(ValueError):
    """A plain-words problem with an explanation request."""


SQUASHES = ("softmax", "sigmoid")


class Scores:
    @classmethod
    def of(cls, model) -> Scores:
        """The cached wrapper of `model` (its compiled functions are reused across calls)."""
        try:
            scores = _CACHE.get(model)
        except TypeError:  # not weak-referenceable: no cache
            return cls(model)
        if scores is None:
            scores = cls(model)
            _CACHE[model] = scores
        scores.refresh()
        return scores

    def __init__(self, model):
        if not isinstance(model, keras.Model):
            raise ExplainError("explanations need a Keras model (load model.keras first)")
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ExplainError(
                f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                "explanations support models with one input and one output"
            )
        # Only a weak reference: the cache maps model → Scores, and a strong one would keep
        # every model ever explained alive.
        self._model = weakref.ref(model)
        self.input_tensor, self.output_tensor = model.inputs[0], model.outputs[0]
        self.squash_layer = output_layer(model)
        self.input_shape = tuple(model.inputs[0].shape)
        self.pre, self.twin, self.binary = _pre_squash(model)
        self.inner = None
        self._compiled = {}
        layer = output_layer(model)
        if isinstance(layer, keras.Model) and self.pre is model.outputs[0] and _one_in_one_out(layer):
            # A wrapper around the real model (e.g. augmentation in front while training):
            # explain through the inner model's pre-softmax scores.
            inner = self.inner = Scores(layer)
            prefix = keras.Model(model.inputs[0], output_input(model))
            self.binary = inner.binary
            self.fn = lambda a, training=False: inner.fn(prefix(a, training=training), training=training)
        else:
            self.fn = self.head_from(model.inputs[0])

    def refresh(self) -> None:
        """Copy the current weights into a copied output layer (only the non-Dense path copies)."""
        if isinstance(self.twin, keras.layers.Layer):
            self.twin.set_weights(self.squash_layer.get_weights())
        if self.inner is not None:
            self.inner.refresh()

    def head_from(self, tensor):
        """Callable from the values of `tensor` (a tensor of the model's graph) to pre-softmax scores."""
        try:
            sub = keras.Model(tensor, self.pre)  # shares the layers, not the model object
        except Exception:  # Keras raises ValueError or KeyError for a disconnected graph
            raise ExplainError(
                "cannot explain from this layer: a skip connection goes around it (a later layer also reads an "
                "earlier value); pick a layer after the merge"
            ) from None
        if self.twin is None:
            return sub
        twin = self.twin
        return lambda a, training=False: twin(sub(a, training=training))

    # -- forward ---------------------------------------------------------
    def logits(self, x):
        """Backend tensor (n, classes) for a backend tensor / array x."""
        z = self.fn(x, training=False)
        if len(z.shape) != 2:
            raise ExplainError(
                f"the model's output has shape {tuple(z.shape)}; explanations need one score per class, shape (batch, classes)"
            )
        if self.binary:
            z = keras.ops.concatenate([-z, z], axis=-1)
        return z

    def predict(self, x: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """NumPy logits for a NumPy batch, in chunks."""
        forward = self._tf("forward") or self.logits
        parts = [keras.ops.convert_to_numpy(forward(x[i : i + chunk])) for i in range(0, len(x), chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), "float32")

    def gradients(self, x: np.ndarray, onehot: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """d score_t / d x per item, where `onehot` (n, classes) picks the class t of each item."""
        step = self._tf("gradient")
        out = []
        for i in range(0, len(x), chunk):
            xs, pick = x[i : i + chunk], onehot[i : i + chunk]
            if step is not None:
                out.append(step(xs, pick).numpy())
            else:
                out.append(value_and_grad(self.score_fn(pick), xs)[1])
        return np.concatenate(out) if out else np.zeros_like(x)

    def _tf(self, name):
        """Compiled TensorFlow functions, traced once per model and reused (variables are captured
        by reference, so they follow training). None under other backends."""
        if backend() != "tensorflow":
            return None
        if name not in self._compiled:
            import tensorflow as tf

            if name == "forward":
                self._compiled[name] = tf.function(lambda x: self.logits(x), reduce_retracing=True)
            else:

                def gradient(x, pick):
                    x = tf.convert_to_tensor(x)
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        total = tf.reduce_sum(self.logits(x) * pick)
                    return tape.gradient(total, x)

                self._compiled[name] = tf.function(gradient, reduce_retracing=True)
        return self._compiled[name]

    def score_fn(self, onehot: np.ndarray):
        """fn(x) -> (n,) the chosen class's score; `onehot` (n, classes) picks the class per item."""
        pick = keras.ops.convert_to_tensor(onehot.astype("float32"))

        def fn(x):
            return keras.ops.sum(self.logits(x) * pick, axis=-1)

        return fn

    # -- inputs and targets ---------------------------------------------
    def check_input(self, x) -> tuple[np.ndarray, bool]:
        """x as float32 with a batch axis; True when a single item was given."""
        x = np.asarray(x, dtype="float32")
        want = self.input_shape[1:]
        single = x.ndim == len(want)
        if single:
            x = x[None]
        if x.ndim != len(want) + 1 or any(w is not None and w != s for w, s in zip(want, x.shape[1:], strict=True)):
            raise ExplainError(
                f"input of shape {x.shape[1:]} does not fit the model, which expects {tuple(want)} per item"
            )
        return x, single

    def targets(self, x: np.ndarray, target=None, logits: np.ndarray | None = None) -> np.ndarray:
        """Class index per item: `target` (int or one per item) or, by default, the predicted class."""
        n = len(x)
        if target is None:
            z = self.predict(x) if logits is None else logits
            return np.argmax(z, axis=-1).astype("int64")
        t = np.asarray(target).astype("int64").reshape(-1)
        if t.size == 1:
            t = np.full(n, int(t[0]), dtype="int64")
        if t.size != n:
            raise ExplainError(f"target has {t.size} entries but {n} inputs were given; give one class or one per input")
        classes = self.n_classes()
        if (t < 0).any() or (t >= classes).any():
            raise ExplainError(f"target class must be between 0 and {classes - 1}")
        return t

    def n_classes(self) -> int:
        return 2 if self.binary else int(self.output_tensor.shape[-1])

    @property
    def model(self):
        return self._model()

    def onehot(self, t: np.ndarray) -> np.ndarray:
        return np.eye(self.n_classes(), dtype="float32")[t]


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def output_layer(model):
    tensor = model.outputs[0]
    history = getattr(tensor, "_keras_history", None)
    return history[0] if history else model.layers[-1]


def output_input(model):
    """The tensor feeding the output layer in this model's graph (right even for nested or shared layers)."""
    history = getattr(model.outputs[0], "_keras_history", None)
    if history:
        layer, node_index, _ = history
        return _single(list(layer._inbound_nodes[node_index].input_tensors))
    return _single(output_layer(model).input)


def _one_in_one_out(model) -> bool:
    return len(model.inputs) == 1 and len(model.outputs) == 1


def _squash_name(fn) -> str | None:
    name = getattr(fn, "__name__", "") or ""
    return name if name in SQUASHES else None


def _pre_squash(model):
    """(tensor holding pre-softmax values in the model's graph, linear twin of the output layer or None, binary)."""
    layer = output_layer(model)
    units = model.outputs[0].shape[-1]
    # A whole layer that only squashes: Softmax(), Activation("softmax"/"sigmoid").
    squash = None
    if isinstance(layer, keras.layers.Softmax):
        squash = "softmax"
    elif isinstance(layer, keras.layers.Activation):
        squash = _squash_name(layer.activation)
    if squash:
        return output_input(model), None, squash == "sigmoid" and units == 1
    squash = _squash_name(getattr(layer, "activation", None))
    if not squash:
        return model.outputs[0], None, False
    pre = output_input(model)
    return pre, _linear_twin(layer, pre), squash == "sigmoid" and units == 1


def _linear_twin(layer, pre):
    """The output layer without its squashing activation, as a callable on the layer's input."""
    if type(layer) is keras.layers.Dense and not getattr(layer, "lora_enabled", False):
        # Dense is the usual case: read its own variables, no copy and no get_config
        # (which, under JAX, would import TensorFlow just to serialise the dtype policy).
        kernel, bias = layer.kernel, layer.bias

        def dense(h):
            z = keras.ops.matmul(h, kernel)
            return z if bias is None else z + bias

        return dense
    config = dict(layer.get_config(), activation="linear", name=f"{layer.name}_logits")
    twin = type(layer).from_config(config)
    twin.build(tuple(pre.shape))
    twin.set_weights(layer.get_weights())
    return twin


def _single(tensor):
    if isinstance(tensor, (list, tuple)) and len(tensor) == 1:
        tensor = tensor[0]
    if isinstance(tensor, (list, tuple)):
        raise ExplainError("the output layer takes several inputs; explanations need a single-input output layer")
    return tensor
