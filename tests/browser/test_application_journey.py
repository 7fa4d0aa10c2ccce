"""A physician applies for 变更 of the 主要执业机构 to a hospital in another province; the new
institution confirms and prints the form; its commission approves; the physician then appears
in the new institution's 主执业机构在本院医师 list, not in the old one's, with the same
执业证书编码."""
from models import db
from services.sessions import start_session
from tests import factories as f
from tests import factories_applications as fa
from tests.browser.waiting import page_text


def _sign_in(context, live_server, user):
    """A real server-side session for `user`, its token in the signed session cookie (the
    login forms themselves are covered by tests/test_auth.py)."""
    app = live_server.app
    with app.app_context():
        token = start_session(db.session.merge(user), "127.0.0.1", "playwright")
        db.session.commit()
        cookie = app.session_interface.get_signing_serializer(app).dumps(
            {"_user_id": token, "_fresh": True})
    context.clear_cookies()
    context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie,
                          "url": str(live_server)}])


def test_change_of_main_institution_journey(app, page, context, live_server):
    with app.app_context():
        w = fa.world()
        org_new = f.institution_admin(w.other_prov_inst)
        org_old = f.institution_admin(w.old_inst)
        reviewer = f.reviewer(w.beijing)
        name, cert = w.person.name, w.person.certificate_no
        new_name, acct = w.other_prov_inst.name, w.account

    # the physician applies
    _sign_in(context, live_server, acct)
    page.goto("/physician/applications/")
    page.get_by_role("link", name="点击进入：变更", exact=True).click()
    page.get_by_label("按名称查找医疗机构").fill("北京朝阳")
    page.get_by_role("button", name="查询").click()
    page.get_by_label("拟主要执业机构").select_option(label=f"{new_name}（{_region(app, w)}）")
    page.get_by_label("内科专业").check()
    page.get_by_label("提交本次业务的缘由").fill("工作调动")
    page.get_by_role("button", name="提交申请").click()
    assert "已提交" in page_text(page)

    # the new institution confirms and prints the form
    _sign_in(context, live_server, org_new)
    page.goto("/org/applications/")
    assert "本次查询共查到1条数据" in page_text(page)
    page.get_by_role("link", name="办理业务").click()
    body = page_text(page)
    assert "医师的执业信息" in body and "主要执业机构请求变更为" in body
    href = page.get_by_role("link", name="业务打印表单").get_attribute("href")
    pdf = page.request.get(href)
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.get_by_role("button", name="同意", exact=True).click()
    assert "已同意" in page_text(page)

    # its commission approves
    _sign_in(context, live_server, reviewer)
    page.goto("/gov/pending/")
    assert "剩余工作日" in page_text(page)
    page.get_by_role("link", name="审批", exact=True).click()
    page.get_by_role("button", name="批准", exact=True).click()
    assert "已批准" in page_text(page)

    # the register: new institution lists the physician, the old one does not
    _sign_in(context, live_server, org_new)
    page.goto("/org/main-physicians/")
    body = page_text(page)
    assert name in body and cert in body
    _sign_in(context, live_server, org_old)
    page.goto("/org/main-physicians/")
    assert name not in page_text(page)


def _region(app, w):
    with app.app_context():
        from models.institution import Institution
        return str(db.session.get(Institution, w.other_prov_inst.id).region)
