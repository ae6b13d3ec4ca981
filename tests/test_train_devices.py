"""Device lines the app shows, and the reasons given when a worker dies."""
import signal

from builder.train.devices import GPU, describe, device_line
from builder.train.jobs import death_reason


def test_device_lines_say_where_training_runs():
    assert device_line([]) == "no GPU found — training on CPU"
    assert device_line([GPU("NVIDIA H100", 80.0)]) == "NVIDIA H100, 80 GB — training on GPU"
    assert device_line([GPU("NVIDIA A10"), GPU("NVIDIA A10")]) == "2 GPUs (NVIDIA A10 …) — training on GPU"


def test_describe_on_this_machine_names_the_backend():
    info = describe()  # the tests hide GPUs (conftest), so this machine trains on CPU
    assert info.backend in ("tensorflow", "jax", "torch")
    assert info.line == device_line(info.gpus)


def test_death_reasons_are_plain_words():
    assert "killed (SIGKILL)" in death_reason(-signal.SIGKILL) and "memory" in death_reason(-signal.SIGKILL)
    assert "SIGTERM" in death_reason(-signal.SIGTERM)
    assert "exit code 3" in death_reason(3)
