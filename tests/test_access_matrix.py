"""Access-control matrix: every endpoint of app.url_map × every role, from ONE rule table.

Rules are matched by endpoint (first match wins), so endpoints added later are covered
automatically; an endpoint that no rule matches fails the test (add a rule for it).

Outcomes:  ALLOW  → never 403, never a redirect to a login page, never 500
           DENY   → anonymous: 302 to the login page of the area; signed in: 403; never 200/500
           ANY    → whatever the page decides (login pages, static files), but never 500

URL arguments: `<int:…>` gets 1, and the data is built so that row 1 of every table the
factories fill belongs to institution B / the other jurisdiction / another physician (B's
rows are created first). Roles that do not own row 1 must not get a 200 for such URLs.
Tenant substitution: for every Flask-Admin ModelView, the ids another tenant sees but the
role does not are requested through details_view / edit_view `?id=` and must not give a 200.
"""
import re

import pytest
from flask import url_for
from flask_login import login_user

from models.enums import AuthorityLevel, ConsoleRole
from tests.helpers import text_of

ROLES = ["anon", "physician", "org_a", "org_b", "reviewer_in", "reviewer_out", "sysadmin",
         "auditor"]
ALL = frozenset(ROLES)
GOV_ALL = frozenset({"reviewer_in", "reviewer_out", "sysadmin", "auditor"})
REVIEWERS = frozenset({"reviewer_in", "reviewer_out"})
ORG = frozenset({"org_a", "org_b"})
ANY = "ANY"

# (regex on the endpoint name, roles allowed | ANY). First match wins: overrides first.
RULES = [
    (r"^static$|\.static$", ANY),
    (r"^console_auth\.", ANY),
    (r"^portal\.(login|register|recover|forgot|reset|captcha)", ANY),
    (r"^portal\.(guide|help_centre$|help_faq$)", ALL),  # 使用指南 / 帮助中心 / 常见问题: public
    (r"^gov\.index$|^gov_security\.", GOV_ALL),
    (r"^gov_audit", frozenset({"auditor"})),
    (r"^gov_(authorities|accounts)\b", frozenset({"sysadmin"})),
    (r"^gov", REVIEWERS),
    (r"^org", ORG),
    (r"^portal\.", frozenset({"physician"})),
    (r"^(common|public|fhir)\.", ALL),
]
# who owns row 1 (B's data) for `<int:…>` URLs in each area; others must not see it
OWNERS_OF_ROW_1 = {"portal": set(), "org": {"org_b"}, "gov": {"reviewer_in", "sysadmin",
                                                               "auditor"}}
# endpoints never POSTed in the walk: they end the walking client's session
NO_POST = re.compile(r"logout$")
# the counterpart whose rows a role must not reach through ?id=
COUNTERPART = {"org_a": "org_b", "org_b": "org_a", "reviewer_out": "reviewer_in"}


def rule_for(endpoint: str):
    for pattern, allowed in RULES:
        if re.search(pattern, endpoint):
            return allowed
    return None


def login_path(path: str) -> str:
    if path.startswith("/org"):
        return "/org/login"
    if path.startswith("/gov"):
        return "/gov/login"
    return "/physician/login"


def build_url(rule) -> str:
    url = rule.rule
    for conv in re.findall(r"<[^>]+>", rule.rule):
        kind = conv.strip("<>").split(":")[0] if ":" in conv else "string"
        if kind in ("int", "float"):
            value = "1"
        elif kind == "path":
            value = "no-such-file.css"
        elif "export_type" in conv:
            value = "csv"
        else:
            value = "1"
        url = url.replace(conv, value, 1)
    return url


@pytest.fixture()
def world(app, make):
    """B's rows first (they get id 1), then A's; one account per role."""
    auth_b = make.authority(name="北京市卫生健康委员会", region_code="110000",
                            level=AuthorityLevel.PROVINCIAL)
    inst_b = make.institution(name="乙医院", region_code="110105", authority_obj=auth_b)
    pb, reg_b = make.registered_physician(inst_b)
    doctor_b = make.physician_account(pb, institution_obj=inst_b, username="matrixdocb")
    auth_a = make.authority(name="山西省卫生健康委员会", region_code="140000",
                            level=AuthorityLevel.PROVINCIAL)
    inst_a = make.institution(name="甲医院", region_code="140105", authority_obj=auth_a)
    pa, reg_a = make.registered_physician(inst_a)
    users = {
        "physician": make.physician_account(pa, institution_obj=inst_a, username="matrixdoca"),
        "org_a": make.institution_admin(inst_a, username="matrixorga"),
        "org_b": make.institution_admin(inst_b, username="matrixorgb"),
        "reviewer_in": make.reviewer(auth_b, username="matrixrevin"),
        "reviewer_out": make.reviewer(auth_a, username="matrixrevout"),
        "sysadmin": make.console_user(ConsoleRole.SYSADMIN, authority_obj=auth_b,
                                      username="matrixsys"),
        "auditor": make.console_user(ConsoleRole.AUDITOR, authority_obj=auth_b,
                                     username="matrixaud"),
    }
    return {"users": users, "doctor_b": doctor_b, "inst_a": inst_a, "inst_b": inst_b}


def _csrf(client) -> str:
    for url in ("/org/login", "/physician/login", "/gov/login"):
        html = text_of(client.get(url))
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        if m:
            return m.group(1)
    raise AssertionError("no page gives a CSRF token")


def _check(role, endpoint, method, url, resp, allowed, problems):
    status = resp.status_code
    loc = resp.headers.get("Location", "")
    where = f"{role} {method} {url} ({endpoint}) → {status} {loc}"
    if status >= 500:
        problems.append("500: " + where)
        return
    if allowed == ANY:
        return
    to_login = status in (301, 302, 303) and re.search(
        r"/(physician|org|gov)/login(\?|$)", loc) is not None
    if role in allowed:
        if status in (401, 403) or to_login:
            problems.append("denied but should be allowed: " + where)
    elif role == "anon":
        if not (status == 302 and loc.split("?")[0].endswith(login_path(url))):
            problems.append(f"anonymous not sent to {login_path(url)}: " + where)
    elif status != 403:
        problems.append("should be 403: " + where)


def _owns_row_1(role, url) -> bool:
    area = url.strip("/").split("/")[0]
    area = {"physician": "portal"}.get(area, area)
    return role in OWNERS_OF_ROW_1.get(area, set())


def _ids_visible(app, view, user) -> set:
    with app.test_request_context(view.url + "/"):
        login_user(user)
        if not view.is_accessible():
            return set()
        q = view.get_query().with_entities(view.model.id).limit(500)
        return {row[0] for row in q}


def _model_views(app):
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if hasattr(view, "model") and hasattr(view, "get_one"):
                yield view


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, world, login_as, role):
    from models import db
    client = app.test_client()
    if role != "anon":
        login_as(world["users"][role], client)
    token = _csrf(client)
    problems, unmatched, requests = [], [], 0
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        allowed = rule_for(rule.endpoint)
        if allowed is None:
            unmatched.append(rule.endpoint)
            continue
        url = build_url(rule)
        methods = [m for m in ("GET", "POST") if m in rule.methods]
        if "POST" in methods and NO_POST.search(rule.endpoint):
            methods.remove("POST")
        for method in methods:
            requests += 1
            try:
                if method == "GET":
                    resp = client.get(url)
                else:
                    resp = client.post(url, data={"csrf_token": token},
                                       headers={"X-CSRFToken": token})
            except Exception as exc:  # TESTING propagates errors: count it as the 500 it is
                problems.append(f"500 (exception {type(exc).__name__}: {exc}): "
                                f"{role} {method} {url} ({rule.endpoint})")
                continue
            _check(role, rule.endpoint, method, url, resp, allowed, problems)
            if (method == "GET" and "<int:" in rule.rule and resp.status_code == 200
                    and role != "anon" and not _owns_row_1(role, url)):
                problems.append(f"another tenant's row 1 shown: {role} GET {url}")
    assert not unmatched, f"endpoints no access rule covers (add to RULES): {unmatched}"

    # tenant substitution through ?id= on every Flask-Admin ModelView
    other = COUNTERPART.get(role)
    substitutions = 0
    if other:
        users = world["users"]
        me = db.session.merge(users[role])
        them = db.session.merge(users[other])
        for view in _model_views(app):
            foreign = _ids_visible(app, view, them) - _ids_visible(app, view, me)
            for pk in sorted(foreign)[:3]:
                for kind in ("details_view", "edit_view"):
                    endpoint = f"{view.endpoint}.{kind}"
                    if endpoint not in app.view_functions:
                        continue
                    with app.test_request_context():
                        url = url_for(endpoint, id=pk)
                    resp = client.get(url)
                    requests += 1
                    substitutions += 1
                    if resp.status_code == 200 or resp.status_code >= 500:
                        problems.append(f"tenant substitution: {role} GET {url} → "
                                        f"{resp.status_code}")
        assert substitutions > 0, "the data set gave no foreign row to substitute"
    # the walk really ran as this role: still signed in at the end
    home = {"anon": "/", "physician": "/physician/", "org_a": "/org/", "org_b": "/org/",
            "auditor": "/gov/", "sysadmin": "/gov/"}.get(role, "/gov/")
    assert client.get(home).status_code == 200, f"{role} lost the session during the walk"
    assert requests > 50
    assert not problems, "\n".join(problems)
