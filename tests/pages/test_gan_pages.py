"""AppTest: a GAN on screen — Build switches between its two networks, Train's live view draws the sample
grid, Explain shows the samples and the interpolation of a finished GAN run."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import gan_check  # noqa: E402


@pytest.fixture(autouse=True)
def _skip_component_scan(monkeypatch):
    from streamlit.components.v2 import manifest_scanner

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: [])


def test_build_switches_between_generator_and_discriminator_and_keeps_both(tmp_path, monkeypatch):
    from builder.experiments import templates

    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["welcome_dismissed"] = True
    at.run()
    at.selectbox(key="template_pick").set_value("mlp-gan").run()
    at.button(key="template_load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    tpl = templates.experiment("mlp-gan")
    assert at.session_state["spec"] == tpl["model"] and at.session_state["gan_part"] == "generator"
    at.segmented_control(key="gan_part_pick").set_value("discriminator").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["spec"] == tpl["gan"]["discriminator"]
    assert at.session_state["gan_other"]["spec"] == tpl["model"]
    # an edit of the discriminator makes it unfit: its problem is on its node, with a fix that works there
    spec = at.session_state["spec"]
    spec["nodes"][-1]["params"] = {"units": 3, "activation": "softmax"}
    at.session_state["spec"] = spec
    at.run()
    fix = next(b for b in at.button if b.label.startswith("Discriminator: Set real"))
    fix.click().run()
    assert at.session_state["spec"]["nodes"][-1]["params"] == {"units": 1, "activation": "sigmoid"}
    assert at.session_state["gan_part"] == "discriminator"  # the fix kept the network on the canvas
    at.segmented_control(key="gan_part_pick").set_value("generator").run()
    assert at.session_state["spec"] == tpl["model"]
    at.button(key="undo").click().run()  # the generator's own history: nothing of the discriminator's
    assert at.session_state["spec"]["name"] != "mlp-gan-discriminator"
    at.button(key="new_model").click().run()  # a new model is one network again
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["gan_part"] is None and at.session_state["spec"]["name"] == "my-model"
    assert "gan_part_pick" not in [c.key for c in at.segmented_control]


@pytest.fixture(scope="module")
def gan_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    result = gan_check.check(str(root / "gan-run"))
    assert result["status"] == "completed"
    return root


def test_explain_shows_samples_and_interpolation(gan_runs, monkeypatch):
    monkeypatch.setenv("LAYERLAB_RUNS_DIR", str(gan_runs))
    at = AppTest.from_file(str(ROOT / "pages" / "explain.py"), default_timeout=60)
    at.session_state["run_id"] = "gan-run"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "Samples" in text and "Interpolation" in text
    assert len(at.get("image")) == 2


def test_live_view_draws_both_losses_and_the_newest_sample_grid(gan_runs):
    import json

    from ui import gan_view

    at = AppTest.from_function(_live_panel, args=(str(gan_runs),), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    [figure] = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert {"d_loss", "g_loss"} <= {trace["meta"] for trace in figure["data"]}
    assert any(f"after epoch {gan_check.EPOCHS}" in m.value for m in at.markdown)
    assert len(at.get("image")) == 1
    picture = gan_view.grid(np.load(gan_runs / "gan-run" / "live" / f"samples_e{gan_check.EPOCHS:03d}.npy"))
    assert picture.shape == (8 * 50, 8 * 50, 3)  # 8×8 images of 8 px enlarged to 48, a 1 px frame each


def _live_panel(root):
    from builder.store.runstore import RunStore
    from ui import live

    live.live_panel(RunStore(root), "gan-run")
