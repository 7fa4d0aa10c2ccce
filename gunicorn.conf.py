"""gunicorn reads this file from the working directory: `gunicorn -w 2 'app:create_app()'`."""


def post_worker_init(worker):
    # the app is loaded in the worker by now (no preload): tune the collector for serving
    from ops.tuning import tune_gc_for_serving
    tune_gc_for_serving()


def post_request(worker, req, environ, resp):
    # the response is sent: collect what the request left behind before the next one
    from ops.tuning import collect_between_requests
    collect_between_requests()
