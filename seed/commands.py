"""CLI: `flask seed reference|demo|scale`, `flask outbox deliver`, `flask stats refresh`."""
import json
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from models import db

seed_cli = AppGroup("seed", help="加载参考数据、演示数据或大规模测试数据。")
outbox_cli = AppGroup("outbox", help="消息发件箱。")
stats_cli = AppGroup("stats", help="统计信息。")


@seed_cli.command("reference")
def seed_reference():
    """加载参考数据（行政区划、执业范围、诊疗科目等），可重复执行。"""
    from .reference import load_reference
    ensure_schema()
    counts = load_reference()
    click.echo("参考数据已加载：" + "，".join(f"{k} 新增 {v}" for k, v in counts.items()))


@seed_cli.command("demo")
def seed_demo():
    """加载演示数据并写出 instance/demo.json，可重复执行。"""
    ensure_demo_data()
    click.echo(f"演示数据已就绪：{demo_json_path()}")


@seed_cli.command("scale")
@click.option("--physicians", default=10000, show_default=True, type=int)
@click.option("--institutions", default=1000, show_default=True, type=int)
@click.option("--batch", default=5000, show_default=True, type=int)
def seed_scale(physicians, institutions, batch):
    """生成大规模合成注册库（批量插入）。"""
    from .scale import build_scale
    ensure_schema()
    build_scale(physicians=physicians, institutions=institutions, batch=batch, echo=click.echo)


@outbox_cli.command("deliver")
@click.option("--loop/--once", default=False, help="持续运行（工作进程）或只发送一次。")
@click.option("--interval", default=5.0, show_default=True)
def outbox_deliver(loop, interval):
    """发送到期的短信和邮件（失败自动重试）。"""
    from services.messaging import deliver_due
    while True:
        result = deliver_due(limit=200)
        click.echo(f"已发送 {result['sent']} 条，失败 {result['failed']} 条")
        if not loop:
            break
        time.sleep(interval)


@stats_cli.command("refresh")
def stats_refresh():
    """重新统计各级卫生健康委员会的统计信息（建议由定时任务每小时执行）。"""
    from services.gov_statistics import refresh_tallies
    t0 = time.perf_counter()
    rows = refresh_tallies()
    click.echo(f"统计完成：{rows} 条汇总数据，用时 {time.perf_counter() - t0:.1f} 秒")


def ensure_schema() -> None:
    """Bring the database to the newest migration (a new database is built by the
    migrations, exactly as in production); a database made by create_all() before the
    migrations existed is stamped instead of rebuilt."""
    from flask_migrate import stamp, upgrade
    tables = set(sa.inspect(db.engine).get_table_names())
    if tables and "alembic_version" not in tables:
        stamp()
    upgrade()


def demo_json_path() -> Path:
    return Path(current_app.instance_path) / "demo.json"


def ensure_demo_data() -> dict:
    """Create tables, reference data and demo data if missing; write demo.json."""
    from .demo import load_demo
    from .reference import load_reference
    ensure_schema()
    load_reference()
    info = load_demo()
    # each surface adds its own demo rows (FAQ, applications, …) in a seed/demo_<area>.py
    # module with an idempotent load(info) that may extend the demo.json dict
    import importlib
    import pkgutil

    import seed
    for mod in sorted(m.name for m in pkgutil.iter_modules(seed.__path__)
                      if m.name.startswith("demo_")):
        importlib.import_module(f"seed.{mod}").load(info)
    db.session.commit()
    demo_json_path().write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    return info


def _pad(text: str, width: int) -> str:
    """Pad to a display width (CJK characters take two columns)."""
    import unicodedata
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 1)


OUTCOME_LABELS = {"in_register": "在册医师（向机构申领激活码）",
                  "self_activate": "有资格无有效注册（资格证书编码自行激活）",
                  "not_found": "未查询到医师资格信息",
                  "non_electronic_province": "未实施电子化注册地区"}


def print_demo_accounts() -> None:
    info = json.loads(demo_json_path().read_text(encoding="utf-8"))
    roles = {"physician": "医师", "institution": "医疗机构", "commission": "审批机关",
             "sysadmin": "系统管理员", "auditor": "审计人员"}
    click.echo("\n演示账户（密码区分大小写）：")
    click.echo(_pad("角色", 12) + _pad("用户名", 14) + _pad("密码", 13) + _pad("登录地址", 18) + "说明")
    for a in info["accounts"]:
        note = a.get("institution") or a.get("authority") or ""
        if a.get("state"):
            note = f"{a['state']} {note}"
        click.echo(_pad(roles.get(a["role"], a["role"]), 12) + _pad(a["username"], 14)
                   + _pad(a["password"], 13) + _pad(a["login_url"], 18) + note)
    click.echo("\n尚未注册账户的医师（可用于体验注册，/physician/register）：")
    for p in info.get("unregistered", []):
        click.echo("  " + _pad(p["name"], 10) + _pad(p["id_number"], 20)
                   + _pad(p.get("qualification_code", ""), 22)
                   + OUTCOME_LABELS.get(p["outcome"], p["outcome"]) + " " + p.get("institution", ""))
    click.echo("短信与邮件写入 instance/outbox.jsonl（可在其中查看校验码和激活码）。"
               "后台账户首次在浏览器登录需输入短信校验码。\n")


def register_commands(app):
    app.cli.add_command(seed_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(stats_cli)


__all__ = ["register_commands", "ensure_demo_data", "ensure_schema", "print_demo_accounts"]
