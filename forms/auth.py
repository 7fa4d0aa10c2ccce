from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

REQUIRED = "此项为必填项。"


class PhysicianLoginForm(FlaskForm):
    login_name = StringField("用户名/手机号码/资格证书编码",
                             validators=[DataRequired(REQUIRED), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(REQUIRED), Length(max=64)])
    captcha = StringField("验证码", validators=[DataRequired(REQUIRED), Length(max=8)])
    submit = SubmitField("登录")


class ConsoleLoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(REQUIRED), Length(max=32)])
    password = PasswordField("密码", validators=[DataRequired(REQUIRED), Length(max=64)])
    captcha = StringField("验证码", validators=[DataRequired(REQUIRED), Length(max=8)])
    remember_username = BooleanField("记住用户名")
    submit = SubmitField("登录")


class LoginCodeForm(FlaskForm):
    code = StringField("短信校验码", validators=[DataRequired(REQUIRED), Length(min=6, max=6,
                       message="请输入6位数字校验码。")])
    submit = SubmitField("确定")
