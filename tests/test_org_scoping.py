"""The tenant-scoped Flask-Admin pattern (list, count, get_one) on /org/ and /gov/."""
import re

from tests.helpers import text_of


def test_org_list_shows_only_own_physicians(client, make, login_as):
    mine = make.institution(name="本院医院")
    other = make.institution(name="外院医院")
    own = [make.registered_physician(mine)[0] for _ in range(3)]
    foreign = [make.registered_physician(other)[0] for _ in range(2)]
    login_as(make.institution_admin(mine))
    page = text_of(client.get("/org/main-physicians/"))
    for p in own:
        assert p.name in page
    for p in foreign:
        assert p.name not in page
    assert "本次查询共查到3条数据" in page
    for label in ["姓名", "性别", "年龄", "医师类别", "医师级别", "执业范围", "执业证书编码", "所在科室",
                  "医师账户状态"]:
        assert label in page


def test_org_detail_of_another_institutions_row_is_not_found(client, make, login_as):
    mine = make.institution()
    other = make.institution()
    _, own_reg = make.registered_physician(mine)
    _, foreign_reg = make.registered_physician(other)
    login_as(make.institution_admin(mine))
    ok = client.get(f"/org/main-physicians/details/?id={own_reg.id}")
    assert ok.status_code == 200
    assert own_reg.person.id_number_masked in text_of(ok)
    assert own_reg.person.id_number not in text_of(ok)  # masked, never the full number
    r = client.get(f"/org/main-physicians/details/?id={foreign_reg.id}")
    # Flask-Admin redirects back to the list with "记录不存在" when get_one returns None
    assert r.status_code in (302, 404)
    if r.status_code == 302:
        follow = text_of(client.get(r.headers["Location"]))
        assert foreign_reg.person.name not in follow
    for bad in ["abc", "-1", "1 OR 1=1", ""]:
        assert client.get("/org/main-physicians/details/", query_string={"id": bad}).status_code \
            in (302, 404)


def test_gov_institutions_are_limited_to_the_jurisdiction(client, make, login_as):
    from models.enums import AuthorityLevel
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    in_city = make.institution(name="太原城区医院", region_code="140105", authority_obj=taiyuan)
    other_city = make.institution(name="大同城区医院", region_code="140213", authority_obj=shanxi)
    beijing = make.institution(name="北京朝阳某医院", region_code="110105")
    login_as(make.reviewer(taiyuan))
    page = text_of(client.get("/gov/institutions/"))
    assert in_city.name in page
    assert other_city.name not in page and beijing.name not in page
    assert re.search(r"本次查询共查到1条数据", page)
    assert client.get(f"/gov/institutions/details/?id={beijing.id}").status_code in (302, 404)
    # the provincial commission sees both Shanxi institutions, not Beijing's
    other_client = client.application.test_client()
    login_as(make.reviewer(shanxi), other_client)
    page = text_of(other_client.get("/gov/institutions/"))
    assert in_city.name in page and other_city.name in page and beijing.name not in page
