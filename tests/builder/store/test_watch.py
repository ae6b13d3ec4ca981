"""The live view's file lookups: the newest live file per kind, seen as soon as a new one is written."""
import numpy as np

from builder.store import runfolder, watch


def test_the_newest_live_file_of_each_kind_follows_new_and_removed_files(tmp_path):
    live = tmp_path / watch.LIVE
    assert watch.latest_live_file(tmp_path, "saliency") == (None, None)  # no live folder yet
    live.mkdir()
    np.save(live / "saliency_e002.npy", np.zeros(2))
    np.save(live / "saliency_e010.npy", np.zeros(2))  # epoch 10 is newer than 2, though it sorts before it
    np.save(live / "boundary_e003.npy", np.zeros(2))
    assert watch.latest_live_file(tmp_path, "saliency") == (live / "saliency_e010.npy", 10)
    assert watch.latest_live_file(tmp_path, "boundary") == (live / "boundary_e003.npy", 3)
    runfolder.write_json(live / "ignored.json", {})  # not a live picture
    np.save(live / "saliency_e011.npy", np.zeros(2))
    assert watch.latest_live_file(tmp_path, "saliency") == (live / "saliency_e011.npy", 11)
    (live / "saliency_e011.npy").unlink()
    assert watch.latest_live_file(tmp_path, "saliency") == (live / "saliency_e010.npy", 10)
    assert watch.latest_live_file(tmp_path, "samples") == (None, None)
