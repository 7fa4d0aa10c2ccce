"""/org/ 医师变动信息: the daily change feed of this institution's physicians (status,
执业地点 / 主要执业机构, 定期考核), with a csv download (UTF-8 with BOM for Excel, 身份证号
masked). Scoped to the signed-in administrator's institution; no id comes from the user."""
import csv
import datetime as dt
import io
from urllib.parse import quote

from flask import Response, request

from services import change_feed

from .base import BaseView, ConsoleAccessMixin, expose, tenant_institution_id

MAX_SPAN_DAYS = 31


def _parse_day(raw: str | None, default: dt.date) -> tuple[dt.date, str | None]:
    if not raw:
        return default, None
    try:
        return dt.date.fromisoformat(raw.strip()), None
    except ValueError:
        return default, "日期格式应为 YYYY-MM-DD，例如 2026-03-17。"


def _window():
    """(start, end, errors) from ?day= or ?start=&end=; default yesterday."""
    yesterday = dt.date.today() - dt.timedelta(days=1)
    errors = {}
    start, err = _parse_day(request.args.get("start") or request.args.get("day"), yesterday)
    if err:
        errors["start"] = err
    end, err = _parse_day(request.args.get("end"), start)
    if err:
        errors["end"] = err
    if not errors:
        if end < start:
            errors["end"] = "结束日期不能早于开始日期。"
        elif (end - start).days >= MAX_SPAN_DAYS:
            errors["end"] = f"一次最多查询 {MAX_SPAN_DAYS} 天的变动信息。"
    if errors:
        return yesterday, yesterday, errors
    return start, end, errors


def register(admin):
    from .org import PAGE_SIZE, OrgMixin, _page_arg

    class OrgChangeFeedView(OrgMixin, ConsoleAccessMixin, BaseView):
        @expose("/")
        def index(self):
            start, end, errors = _window()
            items = [] if errors else change_feed.list_changes(
                tenant_institution_id(), start, end)
            # the whole window is in the csv; the page shows it PAGE_SIZE rows at a time, and
            # only those rows' details are read
            pages = max(1, -(-len(items) // PAGE_SIZE))
            page = min(_page_arg(), pages - 1)
            shown = change_feed.with_details(items[page * PAGE_SIZE:(page + 1) * PAGE_SIZE])
            return self.render("admin/org_change_feed.html", start=start, end=end,
                               items=shown, total=len(items), page=page, pages=pages,
                               errors=errors, raw=request.args)

        @expose("/export.csv")
        def export(self):
            start, end, errors = _window()
            if errors:
                items = []
            else:
                items = change_feed.changes_for_institution(tenant_institution_id(), start, end)
            buf = io.StringIO()
            buf.write("\ufeff")  # BOM: Excel opens UTF-8 csv correctly
            writer = csv.writer(buf)
            for row in change_feed.csv_rows(items):
                writer.writerow([_csv_safe(v) for v in row])
            span = start.strftime("%Y%m%d") + ("" if end == start else "-" + end.strftime("%Y%m%d"))
            cn = f"医师变动信息_{span}.csv"
            return Response(buf.getvalue().encode("utf-8"), mimetype="text/csv",
                            headers={"Content-Disposition":
                                     f"attachment; filename=change_feed_{span}.csv; "
                                     f"filename*=UTF-8''{quote(cn)}"})

    admin.add_view(OrgChangeFeedView(name="医师变动信息", category="本院执业医师信息",
                                     endpoint="org_change_feed", url="/org/change-feed"))


def _csv_safe(value) -> str:
    """No spreadsheet formulas from data (=, +, -, @ at the start)."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s
