"""The physician self-service site /physician/ (医师个人版)."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/physician")

from . import account, applications, auth, help, maintenance, pages, register  # noqa: E402,F401
