"""`minigan bench dcgan --quality`: the recipe table and the quality curve, on tiny runs."""
import numpy as np
import pytest

from minigan.bench import quality

pytestmark = pytest.mark.slow      # trains two tiny DCGANs and scores them


def test_train_and_probe_scores_every_probe_and_counts_training_time_only():
    cfg = dict(quality.recipes_defaults(), model="dcgan", steps=4, batch_size=8, seed=0)
    final, rows = quality.train_and_probe(cfg, probe_every=2, n=64)
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[0]["seconds"] < rows[1]["seconds"] and final == rows[-1]
    for r in rows:
        assert 1.0 <= r["inception_score"] <= 10.0 and r["frechet_distance"] > 0
        assert 0.0 <= r["smallest_class_share"] <= 0.1 <= r["largest_class_share"] <= 1.0


def test_the_table_applies_each_change_on_top_of_the_previous(monkeypatch):
    seen = []
    monkeypatch.setattr(quality, "train_and_probe",
                        lambda cfg, **kw: (seen.append(dict(cfg)) or dict(
                            step=cfg["steps"], seconds=1.0, inception_score=5.0,
                            frechet_distance=50.0, smallest_class_share=0.05,
                            largest_class_share=0.2), []))
    changes = [("old", dict(steps=10, r1_weight=0.0)), ("+ r1", dict(r1_weight=1.0)),
               ("+ more", dict(steps=20))]
    rows = quality.recipe_table(seeds=(0, 1), changes=changes)
    assert [r["change"] for r in rows] == ["old", "old", "+ r1", "+ r1", "+ more", "+ more"]
    assert [c["steps"] for c in seen] == [10, 10, 10, 10, 20, 20]
    assert [c["r1_weight"] for c in seen] == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert [c["seed"] for c in seen] == [0, 1] * 3


def test_the_quality_curve_figure(tmp_path):
    from minigan import viz
    rows = [dict(step=s, seconds=10.0 * s, inception_score=2 + s / 100, frechet_distance=100 - s / 10)
            for s in (100, 200, 300)]
    path = viz.plot_quality_curve(rows, tmp_path / "q.png",
                                  reference={"inception_score": 8.6, "frechet_distance": 7.0})
    import matplotlib.image
    picture = matplotlib.image.imread(path)
    assert picture.shape[0] > 100 and np.std(picture) > 0.05
