"""The live view's poll: its usual pace for a few runs, slower once a class's polls would crowd the server."""
from ui import live


def test_a_few_runs_poll_at_the_usual_pace():
    assert live.poll_seconds(points=False, active_runs=0) == live.POLL_SECONDS == 0.5
    assert live.poll_seconds(points=True, active_runs=1) == live.POINTS_POLL_SECONDS == 0.3
    assert live.poll_seconds(points=False, active_runs=16) == 0.5  # 16 × 12 ms every 0.5 s: 38 % of a core


def test_a_class_polls_within_the_servers_share():
    for runs in (20, 60, 100):
        seconds = live.poll_seconds(points=False, active_runs=runs)
        assert runs * live.POLL_COST_S / seconds <= live.POLLS_SHARE + 1e-9  # the polls' share of a core
    assert abs(live.poll_seconds(points=False, active_runs=60) - 1.8) < 1e-9
    assert live.poll_seconds(points=True, active_runs=60) == live.poll_seconds(points=False, active_runs=60)
