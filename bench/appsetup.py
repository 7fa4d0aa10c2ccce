"""The benchmark app: the real app factory on the bench database, plus the stock Flask-Admin
peer mounted at /stock/, and signed-in clients built from server-side session rows."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_config(database_url: str, instance: Path) -> dict:
    return {"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": database_url,
            "CAPTCHA_ENABLED": False}


def bench_env(database_url: str, instance: Path) -> dict:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
                "CAPTCHA_ENABLED": "0"})
    return env


def create_bench_app(database_url: str, instance: Path, stock_models=None):
    from app import create_app
    app = create_app(bench_config(database_url, instance))
    if stock_models:
        from .stock import mount_stock
        mount_stock(app, stock_models(app) if callable(stock_models) else stock_models)
    return app


def stock_models_for(app):
    """The default peers plus the model of every console ModelView (so each list page has
    its stock twin over the same table)."""
    from flask_admin.model import BaseModelView
    models = default_stock_models()
    for admin in app.extensions.get("admin", []):
        for view in admin._views:
            if isinstance(view, BaseModelView) and view.model not in models:
                models.append(view.model)
    return models


def default_stock_models():
    from models.account import PhysicianAccount
    from models.application import Application
    from models.institution import Institution
    from models.registry import Person, Qualification, Registration
    return [Registration, Institution, Qualification, Person, PhysicianAccount, Application]


def new_session_token(app, kind: str, user_id: int) -> str:
    from models import db
    from models.account import ConsoleUser, PhysicianAccount
    from services.sessions import start_session
    with app.app_context():
        model = PhysicianAccount if kind == "physician" else ConsoleUser
        user = db.session.get(model, user_id)
        token = start_session(user, "127.0.0.1", "bench")
        db.session.commit()
    return token


def session_cookie_value(app, token: str) -> str:
    """The signed Flask session cookie a successful login would set."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps({"_user_id": token, "_fresh": True})


def signed_in_client(app, kind: str, user_id: int):
    client = app.test_client()
    if user_id is not None:
        token = new_session_token(app, kind, user_id)
        client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"),
                          session_cookie_value(app, token))
    return client
