"""Demo rows of the commission console (C4, C5): a few questions waiting for an answer and
direct businesses. Idempotent: rows are matched by their title / name."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.enums import DirectBusinessKind, UserKind
from models.institution import Authority, Institution
from models.messaging import Question
from models.registry import DirectBusiness

QUESTIONS = [
    ("山西省卫生健康委员会", UserKind.PHYSICIAN, "王医师", "激活码一直没有收到怎么办",
     "医院说已经生成了激活码，但我的手机没有收到短信，请问怎么处理？", None),
    ("太原市卫生健康委员会", UserKind.CONSOLE, "太原市第一人民医院", "审批机关设置选错了如何修改",
     "我院口腔类别的审批机关设置错了，能否修改？", "可以。请在机构端“系统功能 > 审批机关设置”中重新选择，保存后对新提交的业务生效。"),
    ("山西省卫生健康委员会", UserKind.PHYSICIAN, "李医师", "外省注册的执业地点如何查看",
     "我在北京也有执业地点，在系统里哪里可以看到？", None),
]

BUSINESSES = [
    ("山西省卫生健康委员会", DirectBusinessKind.HMT_SHORT_TERM, "陈家明", "中国香港",
     "港澳居民来往内地通行证", "H10293847", "内科", 0, 180),
    ("山西省卫生健康委员会", DirectBusinessKind.FOREIGN_SHORT_TERM, "Anna Müller", "德国",
     "护照", "C01X00T47", "外科", 30, 365),
    ("山西省卫生健康委员会", DirectBusinessKind.HMT_QUALIFICATION, "林志伟", "中国台湾",
     "台湾居民来往大陆通行证", "T87654321", "", 0, 3650),
]


def _authority(name):
    return db.session.scalar(sa.select(Authority).where(Authority.name == name))


def load(info: dict) -> None:
    today = dt.date.today()
    for auth_name, kind, asker, title, body, reply in QUESTIONS:
        auth = _authority(auth_name)
        if auth is None or db.session.scalar(sa.select(Question.id).where(Question.title == title)):
            continue
        db.session.add(Question(asker_kind=kind, asker_id=0, asker_name=asker,
                                authority_id=auth.id, title=title, body=body, reply=reply,
                                replied_at=dt.datetime.utcnow() if reply else None))
    for auth_name, kind, name, nat, doc, doc_no, scope, start, days in BUSINESSES:
        auth = _authority(auth_name)
        if auth is None or db.session.scalar(
                sa.select(DirectBusiness.id).where(DirectBusiness.name == name)):
            continue
        inst = db.session.scalar(sa.select(Institution).where(
            Institution.region_code.like(auth.region_code[:2] + "%")).order_by(Institution.id))
        row = DirectBusiness(kind=kind, name=name, nationality=nat, document_type=doc,
                             institution_id=inst.id if inst else None, scope=scope,
                             valid_from=today + dt.timedelta(days=start),
                             valid_to=today + dt.timedelta(days=start + days),
                             authority_id=auth.id)
        row.id_number = doc_no
        db.session.add(row)
    db.session.commit()
