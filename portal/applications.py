"""P12 业务申请 / 业务查询 and P14 证书补办 (applications issue)."""
from flask import render_template

from web.auth import physician_required

from . import bp


def _placeholder(title):
    return render_template("portal/placeholder.html", title=title, issue="5")


@bp.route("/applications/")
@physician_required
def applications():
    return _placeholder("业务申请")


@bp.route("/applications/query")
@physician_required
def application_query():
    return _placeholder("业务查询")


@bp.route("/reissue/")
@physician_required
def reissue():
    return _placeholder("证书补办")
