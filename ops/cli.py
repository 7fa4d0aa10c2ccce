"""`flask backup PATH` and `flask restore PATH --yes`."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


def register_ops(app) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="覆盖已存在的备份文件。")
@with_appcontext
def backup_command(path, yes):
    """备份整个数据库到 PATH（SQLite 在线备份；PostgreSQL 用 pg_dump 自定义格式）。"""
    from services.backup import BackupError, backup
    if Path(path).exists() and not yes:
        raise click.ClickException(f"{path} 已存在；如确需覆盖，请加 --yes。")
    try:
        out = backup(current_app, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已备份到 {out}（{out.stat().st_size} 字节）。")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="确认用备份覆盖当前数据库。")
@with_appcontext
def restore_command(path, yes):
    """用 PATH 中的备份替换当前数据库（需要 --yes）。"""
    from services.backup import BackupError, restore
    if not yes:
        raise click.ClickException("恢复会覆盖当前数据库中的全部数据；确认无误后请加 --yes 重新执行。")
    try:
        restore(current_app, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已从 {path} 恢复数据库。")
