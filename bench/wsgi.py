"""gunicorn entry for the stock Flask-Admin peer: the app plus /stock/ (benchmark only).
Configured from the environment like `app:create_app()` (DATABASE_URL, INSTANCE_PATH)."""
from app import create_app

from .appsetup import stock_models_for
from .stock import mount_stock

app = create_app()
mount_stock(app, stock_models_for(app))
