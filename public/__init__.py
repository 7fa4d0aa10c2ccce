"""/public/ 医师执业注册信息查询 (X6, 医师法 第二十一条)."""
from flask import Blueprint, render_template

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.route("/")
def index():
    return render_template("error.html", code=200, title="医师执业注册信息查询",
                           message="公众查询功能尚未上线，将随“公众查询与 FHIR 接口”需求（issue 9）提供。")
