"""Forms of the physician site. They parse and cap lengths; the rules live in services/."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from .auth import REQUIRED


def _text(label, max_len, required=False):
    validators = [Length(max=max_len, message=f"最多{max_len}个字符。")]
    if required:
        validators.insert(0, DataRequired(REQUIRED))
    return StringField(label, validators=validators)


class RegisterStep1Form(FlaskForm):
    name = _text("您的姓名", 40)
    id_number = _text("身份证号", 24)
    captcha = StringField("验证码", validators=[DataRequired(REQUIRED), Length(max=8)])
    submit = SubmitField("确定，继续")


class RegisterStep2Form(FlaskForm):
    phone = _text("手机号码", 20)
    email = _text("电子邮箱", 128)
    username = _text("用户名称", 32)
    password = PasswordField("登录密码", validators=[Length(max=64)])
    confirm = PasswordField("确认密码", validators=[Length(max=64)])
    submit = SubmitField("确定，继续")


class IdentityForm(FlaskForm):
    name = _text("您的姓名", 40)
    id_number = _text("身份证号", 24)
    submit = SubmitField("保存并重新校验")


class PhoneForm(FlaskForm):
    phone = _text("我的手机", 20)
    code = _text("请填写手机校验码", 8)
    send = SubmitField("向手机发送校验码")
    submit = SubmitField("确定")


class EmailForm(FlaskForm):
    email = _text("我的邮箱", 128)
    code = _text("请填写邮箱校验码", 8)
    send = SubmitField("向邮箱发送校验码")
    submit = SubmitField("确定")


class ActivationCodeForm(FlaskForm):
    code = _text("请输入账户激活码", 32)
    submit = SubmitField("激活我的账户")


class QualificationActivationForm(FlaskForm):
    code = _text("请输入您的医师资格证书编码", 40)
    submit = SubmitField("激活我的账户")


class PasswordChangeForm(FlaskForm):
    old_password = PasswordField("原密码", validators=[Length(max=64)])
    password = PasswordField("新密码", validators=[Length(max=64)])
    confirm = PasswordField("确认密码", validators=[Length(max=64)])
    submit = SubmitField("确定")


class RecoverPhoneForm(FlaskForm):
    phone = _text("手机号码", 20)
    captcha = StringField("验证码", validators=[Length(max=8)])
    code = _text("手机校验码", 8)
    send = SubmitField("向手机发送校验码")
    submit = SubmitField("找回账户")


class RecoverEmailForm(FlaskForm):
    email = _text("电子邮箱", 128)
    captcha = StringField("验证码", validators=[Length(max=8)])
    code = _text("邮箱校验码", 8)
    send = SubmitField("向邮箱发送校验码")
    submit = SubmitField("找回账户")


class RecoverInfoForm(FlaskForm):
    name = _text("您的姓名", 40)
    id_number = _text("身份证号", 24)
    qualification_code = _text("资格证书编码", 40)
    phone = _text("注册时填写的手机号码", 20)
    captcha = StringField("验证码", validators=[DataRequired(REQUIRED), Length(max=8)])
    submit = SubmitField("找回账户")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("新密码", validators=[Length(max=64)])
    confirm = PasswordField("确认密码", validators=[Length(max=64)])
    submit = SubmitField("确定")


class ChangeRequestForm(FlaskForm):
    education_code = SelectField("学历", validate_choice=False)
    school = _text("毕业学校", 120)
    title_code = SelectField("任职资格", validate_choice=False)
    major = _text("所学专业", 80)
    submit = SubmitField("提交审核")


class PhotoForm(FlaskForm):
    photo = FileField("点击上传您的相片")
    submit = SubmitField("上传相片")


class DepartmentForm(FlaskForm):
    department_id = SelectField("请选择您所在的科室", validate_choice=False)
    submit = SubmitField("确认保存")


class QuestionForm(FlaskForm):
    title = _text("请输入问题标题", 120)
    body = TextAreaField("问题详细描述", validators=[Length(max=2000, message="最多2000个字。")])
    submit = SubmitField("提交")
