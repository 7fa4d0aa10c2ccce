"""Home page (three entrances), captcha, health check, security headers and error pages."""
import secrets
import time
import uuid

import sqlalchemy as sa
from flask import (Blueprint, current_app, g, jsonify, make_response, render_template, request,
                   session)

from models import db

bp = Blueprint("common", __name__)

CAPTCHA_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
CAPTCHA_TTL = 600


@bp.route("/")
def home():
    return render_template("home.html")


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        ok = True
    except Exception:  # report, do not raise: this is the liveness probe
        db.session.rollback()
        ok = False
    return jsonify({"status": "ok" if ok else "degraded", "db": ok}), (200 if ok else 503)


@bp.route("/captcha.png")
def captcha_image():
    from captcha.image import ImageCaptcha
    text = "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(4))
    session["captcha"] = {"text": text, "at": int(time.time())}
    data = ImageCaptcha(width=120, height=44, font_sizes=(30, 34, 38)).generate(text).getvalue()
    resp = make_response(data)
    resp.headers["Content-Type"] = "image/png"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def check_captcha(answer: str | None) -> bool:
    """Single use: the stored text is consumed whatever the answer."""
    stored = session.pop("captcha", None)
    if not current_app.config["CAPTCHA_ENABLED"]:
        return True
    if not stored or not answer or time.time() - stored.get("at", 0) > CAPTCHA_TTL:
        return False
    return secrets.compare_digest(stored["text"].upper(), answer.strip().upper())


# the physician site's left menu, as in the deck
PORTAL_MENU = [
    ("portal.qualification", "资格信息"), ("portal.practice", "执业信息"),
    ("portal.assessment", "考核信息"), ("portal.maintenance", "信息维护"),
    ("portal.applications", "业务申请"), ("portal.application_query", "业务查询"),
    ("portal.reissue", "证书补办"), ("portal.security", "安全设置"),
]

CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def install(app):
    app.register_blueprint(bp)

    @app.context_processor
    def _template_globals():
        return {"url_rules": app.view_functions, "portal_menu": PORTAL_MENU}

    @app.before_request
    def _correlation():
        g.request_id = uuid.uuid4().hex[:12]
        g.csp_nonce = secrets.token_urlsafe(16)  # for Flask-Admin's few inline scripts

    @app.before_request
    def _reject_nul():
        # no field of this system may hold a NUL character (PostgreSQL text cannot store
        # one: it would be a 500 deep in a query); uploaded files are not form values
        values = [*(request.view_args or {}).values()]
        for source in (request.args, request.form):
            for vs in source.listvalues():
                values.extend(vs)
        if any(isinstance(v, str) and "\x00" in v for v in values):
            from flask import abort
            abort(400)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy",
                                CSP.format(nonce=g.get("csp_nonce", "none")))
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint and "static" not in request.endpoint:
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.after_request
    def _deliver_outbox(resp):
        # messages queued by this request were committed with its business change: send
        # them before answering, so the code is there when the next page asks for it; the
        # `flask outbox deliver` worker retries whatever fails here
        if g.get("outbox_queued") or g.get("outbox_queued_ids"):
            from services.messaging import deliver_due, queued_in_this_request
            ids = queued_in_this_request()
            try:
                db.session.rollback()  # never deliver from a half-finished transaction
                if ids:
                    deliver_due(limit=len(ids), only_ids=ids)
            except Exception:  # delivery problems never break the user's request
                app.logger.exception("outbox delivery failed; the worker will retry")
                db.session.rollback()
        return resp

    def _error(code, title, message):
        def handler(err):
            return render_template("error.html", code=code, title=title, message=message,
                                   request_id=g.get("request_id", "")), code
        return handler

    app.register_error_handler(400, _error(400, "请求无效", "请求无效或已过期，请返回上一页刷新后重试。"))
    app.register_error_handler(403, _error(403, "无权访问", "您没有访问此页面的权限。"))
    app.register_error_handler(404, _error(404, "页面不存在", "您访问的页面或记录不存在。"))
    app.register_error_handler(405, _error(405, "请求方式不允许", "不支持此请求方式。"))
    app.register_error_handler(413, _error(413, "上传内容过大", "上传的文件或提交的内容超过了大小限制。"))
    app.register_error_handler(429, _error(429, "操作过于频繁", "操作过于频繁，请稍后再试。"))

    def _server_error(err):
        db.session.rollback()
        return render_template("error.html", code=500, title="系统繁忙",
                               message="系统处理时出现错误，请稍后再试。如需帮助，请提供下方编号。",
                               request_id=g.get("request_id", "")), 500
    app.register_error_handler(500, _server_error)

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf(err):
        return render_template("error.html", code=400, title="页面已过期",
                               message="页面已过期或表单校验失败，请刷新页面后重新提交。",
                               request_id=g.get("request_id", "")), 400
