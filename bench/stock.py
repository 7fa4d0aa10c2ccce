"""The peer to beat: stock Flask-Admin ModelViews over the same tables, on a separate Admin
mounted only in the benchmark app at /stock/ (no access control, exact counts, default
contains-search on the person's name)."""
from flask_admin import Admin, AdminIndexView
from flask_admin.contrib.sqla import ModelView

from models import db

STOCK_SEARCH = {
    "registration": ["person.name"],
    "qualification": ["person.name"],
    "person": ["name"],
    "institution": ["name"],
    "physician_account": ["name"],
    "application": ["person.name"],
    "filing": ["institution.name"],
    "legacy_site": ["institution.name"],
    "assessment": ["person.name"],
    "credit_record": ["person.name"],
    "audit_log": ["actor_name"],
    "change_request": ["account.name"],
    "photo": ["account.name"],
}
STOCK_FILTERS = {"registration": ["institution_id"], "application": ["authority_id"]}


def stock_endpoint(model) -> str:
    return f"stock_{model.__tablename__}"


def mount_stock(app, models) -> Admin:
    admin = Admin(app, name="stock", url="/stock", endpoint="stock",
                  index_view=AdminIndexView(url="/stock", endpoint="stock"))
    for model in models:
        table = model.__tablename__
        attrs = {"column_searchable_list": STOCK_SEARCH.get(table, []),
                 "column_filters": STOCK_FILTERS.get(table, [])}
        view_cls = type(f"Stock{model.__name__}View", (ModelView,), attrs)
        admin.add_view(view_cls(model, db.session, endpoint=stock_endpoint(model),
                                url=f"/stock/{table}"))
    return admin


def filter_arg(view, column_name: str) -> str | None:
    """The URL argument of the stock view's `= value` filter on `column_name`."""
    for idx, flt in enumerate(view._filters or []):
        col = getattr(flt, "column", None)
        is_equal = any(c.__name__ == "FilterEqual" for c in type(flt).__mro__)
        if getattr(col, "key", None) == column_name and is_equal:
            return f"flt0_{view.get_filter_arg(idx, flt)}"
    return None
