"""services.accounts rules: 姓名, 身份证号 (GB 11643 via python-stdnum), user name, password,
and the single-use activation code."""
import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st
from stdnum.cn import ric

from models.enums import AccountState, UserKind
from services import Actor, DomainError, accounts
from tests import factories as f
from tests import factories_portal as fp


def _id(base17):
    return base17 + ric.calc_check_digit(base17 + "0")


def test_id_number_accepts_what_stdnum_accepts():
    x = next(_id(f"11010519800101{i:03d}") for i in range(1000)
             if _id(f"11010519800101{i:03d}").endswith("X"))
    assert accounts.check_id_number(x.lower()) == x
    assert accounts.check_id_number(" " + x + " ") == x
    for bad in [_id("11010519800230001"),  # 30 February
                _id("99999919800101001"),  # no such area
                _id("11010530000101001")]:  # born in the future / invalid
        with pytest.raises(DomainError) as exc:
            accounts.check_id_number(bad)
        assert exc.value.field == "id_number"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=24))
def test_id_number_never_crashes_and_matches_stdnum(value):
    try:
        out = accounts.check_id_number(value)
    except DomainError as exc:
        assert exc.message and exc.field == "id_number"
    else:
        assert ric.is_valid(out) and len(out) == 18


@pytest.mark.parametrize("name,ok", [("张三", True), ("阿依古丽·买买提", True), ("欧阳娜娜", True),
                                     ("张", False), ("Zhang San", False), ("张三1", False),
                                     ("·张三", False), ("张三·", False), ("张" * 31, False),
                                     ("张　三", False), ("<b>张三</b>", False)])
def test_names(name, ok):
    if ok:
        assert accounts.check_name(name) == name
    else:
        with pytest.raises(DomainError):
            accounts.check_name(name)


def test_common_password_list_is_bundled():
    common = accounts.common_passwords()
    assert len(common) > 100 and "abc123" in common and "woaini1314" in common
    for p in common:
        assert p == p.lower()


def test_username_is_not_allowed_as_password(app_ctx):
    with pytest.raises(DomainError) as exc:
        accounts.check_password("Zhang2026", "Zhang2026", username="zhang2026")
    assert "常见" in exc.value.message


def test_activation_code_is_single_use(make):
    inst, person, reg = fp.registry_physician()
    a1 = fp.account_for(person, institution=inst)
    code = fp.activation_code(a1)
    actor = Actor(UserKind.PHYSICIAN, a1.id, "t", "127.0.0.1")
    accounts.activate_with_code(actor, a1, code.code)
    from models import db
    from models.account import ActivationCode, PhysicianAccount
    db.session.expire_all()
    assert db.session.get(PhysicianAccount, a1.id).state == AccountState.ACTIVATED
    assert db.session.get(ActivationCode, code.id).used_at is not None
    a1 = db.session.get(PhysicianAccount, a1.id)
    with pytest.raises(DomainError) as exc:
        accounts.activate_with_code(actor, a1, code.code)
    assert "已激活" in exc.value.message
