"""Help centre and customer service (P13, I17, C5): questions, replies and the FAQ lists."""
import sqlalchemy as sa

from models import db
from models.enums import FaqAudience, UserKind
from models.institution import utcnow
from models.messaging import FaqEntry, Question

from . import Actor, DomainError, audit


def faq(audience: FaqAudience, published_only: bool = True) -> list[FaqEntry]:
    q = sa.select(FaqEntry).where(FaqEntry.audience == audience)
    if published_only:
        q = q.where(FaqEntry.published.is_(True))
    return list(db.session.scalars(q.order_by(FaqEntry.sort, FaqEntry.id)))


def ask_question(actor: Actor, title: str, body: str, authority_id: int | None) -> Question:
    """我要提问 / 向客服提问; `authority_id` is who answers (the asker's commission)."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise DomainError("请输入问题标题。", field="title")
    if len(title) > 100:
        raise DomainError("问题标题不能超过100个字。", field="title")
    if not body:
        raise DomainError("请输入问题详细描述。", field="body")
    if len(body) > 2000:
        raise DomainError("问题详细描述不能超过2000个字。", field="body")
    q = Question(asker_kind=actor.kind, asker_id=actor.id, asker_name=actor.name[:128],
                 authority_id=authority_id, title=title, body=body)
    db.session.add(q)
    db.session.flush()
    audit.record(actor, "question_asked", q, after={"title": title})
    db.session.commit()
    return q


def questions_of(kind: UserKind, asker_id: int) -> list[Question]:
    return list(db.session.scalars(
        sa.select(Question).where(Question.asker_kind == kind, Question.asker_id == asker_id,
                                  Question.hidden_by_asker.is_(False))
        .order_by(Question.created_at.desc())))


def answer_question(actor: Actor, question: Question, reply: str) -> Question:
    reply = (reply or "").strip()
    if not reply:
        raise DomainError("请输入回复内容。", field="reply")
    before = {"reply": question.reply}
    question.reply = reply
    question.replied_at = utcnow()
    question.replied_by_id = actor.id
    audit.record(actor, "question_answered", question, before=before, after={"reply": reply})
    db.session.commit()
    return question


def hide_question(actor: Actor, question: Question) -> None:
    """The asker removes a question from their own list (客服回复管理 删除)."""
    if question.asker_kind != actor.kind or question.asker_id != actor.id:
        raise DomainError("只能删除自己提出的问题。")
    question.hidden_by_asker = True
    audit.record(actor, "question_hidden", question)
    db.session.commit()
