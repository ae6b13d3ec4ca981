"""The run of a GAN experiment (builder.experiments.gan): adversarial training into a run folder.

Like any run it writes status.json, metrics.jsonl (per epoch `d_loss`, `g_loss`
and their sum `loss`), progress and the log; it adds:

- `live/samples_eNNN.npy`: the generator's images for one fixed noise batch,
  before training (epoch 0) and after each epoch, (SAMPLES, h, w, c) in 0..1;
- `samples.npz` at the end: `images` (FINAL_SAMPLES drawn from seeded noise)
  and `interpolation` (INTERPOLATIONS rows of STEPS images, each row walking in
  a straight line from one noise vector to another);
- `model.keras` (the generator) and `discriminator.keras`.

It keeps checkpoint.npz after each epoch like the classic loop (the same
callbacks.CheckpointSaver: both networks' weights, the optimizer's state, the
noise generator's seed state, the epoch and the random states), so a GAN run
goes on after a restart or for more epochs: 2 + 2 epochs end where 4 end.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import numpy as np

from builder.experiments.gan import PART, noise_size
from builder.files import atomic_write
from builder.store import runfolder
from builder.store.watch import LIVE
from builder.train import plan
from builder.train.adversarial import GAN
from builder.train.callbacks import BatchMonitor, CheckpointSaver, EpochLog, SafeCallback, restore_model
from builder.train.data import prepare
from builder.train.loop import (
    epoch_line,
    finish,
    finish_if_server_died,
    finish_trained,
    open_device,
    save_model,
    seeded_build,
)

SAMPLES, FINAL_SAMPLES, INTERPOLATIONS, STEPS = 64, 256, 4, 10
SAMPLES_FILE, DISCRIMINATOR, LIVE_PREFIX = runfolder.GAN_SAMPLES, runfolder.GAN_DISCRIMINATOR, runfolder.GAN_LIVE_PREFIX


def live_path(run_dir, epoch: int) -> Path:
    return Path(run_dir) / LIVE / f"{LIVE_PREFIX}_e{epoch:03d}.npy"


def training_data(exp):
    """The real images, shaped for the discriminator (the same split and seed as any run)."""
    return prepare(dataclasses.replace(exp, model=exp.gan[PART], gan=None))


def build_gan(exp):
    """Generator, discriminator (each seeded) and the compiled-ready GAN model around them."""
    seed = exp.hp["seed"]
    generator = seeded_build(exp.model, seed)
    discriminator = seeded_build(exp.gan[PART], seed + 1)
    return GAN(generator, discriminator, noise_size(exp.model), seed=seed)


def noise(n: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, size)).astype("float32")


def interpolation_noise(size: int, seed: int) -> np.ndarray:
    """(INTERPOLATIONS * STEPS, size): per row, STEPS points on the line between two noise vectors."""
    ends = noise(2 * INTERPOLATIONS, size, seed + 2).reshape(INTERPOLATIONS, 2, size)
    t = np.linspace(0.0, 1.0, STEPS, dtype="float32")[None, :, None]
    return ((1 - t) * ends[:, :1] + t * ends[:, 1:]).reshape(-1, size)


def draw(generator, z: np.ndarray, image_shape: tuple) -> np.ndarray:
    """The generator's images for noise `z`, as (n, h, w, c) pictures in 0..1."""
    images = keras.ops.convert_to_numpy(generator(z, training=False)).astype("float32")
    return np.clip(images.reshape((len(z),) + tuple(image_shape)), 0.0, 1.0)


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, the generator's images for one fixed noise batch (live/samples_eNNN.npy)."""

    def __init__(self, run_dir, generator, z, image_shape, start: int = 0):
        """`start`: the epochs done before training begins (a resumed run's grid of then is already there)."""
        super().__init__()
        self.run_dir, self.generator, self.z, self.image_shape = Path(run_dir), generator, z, image_shape
        self.start = start

    def write(self, number: int) -> Path:
        """The grid after `number` epochs; 0 (SafeCallback's view before training) means `start`."""
        images = draw(self.generator, self.z, self.image_shape)
        return atomic_write(live_path(self.run_dir, number or self.start), lambda f: np.save(f, images))

    def on_epoch_end(self, epoch, logs=None):
        self.write(epoch + 1)


def train_gan(exp, run_dir: Path, stop_flag, emit, log, resume_from=None) -> dict:
    """The GAN counterpart of runner's loop: same status, metrics, progress, checkpoints, stop and NaN handling;
    `resume_from`: a checkpoint of this run folder to go on from."""
    hp = exp.hp
    open_device(run_dir, emit, log, "; a GAN run")
    data = training_data(exp)
    image_shape = tuple(data.info.input_shape)
    log.info("data: %d real training images of shape %s", len(data.x_train), list(image_shape))
    gan = build_gan(exp)
    batches = plan.count_batches(len(data.x_train), hp["batch_size"])
    gan.compile(optimizer=plan.optimizer(hp, batches).make(), steps_per_execution=plan.steps_per_execution(hp, batches))
    start = resume_from.epoch if resume_from else 0
    if resume_from:
        restore_model(gan, resume_from)
        log.info("going on from the checkpoint of epoch %d", start)
    monitor = BatchMonitor(run_dir, hp["epochs"], batches, hp["max_batch_progress_rate"], stop_flag)

    def on_epoch(row):
        runfolder.write_status(run_dir, epochs_done=row["epoch"], last=row)
        log.info(epoch_line(row, hp["epochs"]))
        emit("epoch", row)

    epoch_log = EpochLog(run_dir, monitor, on_epoch, elapsed_before=resume_from.elapsed_s if resume_from else 0.0)
    grid = SampleGrid(run_dir, gan.generator, noise(SAMPLES, gan.noise_size, hp["seed"]), image_shape, start)
    saver = CheckpointSaver(run_dir, [], resume_from=resume_from, elapsed=epoch_log.elapsed)
    callbacks = [monitor, epoch_log, SafeCallback(grid, log, share=1.0), saver]
    t0 = time.perf_counter()
    gan.fit(data.x_train, batch_size=hp["batch_size"], initial_epoch=start, epochs=hp["epochs"], shuffle=True,
            callbacks=callbacks, verbose=0)
    log.info("training took %.2f s", time.perf_counter() - t0)
    ended = finish_if_server_died(run_dir, monitor, stop_flag)
    if ended:
        return ended
    if monitor.nan_at is not None:
        epoch, batch = monitor.nan_at
        return finish(run_dir, "failed", error=(
            f"the GAN's loss became NaN (not a number) at epoch {epoch}, batch {batch}; try a lower learning "
            f"rate (now {hp['learning_rate']:g})"))
    save_results(gan, run_dir, image_shape, hp["seed"])
    return finish_trained(run_dir, monitor.stopped)


def save_results(gan, run_dir: Path, image_shape: tuple, seed: int) -> None:
    """samples.npz (final samples, interpolation), then the generator as model.keras and the discriminator."""
    images = draw(gan.generator, noise(FINAL_SAMPLES, gan.noise_size, seed + 1), image_shape)
    walk = draw(gan.generator, interpolation_noise(gan.noise_size, seed), image_shape)
    walk = walk.reshape((INTERPOLATIONS, STEPS) + tuple(image_shape))
    atomic_write(Path(run_dir) / SAMPLES_FILE, lambda f: np.savez(f, images=images, interpolation=walk))
    save_model(gan.discriminator, run_dir, DISCRIMINATOR)
    save_model(gan.generator, run_dir)
