"""Shared test set-up: quiet TensorFlow, a deterministic CPU run."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("LAYERLAB_PREWARM", "0")  # AppTests of app.py start no worker processes
