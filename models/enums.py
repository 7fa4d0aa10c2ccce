"""Enumerations of the registry, each member carrying its Chinese display name (`.label`)."""
import enum

import sqlalchemy as sa


class LabeledEnum(enum.Enum):
    """value = stable code stored in the database; label = the word users see."""

    def __new__(cls, value, label):
        obj = object.__new__(cls)
        obj._value_ = value
        obj.label = label
        return obj

    def __str__(self):
        return self.label

    @classmethod
    def choices(cls):
        return [(m.value, m.label) for m in cls]

    @classmethod
    def coerce(cls, value):
        if isinstance(value, cls) or value is None:
            return value
        return cls(value)


def enum_column(enum_cls, **kw):
    """A portable string column holding the enum's value (not its name)."""
    return sa.Enum(enum_cls, native_enum=False, length=24,
                   values_callable=lambda e: [m.value for m in e],
                   validate_strings=True, create_constraint=False, **kw)


class PhysicianLevel(LabeledEnum):  # 医师级别
    PHYSICIAN = ("1", "执业医师")
    ASSISTANT = ("2", "执业助理医师")


class PhysicianCategory(LabeledEnum):  # 医师类别
    CLINICAL = ("1", "临床")
    DENTAL = ("2", "口腔")
    PUBLIC_HEALTH = ("3", "公共卫生")
    TCM = ("4", "中医")

    @property
    def short_label(self):
        return "公卫" if self is PhysicianCategory.PUBLIC_HEALTH else self.label


class QualificationKind(LabeledEnum):  # 资格取得方式
    OLD_RULES = ("old", "老人老办法")  # recognised before the 1999 law
    NATIONAL_EXAM = ("new", "新人新办法")
    MILITARY = ("military", "军队")


class Gender(LabeledEnum):
    MALE = ("1", "男")
    FEMALE = ("2", "女")


class RegistrationStatus(LabeledEnum):  # 注册状态
    VALID = ("valid", "有效")
    TRANSFERRED_OUT = ("out", "变更出(区内到区外)")
    FILED = ("filed", "注册备案")
    CANCELLED = ("cancelled", "注销")
    INVALID = ("invalid", "失效")


class FilingStatus(LabeledEnum):  # 多执业机构备案状态
    VALID = ("valid", "有效")
    CANCELLED = ("cancelled", "已取消")


class AssessmentResult(LabeledEnum):  # 定期考核结果
    PASSED = ("pass", "合格")
    BASIC_PASS = ("basic", "基本合格")
    FAILED = ("fail", "不合格")
    ABSENT = ("absent", "未参加")


class CreditKind(LabeledEnum):  # 信用记录类别
    PENALTY = ("penalty", "行政处罚")
    BAD_CONDUCT = ("conduct", "不良执业行为")
    COMMENDATION = ("honour", "表彰奖励")


class AuthorityLevel(LabeledEnum):
    NATIONAL = ("national", "国家级")
    PROVINCIAL = ("province", "省级")
    MUNICIPAL = ("city", "市级")
    COUNTY = ("county", "县级")


class RegionLevel(LabeledEnum):
    PROVINCE = ("province", "省级")
    CITY = ("city", "市级")
    COUNTY = ("county", "县级")


class AccountState(LabeledEnum):  # 医师账户状态
    REGISTERED = ("registered", "未通过验证")  # registered, nothing found in the register
    VERIFIED = ("verified", "已验证未激活")
    ACTIVATED = ("activated", "已激活")
    REVOKED = ("revoked", "已撤销")
    DISABLED = ("disabled", "已停用")


class VerificationOutcome(LabeledEnum):  # 资格验证结果
    IN_REGISTER = ("in_register", "在册医师")
    SELF_ACTIVATE = ("self_activate", "有资格无有效注册")
    NOT_FOUND = ("not_found", "未查询到医师资格信息")
    NON_ELECTRONIC = ("non_electronic_province", "未实施电子化注册地区")


class ActivationMethod(LabeledEnum):
    INSTITUTION_CODE = ("code", "激活码激活")
    QUALIFICATION_CODE = ("qualification", "资格证书编码激活")
    APPROVAL = ("approval", "业务审批自动激活")


class ConsoleRole(LabeledEnum):  # 后台账户角色
    INSTITUTION_ADMIN = ("institution", "医疗机构管理员")
    REVIEWER = ("reviewer", "审批人员")
    SYSADMIN = ("sysadmin", "系统管理员")
    AUDITOR = ("auditor", "审计人员")


class ReviewStatus(LabeledEnum):  # 信息修改审核状态
    PENDING = ("pending", "待审核")
    APPROVED = ("approved", "审核通过")
    REJECTED = ("rejected", "审核不通过")
    SUPERSEDED = ("superseded", "已被替换")


class ApplicationType(LabeledEnum):  # 业务类型
    REGISTRATION = ("B1", "注册")
    ASSISTANT_UPGRADE = ("B2", "助理医师升执业医师")
    MILITARY_IN = ("B3", "军队变更入")
    TO_MILITARY = ("B4", "变更到军队")
    CHANGE = ("B5", "变更")
    CANCELLATION = ("B6", "注销")
    MULTI_FILING = ("B7", "多执业机构备案")
    MULTI_FILING_CANCEL = ("B8", "多执业机构取消备案")
    LEGACY_SITE_CANCEL = ("B9", "取消多地点执业")
    REGISTRATION_FILING = ("B10", "注册备案")
    INSTITUTION_RENAME = ("B11", "机构更名变更")
    CERTIFICATE_REISSUE = ("B12", "证书补办")


class ApplicationStatus(LabeledEnum):  # 业务状态
    SUBMITTED = ("submitted", "已提交")
    INSTITUTION_REJECTED = ("inst_rejected", "机构不同意")
    PENDING_APPROVAL = ("pending", "待审批")  # 机构同意, waiting for the authority
    APPROVED = ("approved", "已批准")
    REJECTED = ("rejected", "不予批准")
    WITHDRAWN = ("withdrawn", "已撤回")


OPEN_APPLICATION_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.PENDING_APPROVAL)


class MessageChannel(LabeledEnum):
    SMS = ("sms", "短信")
    EMAIL = ("email", "电子邮件")


class MessageStatus(LabeledEnum):
    PENDING = ("pending", "待发送")
    SENT = ("sent", "已发送")
    FAILED = ("failed", "发送失败")


class CodePurpose(LabeledEnum):  # 校验码用途
    VERIFY_PHONE = ("phone", "验证手机")
    VERIFY_EMAIL = ("email", "验证邮箱")
    RECOVER = ("recover", "找回账户")
    CONSOLE_LOGIN = ("console_login", "后台登录")


class FaqAudience(LabeledEnum):
    PHYSICIAN = ("physician", "热点问题")
    INSTITUTION = ("institution", "常见问题")


class DirectBusinessKind(LabeledEnum):  # 直接办理业务
    HMT_QUALIFICATION = ("hmt_qual", "港澳台医师内地资格认定")
    HMT_SHORT_TERM = ("hmt_short", "港澳台医师内地短期行医")
    FOREIGN_SHORT_TERM = ("foreign_short", "外国医师内地短期行医")


class UserKind(LabeledEnum):
    PHYSICIAN = ("physician", "医师")
    CONSOLE = ("console", "后台用户")
    SYSTEM = ("system", "系统")
