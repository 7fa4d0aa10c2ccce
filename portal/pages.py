"""Physician pages. The 基本信息 home; the rest of the site lands with the physician issue."""
from flask import g, render_template

from web.auth import physician_required

from . import bp


@bp.route("/")
@physician_required
def home():
    return render_template("portal/home.html", account=g.account)
