"""Adversarial training of a generator and a discriminator as one Keras model (GAN experiments).

`GAN` is a `keras.Model` subclass whose step is the adversarial step, written
once for TensorFlow, JAX and PyTorch: it defines the forward pass and the two
losses, and Keras' own per-backend `train_step` takes the gradients. The trick
that makes one gradient serve both players:

- the discriminator loss sees the fake images through `stop_gradient`, so it
  moves only the discriminator's weights;
- the generator loss calls the discriminator statelessly with its weights
  behind `stop_gradient` (`stateless_call`, on every backend), so it moves
  only the generator's weights.

The gradient of their sum is therefore the two players' gradients side by
side, and one optimizer (per-weight, e.g. Adam) updates both at once: the
simultaneous form of the DCGAN step. Losses are the non-saturating binary
cross-entropy of the DCGAN paper; Keras logs `d_loss`, `g_loss` and their sum
`loss` (the run's NaN watch reads it) each epoch.
"""
from __future__ import annotations

import keras
from keras import ops


class GAN(keras.Model):
    def __init__(self, generator, discriminator, noise_size: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.noise_size = int(noise_size)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.d_tracker = keras.metrics.Mean(name="d_loss")
        self.g_tracker = keras.metrics.Mean(name="g_loss")
        self.sum_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.sum_tracker, self.d_tracker, self.g_tracker]

    def call(self, real, training=False):
        """The discriminator's three verdicts, stacked: on real images, on fakes (for its own loss), on
        fakes through its frozen weights (for the generator's loss); each (batch, 1)."""
        fake = self.generator(self.noise(ops.shape(real)[0]), training=training)
        on_real = self.discriminator(real, training=training)
        on_fake = self.discriminator(ops.stop_gradient(fake), training=training)
        frozen = [ops.stop_gradient(v.value) for v in self.discriminator.trainable_variables]
        states = [v.value for v in self.discriminator.non_trainable_variables]
        for_generator, _ = self.discriminator.stateless_call(frozen, states, fake, training=training)
        return ops.stack([on_real, on_fake, for_generator])

    def noise(self, n):
        """A fresh batch of the generator's input: n standard-normal vectors."""
        return keras.random.normal((n, self.noise_size), seed=self.noise_seed)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        d_loss, g_loss = _losses(y_pred)
        return d_loss + g_loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        d_loss, g_loss = _losses(y_pred)
        self.d_tracker.update_state(d_loss)
        self.g_tracker.update_state(g_loss)
        self.sum_tracker.update_state(d_loss + g_loss)
        return {m.name: m.result() for m in self.metrics}


def _losses(verdicts):
    on_real, on_fake, for_generator = verdicts[0], verdicts[1], verdicts[2]
    bce = keras.losses.binary_crossentropy
    d_loss = ops.mean(bce(ops.ones_like(on_real), on_real)) + ops.mean(bce(ops.zeros_like(on_fake), on_fake))
    g_loss = ops.mean(bce(ops.ones_like(for_generator), for_generator))
    return d_loss, g_loss
