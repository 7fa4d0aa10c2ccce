"""Console accounts issued by commissions: institutions and their administrator account (C1),
and the commission's own accounts (C8). Credentials are generated here and sent only by SMS
to the reserved phone; they are never written to the audit log."""
import secrets
import string

import sqlalchemy as sa

from models import db
from models.account import ConsoleUser
from models.enums import AuthorityLevel, ConsoleRole, PhysicianCategory, RegionLevel
from models.institution import Authority, Institution, InstitutionAuthority, utcnow
from models.reference import Region

from . import Actor, DomainError, audit
from .messaging import queue_sms
from .registry import NAME_RE, PHONE_RE, code_in, prefix_of
from .security import hash_password
from .sessions import end_user_sessions

# letters and digits without look-alikes (0/O, 1/l/I …)
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyzACDEFGHJKMNPQRTUVWXY"
PASSWORD_DIGITS = "346789"
COMMISSION_ROLES = (ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR)
SMS_SIGN = "【医师电子化注册】"


def generate_password(length: int = 10) -> str:
    """Random letters and digits, both guaranteed (console rule: 8–16 letters and digits)."""
    alphabet = PASSWORD_LETTERS + PASSWORD_DIGITS
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c in string.ascii_letters for c in pw) and any(c.isdigit() for c in pw):
            return pw


def generate_username(prefix: str = "org") -> str:
    """prefix + 6 random digits, unique among console users."""
    for _ in range(50):
        name = prefix + "".join(secrets.choice(string.digits) for _ in range(6))
        if not db.session.scalar(sa.select(ConsoleUser.id).where(
                ConsoleUser.username_key == name.lower())):
            return name
    raise DomainError("暂时无法生成用户名，请稍后再试。")


def _authority(actor: Actor) -> Authority:
    authority = db.session.get(Authority, actor.authority_id) if actor.authority_id else None
    if authority is None or not authority.active:
        raise DomainError("当前账户不属于有效的审批机关。")
    return authority


def _tcm_bureau(authority: Authority) -> Authority | None:
    """The TCM bureau of the same region, else the province's."""
    for region in (authority.region_code, authority.region_code[:2] + "0000"):
        bureau = db.session.scalar(sa.select(Authority).where(
            Authority.is_tcm.is_(True), Authority.active.is_(True),
            Authority.region_code == region).order_by(Authority.id).limit(1))
        if bureau is not None:
            return bureau
    return None


def _credentials_sms(phone: str, institution_name: str, username: str, password: str,
                     reset: bool = False) -> None:
    what = "密码已重置" if reset else "账户已开通"
    queue_sms(phone, f"{SMS_SIGN}{institution_name}机构端{what}。用户名：{username}，"
                     f"初始密码：{password}。请登录后立即修改密码，勿将密码告知他人。")


def validate_institution(authority: Authority, *, name, license_no, region_code, address,
                         responsible_person, reserved_phone, exclude_id=None) -> dict:
    name = (name or "").strip()
    license_no = (license_no or "").strip()
    address = (address or "").strip()
    responsible_person = (responsible_person or "").strip()
    reserved_phone = (reserved_phone or "").strip()
    if not name:
        raise DomainError("请输入机构标准名称。", field="name")
    if len(name) > 100:
        raise DomainError("机构标准名称不能超过100个字。", field="name")
    if not license_no:
        raise DomainError("请输入执业许可证登记号。", field="license_no")
    if len(license_no) > 64 or not all(c.isalnum() or c in "-" for c in license_no):
        raise DomainError("执业许可证登记号只能由字母、数字和“-”组成，不超过64位。",
                          field="license_no")
    q = sa.select(Institution.id).where(Institution.license_no == license_no)
    if exclude_id:
        q = q.where(Institution.id != exclude_id)
    if db.session.scalar(q):
        raise DomainError("该执业许可证登记号已被其他医疗机构使用。", field="license_no")
    region = db.session.get(Region, region_code or "")
    if region is None or region.level != RegionLevel.COUNTY:
        raise DomainError("请选择机构所在的区县。", field="region_code")
    if not code_in(prefix_of(authority), region.code):
        raise DomainError("所在地区不在本审批机关的管辖范围内。", field="region_code")
    if not address:
        raise DomainError("请输入地址。", field="address")
    if len(address) > 200:
        raise DomainError("地址不能超过200个字。", field="address")
    if not NAME_RE.match(responsible_person):
        raise DomainError("负责人姓名只能由汉字和“·”组成，2至30个字。", field="responsible_person")
    if not PHONE_RE.match(reserved_phone):
        raise DomainError("请输入正确的11位手机号码。", field="reserved_phone")
    return {"name": name, "license_no": license_no, "region_code": region.code,
            "address": address, "responsible_person": responsible_person,
            "reserved_phone": reserved_phone}


def create_institution(actor: Actor, **fields) -> tuple[Institution, ConsoleUser]:
    """Create an institution licensed by the actor's commission, its administrator account,
    its default 审批机关 per 类别, and send the credentials to the reserved phone."""
    authority = _authority(actor)
    data = validate_institution(authority, **fields)
    inst = Institution(licensing_authority_id=authority.id, active=True, **data)
    db.session.add(inst)
    db.session.flush()
    tcm = _tcm_bureau(authority)
    for cat in PhysicianCategory:
        approver = tcm if (cat == PhysicianCategory.TCM and tcm is not None) else authority
        db.session.add(InstitutionAuthority(institution_id=inst.id, category=cat,
                                            authority_id=approver.id))
    username = generate_username("org")
    password = generate_password()
    user = ConsoleUser(username=username, display_name=inst.name[:64],
                       password_hash=hash_password(password),
                       role=ConsoleRole.INSTITUTION_ADMIN, institution_id=inst.id,
                       phone=data["reserved_phone"], must_change_password=True, active=True)
    db.session.add(user)
    db.session.flush()
    _credentials_sms(data["reserved_phone"], inst.name, username, password)
    audit.record(actor, "institution_created", inst, institution_id=inst.id,
                 after={**data, "username": username, "licensing_authority": authority.name})
    db.session.commit()
    return inst, user


def update_institution(actor: Actor, inst: Institution, **fields) -> Institution:
    authority = _authority(actor)
    data = validate_institution(authority, exclude_id=inst.id, **fields)
    before = {k: getattr(inst, k) for k in data}
    changed = {k: v for k, v in data.items() if before[k] != v}
    if not changed:
        raise DomainError("没有需要修改的内容。")
    for k, v in changed.items():
        setattr(inst, k, v)
    if "reserved_phone" in changed:
        for user in _institution_users(inst):
            user.phone = changed["reserved_phone"]
    audit.record(actor, "institution_updated", inst, institution_id=inst.id,
                 before={k: before[k] for k in changed}, after=changed)
    db.session.commit()
    return inst


def _institution_users(inst: Institution) -> list[ConsoleUser]:
    return list(db.session.scalars(sa.select(ConsoleUser).where(
        ConsoleUser.institution_id == inst.id,
        ConsoleUser.role == ConsoleRole.INSTITUTION_ADMIN).order_by(ConsoleUser.id)))


def reset_institution_password(actor: Actor, inst: Institution) -> ConsoleUser:
    users = _institution_users(inst)
    if not users:
        raise DomainError("该机构尚无机构端账户。")
    user = users[0]
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    user.phone = inst.reserved_phone or user.phone
    end_user_sessions(user)
    _credentials_sms(user.phone, inst.name, user.username, password, reset=True)
    audit.record(actor, "institution_password_reset", user, institution_id=inst.id,
                 detail=f"重置机构端账户 {user.username} 的密码")
    db.session.commit()
    return user


def set_institution_active(actor: Actor, inst: Institution, active: bool) -> Institution:
    if inst.active == active:
        raise DomainError("该机构已启用。" if active else "该机构已停用。")
    inst.active = active
    for user in _institution_users(inst):
        user.active = active
        if not active:
            end_user_sessions(user)
    audit.record(actor, "institution_enabled" if active else "institution_disabled", inst,
                 institution_id=inst.id, before={"active": not active}, after={"active": active})
    db.session.commit()
    return inst


# ---- C8 commission accounts ------------------------------------------------------------

def authority_visible(sysadmin_authority: Authority, target: Authority) -> bool:
    """A system administrator manages its own authority and the ones below it."""
    prefix = prefix_of(sysadmin_authority)
    if sysadmin_authority.level == AuthorityLevel.NATIONAL:
        return True
    return target.level != AuthorityLevel.NATIONAL and code_in(prefix, target.region_code)


def create_commission_account(actor: Actor, *, display_name, role: ConsoleRole,
                              authority_id, phone) -> ConsoleUser:
    own = _authority(actor)
    display_name = (display_name or "").strip()
    phone = (phone or "").strip()
    if not display_name or len(display_name) > 64:
        raise DomainError("请输入姓名（不超过64个字）。", field="display_name")
    if role not in COMMISSION_ROLES:
        raise DomainError("请选择账户角色。", field="role")
    target = db.session.get(Authority, authority_id) if authority_id else None
    if target is None or not target.active or not authority_visible(own, target):
        raise DomainError("请选择本机关或下级审批机关。", field="authority_id")
    if not PHONE_RE.match(phone):
        raise DomainError("请输入正确的11位手机号码。", field="phone")
    username = generate_username("gov")
    password = generate_password()
    user = ConsoleUser(username=username, display_name=display_name,
                       password_hash=hash_password(password), role=role,
                       authority_id=target.id, phone=phone, must_change_password=True)
    db.session.add(user)
    db.session.flush()
    queue_sms(phone, f"{SMS_SIGN}{target.name}审批端账户已开通（{role.label}）。用户名：{username}，"
                     f"初始密码：{password}。请登录后立即修改密码。")
    audit.record(actor, "console_account_created", user, authority_id=target.id,
                 after={"username": username, "role": role.label, "authority": target.name,
                        "display_name": display_name})
    db.session.commit()
    return user


def reset_commission_password(actor: Actor, user: ConsoleUser) -> ConsoleUser:
    if user.role not in COMMISSION_ROLES:
        raise DomainError("只能重置审批端账户的密码。")
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    end_user_sessions(user)
    queue_sms(user.phone, f"{SMS_SIGN}您的审批端账户 {user.username} 密码已重置，新密码：{password}。"
                          "请登录后立即修改密码。")
    audit.record(actor, "console_password_reset", user, authority_id=user.authority_id,
                 detail=f"重置审批端账户 {user.username} 的密码")
    db.session.commit()
    return user


def set_commission_account_active(actor: Actor, user: ConsoleUser, active: bool) -> ConsoleUser:
    if user.role not in COMMISSION_ROLES:
        raise DomainError("只能管理审批端账户。")
    if user.id == actor.id and not active:
        raise DomainError("不能停用自己的账户。")
    if user.active == active:
        raise DomainError("该账户已启用。" if active else "该账户已停用。")
    user.active = active
    if not active:
        end_user_sessions(user)
    audit.record(actor, "console_account_enabled" if active else "console_account_disabled",
                 user, authority_id=user.authority_id, before={"active": not active},
                 after={"active": active})
    db.session.commit()
    return user
