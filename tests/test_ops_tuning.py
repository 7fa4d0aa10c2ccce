"""gunicorn picks up gunicorn.conf.py from the project directory, and its worker hook
leaves the collector tuned for serving."""
import gc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_config_tunes_the_collector_in_each_worker():
    from gunicorn.config import Config
    cfg = Config()
    namespace = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    cfg.set("post_worker_init", namespace["post_worker_init"])
    before = gc.get_threshold()
    try:
        cfg.post_worker_init(None)
        from ops.tuning import SERVING_GC_THRESHOLD
        assert gc.get_threshold() == SERVING_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
