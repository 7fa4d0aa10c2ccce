"""Database models. `db` is created unbound and bound in create_app()."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

from . import enums  # noqa: E402,F401
from .reference import *  # noqa: E402,F401,F403
from .institution import *  # noqa: E402,F401,F403
from .registry import *  # noqa: E402,F401,F403
from .account import *  # noqa: E402,F401,F403
from .application import *  # noqa: E402,F401,F403
from .messaging import *  # noqa: E402,F401,F403
from .audit import *  # noqa: E402,F401,F403
from .statistics import *  # noqa: E402,F401,F403
from . import maintenance  # noqa: E402,F401
