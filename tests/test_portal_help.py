"""P13 帮助中心: 热点问题 from the FAQ, 我要提问 / 我的提问 with replies; the demo FAQ."""
import sqlalchemy as sa

from models import db
from models.enums import FaqAudience
from models.messaging import FaqEntry, Question
from seed import demo_help
from services import support
from services import SYSTEM
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of


def test_demo_faq_is_loaded_once_with_real_answers(client, make):
    demo_help.load({})
    demo_help.load({})
    rows = db.session.scalars(sa.select(FaqEntry).where(
        FaqEntry.audience == FaqAudience.PHYSICIAN)).all()
    titles = [r.title for r in rows]
    assert len(rows) == 11 and len(set(titles)) == 11
    for t in ["如何完成账户激活", "如何打印业务申请表", "执业医师如何申请变更主执业机构",
              "助理医师如何申请变更主执业机构", "业务申请提交后多长时间能够办理完毕", "如何撤销业务申请",
              "助理升执业医师如何操作", "执业证书编码终身一号", "如何申请多执业机构备案",
              "如何取消多执业机构备案", "如何修改照片信息"]:
        assert t in titles
    timing = next(r for r in rows if r.title == "业务申请提交后多长时间能够办理完毕")
    assert "二十个工作日" in timing.answer and "第十三条" in timing.answer
    html = text_of(client.get("/physician/help/"))
    assert "热点问题" in html and "系统操作指南" in html and "我要提问" in html
    page = text_of(client.get(f"/physician/help/faq/{timing.id}"))
    assert "二十个工作日" in page


def test_help_link_in_header(client, make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    login_as(acct)
    assert 'href="/physician/help/"' in text_of(client.get("/physician/"))


def test_ask_question_and_see_reply(client, make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    login_as(acct)
    page = client.get("/physician/help/ask")
    html = text_of(page)
    assert "请输入问题标题" in html and "问题详细描述" in html
    r = client.post("/physician/help/ask", data={"csrf_token": csrf_token(html), "title": "",
                                                "body": "x"})
    assert "请输入问题标题" in text_of(r) and db.session.scalar(
        sa.select(sa.func.count()).select_from(Question)) == 0
    r = client.post("/physician/help/ask", data={"csrf_token": csrf_token(html),
                                                "title": "激活码收不到", "body": "机构说已生成"})
    assert r.status_code == 302
    q = db.session.scalar(sa.select(Question))
    assert q.asker_id == acct.id and q.authority_id == reg.authority_id
    html = text_of(client.get("/physician/help/questions"))
    assert "激活码收不到" in html and "未回复" in html
    support.answer_question(SYSTEM, q, "请在安全设置中验证邮箱后联系机构重新发送。")
    html = text_of(client.get(f"/physician/help/questions/{q.id}"))
    assert "请在安全设置中验证邮箱" in html
    assert "已回复" in text_of(client.get("/physician/help/questions"))


def test_faq_readable_before_login_but_asking_needs_login(client, make):
    assert client.get("/physician/help/").status_code == 200
    r = client.get("/physician/help/ask")
    assert r.status_code == 302 and "/physician/login" in r.headers["Location"]
