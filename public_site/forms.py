"""Search forms of the public lookup (GET forms: nothing is changed, so no CSRF token)."""
import re

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

REQUIRED = "此项为必填项。"
NAME_RE = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·]{2,30}$")


class _GetForm(FlaskForm):
    class Meta:
        csrf = False
        locales = ["zh_CN", "zh"]


def _name(form, field):
    value = (field.data or "").strip()
    field.data = value
    if value and not NAME_RE.match(value):
        raise ValidationError("请输入医师的完整中文姓名（2–30个汉字，可含“·”）。")


class PhysicianSearchForm(_GetForm):
    name = StringField("医师姓名", validators=[DataRequired(REQUIRED), _name])
    province = SelectField("执业地点（省份）", validators=[DataRequired("请选择省份。")],
                           validate_choice=False)
    institution = StringField("主要执业机构", validators=[Optional(), Length(
        min=2, max=64, message="机构名称请输入2–64个字。")])
    captcha = StringField("验证码", validators=[Optional(), Length(max=8)])


class CertificateSearchForm(_GetForm):
    certificate_no = StringField("执业证书编码", validators=[
        DataRequired(REQUIRED),
        Regexp(r"^\s*[0-9A-Za-z]{6,32}\s*$", message="执业证书编码为6–32位数字或字母。")])
    captcha = StringField("验证码", validators=[Optional(), Length(max=8)])


class InstitutionSearchForm(_GetForm):
    name = StringField("机构名称", validators=[DataRequired(REQUIRED), Length(
        min=2, max=64, message="请输入机构名称的前2–64个字。")])
    province = SelectField("所在省份", validators=[Optional()], validate_choice=False)
    captcha = StringField("验证码", validators=[Optional(), Length(max=8)])
