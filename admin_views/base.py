"""Shared pieces of both consoles: role guard, CSRF form base, tenant-scoped ModelView,
safe export, placeholder pages.

Tenant scoping rule (see ARCHITECTURE.md): every ModelView filters rows in `scope()`, which
`get_query`, `get_count_query` and `get_one` all go through; relationship choices, ajax
loaders and bulk actions must load through `scoped_query()` too."""
import time
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.util import find_tables

from flask import abort, current_app, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import ViewRowAction
from flask_login import current_user
from flask_wtf import FlaskForm
from jinja2 import pass_context
from markupsafe import Markup, escape

from models import db
from web.auth import has_console_role


class SecureAdminForm(FlaskForm):
    """Flask-WTF base for admin forms: CSRF checked by the same CSRFProtect as every form."""

    class Meta:
        locales = ["zh_CN", "zh"]


class ConsoleAccessMixin:
    """Only console users of the right role reach the view; others get login or 403."""

    area = "org"
    allowed_roles: tuple = ()

    def is_accessible(self):
        return has_console_role(*self.allowed_roles) and current_user.is_active

    def get_url(self, endpoint, **kwargs):
        """Flask-Admin's asset links (`admin_static.url`, nineteen on every console page) are
        the same on every page: each is built once per (endpoint, arguments, script root).
        Only the templates ask for these, with constant file names, so the cache stays small."""
        if not endpoint.endswith(".static"):
            return super().get_url(endpoint, **kwargs)
        cache = current_app.extensions.setdefault("console_static_urls", {})
        key = (endpoint, request.script_root, tuple(sorted(kwargs.items())))
        url = cache.get(key)
        if url is None:
            url = super().get_url(endpoint, **kwargs)
            if len(cache) < 256:
                cache[key] = url
        return url

    def inaccessible_callback(self, name, **kwargs):
        if not getattr(current_user, "is_authenticated", False):
            return redirect(url_for(f"console_auth.{self.area}_login", next=request.path))
        abort(403)


class ConsoleIndexView(ConsoleAccessMixin, AdminIndexView):
    template = "admin/console_index.html"

    @expose("/")
    def index(self):
        return self.render(self.template, **self.dashboard())

    def dashboard(self) -> dict:
        return {}


ROW_ID_MARK = "0ROWID0"  # letters and digits: unchanged by URL quoting and HTML escaping


def row_link(key, build, row_id) -> Markup:
    """A list row's link: `build(ROW_ID_MARK)` makes the link's HTML once per request (per
    `key`), and each row puts its id where the mark is — a url_for per row was a tenth of a
    list page's time. The mark must be the link's first one (the id is the URL's first
    argument, before anything taken from the request)."""
    cache = g.setdefault("_row_links", {})
    html = cache.get(key)
    if html is None:
        html = cache[key] = build(ROW_ID_MARK)
    # Markup.replace escapes the quoted id (letters, digits and %XX only)
    return html.replace(ROW_ID_MARK, quote(str(row_id), safe=""), 1)


class DetailsRowAction(ViewRowAction):
    """The lists' row action (查看), drawn as the stock `view_row` macro draws it, through
    row_link() instead of two macros and a url_for per row."""

    _LINK = Markup('<a class="icon" href="{}" title="{}">'
                   '<span class="fa fa-eye glyphicon glyphicon-eye-open"></span></a>')

    def render(self, context, row_id, row):
        return_url = context.resolve("return_url")
        get_url = self._resolve_symbol(context, "get_url")
        return row_link(("details", return_url), lambda mark: self._LINK.format(
            get_url(".details_view", id=mark, url=return_url), self.title or ""), row_id)


def page_rows_with_loads(query, model, loads):
    """The rows of one list page with the relations it shows, in one statement.

    `query` is the page as Flask-Admin built it (filters, order, LIMIT/OFFSET). Joining
    relations to it directly would join them for every row an OFFSET skips too; here the
    page's ids are chosen first, in a subquery that reads the list's index alone, and only
    those rows are joined to their relations. A page that skips no rows (the first, or one
    reached by key) is joined directly: the subquery would only cost (about 0.7 ms of a
    worker's CPU per request on /gov/qualifications/, 168 → 157 req/s)."""
    offset = query._offset_clause  # Query keeps no public accessor for its OFFSET
    if offset is None or getattr(offset, "value", None) == 0:
        return query.options(*loads)
    order = query._order_by_clauses  # nor for its ORDER BY
    if any(table is not model.__table__ for clause in order
           for table in find_tables(clause, check_columns=True, include_aliases=True)):
        # ordered by a joined table's column: that join lives in the subquery only
        return query.options(*loads)
    page_ids = query.with_entities(model.id).subquery()
    return (query.session.query(model).join(page_ids, model.id == page_ids.c.id)
            .options(*loads).order_by(*order))


class ScopedModelView(ConsoleAccessMixin, ModelView):
    """Read-only by default; subclasses implement `scope(query)` for their tenant."""

    form_base_class = SecureAdminForm
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    can_export = False
    export_max_rows = 5000
    export_types = ["xlsx", "csv"]
    page_size = 20
    can_set_page_size = False
    list_template = "admin/scoped_list.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the relations Flask-Admin joins for the list's columns (column_auto_select_related)
        # go with the page's rows (page_rows_with_loads), not into the paged statement, which
        # joined them for every row an OFFSET skips too (page 101 of the national register:
        # 2,020 rows joined to four tables for 20 shown)
        self._page_joins, self._auto_joins = list(self._auto_joins), []

    def scope(self, query):
        raise NotImplementedError("every console view must scope its rows to the tenant")

    _ROW_CHECKBOX = Markup('<td><input type="checkbox" name="rowid" class="action-checkbox" '
                           'value="{}" title="选择记录"></td>')

    @pass_context
    def list_row(self, context, row) -> Markup:
        """A list row: its checkbox (when the list has actions), its row actions and its
        column cells (list_cells), in one call instead of the template's loop over the row
        actions and its two primary-key calls per row (callgrind: 4 % fewer instructions per
        /org/main-physicians/ request)."""
        pk = None
        checkbox = actions = ""
        if context.resolve("actions"):
            pk = self.get_pk_value(row)
            checkbox = self._ROW_CHECKBOX.format(pk)
        if self.column_display_actions:
            if pk is None:
                pk = self.get_pk_value(row)
            actions = '<td class="list-buttons-column">' + "".join([
                str(action.render_ctx(context, pk, row))
                for action in context.resolve("list_row_actions")]) + "</td>"
        # the whitespace the template's block had, so the page reads as before
        html = f"\n  {checkbox}\n  {actions}\n  {self.list_cells(context, row)}\n"
        return Markup(html)  # nosec B704 - pk escaped by format(), actions Markup, cells escaped

    @pass_context
    def list_cells(self, context, row) -> Markup:
        """A list row's column cells, as the stock row draws them (`<td class="col-…">` and
        get_list_value's value, escaped as `{{ }}` escapes it), in one call: a template call
        and an escape per cell were a sixth of a 20-row page's time."""
        columns = self._list_columns
        openings = self.__dict__.get("_cell_openings")
        if openings is None or openings[0] is not columns:
            openings = self._cell_openings = (columns, [
                (c, str(Markup('<td class="col-{}">').format(c))) for c, _name in columns])
        value = self._cell_value
        formatters = self.column_formatters
        html = "".join([
            f"{opening}{escape(value(context, row, c, formatters))}</td>"
            for c, opening in openings[1]])
        return Markup(html)  # nosec B704 - each value escaped above, each opening by format()

    def _cell_value(self, context, row, name, formatters):
        """Flask-Admin's _get_list_value (column formatter or attribute, choices, then the
        first type formatter the value is an instance of), with that type formatter looked
        up once per value type: the stock lookup tries every type formatter with isinstance
        for every cell (on /org/main-physicians/ ~1,700 calls and ~1.3 ms per request)."""
        fmt = formatters.get(name)
        value = fmt(self, context, row, name) if fmt is not None \
            else self._get_field_value(row, name)
        choices = self._column_choices_map.get(name)
        if choices:
            return choices.get(value) or value
        type_formatters = self.column_type_formatters
        cache = self.__dict__.get("_type_formatter_of")
        if cache is None or cache[0] is not type_formatters:
            cache = self._type_formatter_of = (type_formatters, {})
        kind = type(value)
        try:
            type_fmt = cache[1][kind]
        except KeyError:
            type_fmt = cache[1][kind] = next(
                (f for t, f in type_formatters.items() if isinstance(value, t)), None)
        return value if type_fmt is None else type_fmt(self, value, name)

    def get_list_row_actions(self):
        return [DetailsRowAction() if type(action) is ViewRowAction else action
                for action in super().get_list_row_actions()]

    def scoped_query(self):
        return self.scope(self.session.query(self.model))

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def list_loads(self) -> list:
        """Loader options for the relations a list page shows, loaded with its rows by
        page_rows_with_loads (here those of the list's columns Flask-Admin would join; a view
        that shows other relations adds them)."""
        return [joinedload(relation) for relation in self._page_joins]

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        loads = self.list_loads()
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute and not loads, page_size=page_size)
        if loads:
            rows = page_rows_with_loads(rows, self.model, loads)
            if execute:
                rows = rows.all()
        return count, rows

    def get_one(self, id):
        try:
            pk = int(id)
        except (TypeError, ValueError):
            return None
        return self.scoped_query().filter(self.model.id == pk).one_or_none()

    def get_export_name(self, export_type="csv"):
        # Flask-Admin strips non-ASCII from the name; the browser gets the Chinese name
        # through Content-Disposition's filename* instead (see export hook)
        return f"{self.endpoint}_{time.strftime('%Y%m%d_%H%M%S')}.{export_type}"


class KeysetPagerMixin:
    """Deep pages of the national lists by key instead of OFFSET.

    The lists run newest first (id descending) without a count. The pager's links carry the id
    of the last row shown (`after`) or of the first (`before`), so the next page is read
    straight from the index — as cheap at page 100,000 as at page 1. A page number typed into
    the URL without a key is served by OFFSET only up to `max_offset_page`; beyond it the list
    asks for the pager or a search instead of reading millions of rows to skip them."""

    keyset_pager = True
    max_offset_page = 100

    def keyset_active(self) -> bool:
        return (bool(self.simple_list_pager) and not request.args.get("sort")
                and self.column_default_sort == ("id", True))

    def keyset_column(self):
        """The column the list is ordered by (newest first) and keyed on."""
        return self.model.id

    @staticmethod
    def _cursor(name):
        value = request.args.get(name, "")
        return int(value) if value.isdigit() and len(value) <= 18 else None

    def _apply_pagination(self, query, page, page_size):
        if page_size is None:
            page_size = self.page_size
        if self.keyset_active():
            after, before = self._cursor("after"), self._cursor("before")
            if after is not None:
                return query.filter(self.keyset_column() < after).limit(page_size)
            if before is not None:
                key = self.keyset_column()
                return query.filter(key > before).order_by(None).order_by(
                    key.asc()).limit(page_size)
            if page and page > self.max_offset_page:
                from flask import flash
                flash(f"列表只能直接跳转到第 {self.max_offset_page + 1} 页以内；"
                      "请用“下一页”逐页翻看，或输入姓名、身份证号、证书编码查询。", "warning")
                return query.filter(sa.false()).limit(page_size)
        return super()._apply_pagination(query, page, page_size)

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if self.keyset_active() and self._cursor("after") is None \
                and self._cursor("before") is not None and isinstance(rows, list):
            rows.reverse()  # read oldest-first above the key; shown newest first
        return count, rows

    def keyset_url(self, page: int, **cursor) -> str:
        args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before")}
        if page > 0:
            args["page"] = page
            args.update(cursor)
        return url_for(".index_view", **args)


def password_change_page(render):
    """安全设置 of both consoles: change the own password (ends the other sessions).
    `render(errors=…)` draws the console's own page."""
    from flask import flash, redirect, request, session, url_for

    from services import DomainError
    from services.console_account import change_password
    from web.auth import current_actor
    errors = {}
    if request.method == "POST":
        try:
            change_password(current_actor(), current_user._get_current_object(),
                            request.form.get("old_password", ""),
                            request.form.get("new_password", ""),
                            request.form.get("confirm_password", ""),
                            keep_token=session.get("_user_id"))
        except DomainError as exc:
            errors[exc.field or "old_password"] = exc.message
        else:
            flash("密码已修改；您在其他浏览器上的登录已全部退出。", "success")
            return redirect(url_for(".index"))
    return render(errors=errors)


def cached_menu(admin_view, render):
    """The console's main menu as HTML, rendered once per (console, role, current view) and
    then reused: which items show depends only on the role (`ConsoleAccessMixin.
    is_accessible`) and which one is highlighted on the current view, while rendering it
    walks every item with a url_for each. Anything else (not a console user, an inactive
    one) renders as usual."""
    from models.enums import UserKind
    user = current_user
    if not (getattr(user, "is_authenticated", False) and user.kind == UserKind.CONSOLE
            and user.is_active):
        return render()
    return _kept_markup("console_menu_cache", (admin_view.admin.endpoint, user.role,
                                               admin_view.endpoint, request.script_root),
                        render)


def cached_static_url(admin_endpoint: str, params: dict) -> str:
    """The URL of one of Flask-Admin's static files (its admin/static.html `url` macro,
    overridden in templates/admin/static.html), built once per (console, file, version,
    script root) and then reused: the files and their URLs never change while the app
    runs, and every console page names about twenty of them."""
    return _kept_markup("admin_static_url_cache",
                        (admin_endpoint, request.script_root, tuple(sorted(params.items()))),
                        lambda: url_for(f"{admin_endpoint}.static", **params))


KEPT_MARKUP_LIMIT = 1024  # entries per kind: far above what the consoles name


def _kept_markup(kind: str, key: tuple, build):
    """What `build()` returns for `key`, built once per app and then reused. The script root
    is part of every key and comes with the request (a proxy in front may set it), so the
    entries are bounded: past the limit the kind starts over instead of growing."""
    cache = current_app.extensions.setdefault(kind, {})
    found = cache.get(key)
    if found is None:
        if len(cache) >= KEPT_MARKUP_LIMIT:
            cache.clear()
        found = cache[key] = build()
    return found


def tenant_institution_id() -> int:
    uid = getattr(current_user, "institution_id", None)
    if not uid:
        abort(403)
    return uid


def current_nonce():
    return g.get("csp_nonce", "")


__all__ = ["SecureAdminForm", "ConsoleAccessMixin", "ConsoleIndexView", "ScopedModelView",
           "KeysetPagerMixin", "password_change_page", "cached_menu", "cached_static_url",
           "tenant_institution_id", "current_nonce", "db", "BaseView", "expose"]
