"""/fhir/ read-only FHIR R4 API (X6). Every returned resource is validated against the FHIR
model of fhir.resources (R4B, wire-compatible with R4 for these resources), Bundle entries
one by one included; no field beyond the public set is returned."""
import datetime as dt
import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from models.enums import Gender, PhysicianCategory, PhysicianLevel, RegistrationStatus
from services.fhir_mapping import CERTIFICATE_SYSTEM, LICENSE_SYSTEM
from tests.helpers import text_of

CERT = "110140000054321"


def fhir_json(resp, status=200):
    assert resp.status_code == status, text_of(resp)
    assert resp.headers["Content-Type"].startswith("application/fhir+json")
    data = json.loads(resp.get_data(as_text=True))
    validate(data)
    return data


def validate(data):
    """Validate a resource (and every Bundle entry) with the FHIR model classes."""
    model = get_fhir_model_class(data["resourceType"])
    model.model_validate(data)
    for entry in data.get("entry", []):
        validate(entry["resource"])


@pytest.fixture()
def world(make):
    auth = make.authority(name="山西省卫生健康委员会", region_code="140000")
    inst = make.institution(name="山西医科大学第一医院", region_code="140106",
                            authority_obj=auth)
    p = make.person(name="王建国", gender=Gender.MALE, birth=dt.date(1976, 2, 29),
                    certificate_no=CERT)
    reg = make.registration(p, inst, scope_codes=("11",), approved_on=dt.date(2016, 4, 8))
    acct = make.physician_account(p, phone="13812345678")
    return {"inst": inst, "person": p, "reg": reg, "acct": acct, "auth": auth}


def _private_values(w):
    p, reg = w["person"], w["reg"]
    return [p.id_number, p.id_number_masked, w["acct"].phone, "138****5678", "1976-02-29",
            "19760229", reg.qualification.code, CERT, w["inst"].reserved_phone, "张主任",
            "birthDate", "telecom"]


def test_practitioner_read_maps_public_fields(client, world):
    p = world["person"]
    data = fhir_json(client.get(f"/fhir/Practitioner/{p.id}"))
    assert data["id"] == str(p.id)
    assert data["name"] == [{"use": "official", "text": "王建国", "family": "王",
                             "given": ["建国"]}]
    assert data["gender"] == "male" and data["active"] is True
    assert data["identifier"][0]["system"] == CERTIFICATE_SYSTEM
    assert data["identifier"][0]["value"] == "1101********321"
    [qual] = data["qualification"]
    assert qual["code"]["text"] == "临床 执业医师"
    assert qual["period"]["start"] == "2016-04-08"
    assert qual["issuer"]["display"] == "山西省卫生健康委员会"
    body = json.dumps(data, ensure_ascii=False)
    for secret in _private_values(world):
        assert secret not in body, secret


def test_practitioner_with_only_cancelled_registration_is_inactive(client, make, world):
    p = make.person(name="欧阳明月")
    make.registration(p, world["inst"], status=RegistrationStatus.CANCELLED)
    data = fhir_json(client.get(f"/fhir/Practitioner/{p.id}"))
    assert data["active"] is False and "qualification" not in data
    assert data["name"] == [{"use": "official", "text": "欧阳明月"}]


def test_unpublished_persons_and_bad_ids_are_operation_outcomes(client, make, world):
    filed = make.person(name="李秀英")
    make.registration(filed, world["inst"], status=RegistrationStatus.FILED)
    only_qualified = make.person(name="张伟")
    make.qualification(only_qualified)
    for pid in (filed.id, only_qualified.id, 999999):
        data = fhir_json(client.get(f"/fhir/Practitioner/{pid}"), 404)
        assert data["resourceType"] == "OperationOutcome"
        assert data["issue"][0]["code"] == "not-found" and "未找到" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/Practitioner/abc"), 400)
    assert "id 无效" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/Patient/1"), 404)
    assert "不支持的资源" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/Practitioner?birthdate=1976-02-29"), 400)
    assert "不支持的查询参数" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/Practitioner"), 400)
    assert "请至少提供一个查询条件" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/Practitioner?name=王&_count=500"), 400)
    assert "_count" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.post("/fhir/Practitioner", json={"resourceType": "Practitioner"}),
                     405)
    assert "只读" in data["issue"][0]["diagnostics"]
    data = fhir_json(client.get("/fhir/metadata?_format=xml"), 406)


def test_search_by_identifier_with_or_without_system(client, world):
    p = world["person"]
    for value in (CERT, f"{CERTIFICATE_SYSTEM}|{CERT}", f"|{CERT}"):
        data = fhir_json(client.get("/fhir/Practitioner", query_string={"identifier": value}))
        assert data["type"] == "searchset" and data["total"] == 1
        assert [e["resource"]["id"] for e in data["entry"]] == [str(p.id)]
        assert data["entry"][0]["fullUrl"].endswith(f"/fhir/Practitioner/{p.id}")
        assert data["link"][0]["relation"] == "self"
    data = fhir_json(client.get("/fhir/Practitioner", query_string={"identifier": "1101400"}))
    assert data.get("entry", []) == [] and data["total"] == 0
    data = fhir_json(client.get("/fhir/Practitioner",
                                query_string={"identifier": f"urn:other|{CERT}"}), 400)
    assert "标识符体系" in data["issue"][0]["diagnostics"]


def test_search_by_name_prefix_pages_with_next_link(client, make, world):
    inst = world["inst"]
    for i in range(3):
        make.registration(make.person(name=f"王{'伟芳娜'[i]}"), inst)
    make.registration(make.person(name="李王"), inst)
    data = fhir_json(client.get("/fhir/Practitioner?name=王&_count=2"))
    assert len(data["entry"]) == 2 and "total" not in data
    links = {l["relation"]: l["url"] for l in data["link"]}
    assert "_page=2" in links["next"] and "name=" in links["next"]
    seen = [e["resource"]["name"][0]["text"] for e in data["entry"]]
    nxt = links["next"].split("/fhir/", 1)[1]
    data2 = fhir_json(client.get("/fhir/" + nxt))
    seen += [e["resource"]["name"][0]["text"] for e in data2["entry"]]
    assert sorted(seen) == sorted(["王伟", "王芳", "王娜", "王建国"])
    assert "next" not in {l["relation"] for l in data2["link"]}
    data = fhir_json(client.get("/fhir/Practitioner?name=王建国"))
    assert [e["resource"]["id"] for e in data["entry"]] == [str(world["person"].id)]


def test_practitioner_role_read_and_search_by_organization(client, make, world):
    reg, inst, p = world["reg"], world["inst"], world["person"]
    data = fhir_json(client.get(f"/fhir/PractitionerRole/{reg.id}"))
    assert data["practitioner"]["reference"] == f"Practitioner/{p.id}"
    assert data["organization"]["reference"] == f"Organization/{inst.id}"
    assert data["specialty"] == [{"text": "内科专业"}]
    assert data["location"] == [{"display": "山西省"}]
    assert data["active"] is True and data["period"]["start"] == "2016-04-08"
    other = make.institution(name="太原市中心医院", region_code="140105")
    make.registration(make.person(), other)
    gone = make.registration(make.person(), inst, status=RegistrationStatus.CANCELLED)
    make.registration(make.person(), inst, status=RegistrationStatus.INVALID)
    for ref in (f"Organization/{inst.id}", str(inst.id),
                f"http://localhost/fhir/Organization/{inst.id}"):
        data = fhir_json(client.get("/fhir/PractitionerRole", query_string={"organization": ref}))
        ids = sorted(e["resource"]["id"] for e in data["entry"])
        assert ids == sorted([str(reg.id), str(gone.id)])
    cancelled = [e["resource"] for e in data["entry"] if e["resource"]["id"] == str(gone.id)][0]
    assert cancelled["active"] is False
    data = fhir_json(client.get("/fhir/PractitionerRole",
                                query_string={"practitioner": f"Practitioner/{p.id}"}))
    assert [e["resource"]["id"] for e in data["entry"]] == [str(reg.id)]
    fhir_json(client.get("/fhir/PractitionerRole?organization=Patient/1"), 400)
    body = json.dumps(data, ensure_ascii=False)
    for secret in _private_values(world):
        assert secret not in body, secret


def test_assistant_role_location_is_a_county(client, make, world):
    inst = make.institution(name="阳曲县人民医院", region_code="140122")
    reg = make.registration(make.person(), inst, level=PhysicianLevel.ASSISTANT,
                            category=PhysicianCategory.TCM, scope_codes=("41",))
    data = fhir_json(client.get(f"/fhir/PractitionerRole/{reg.id}"))
    assert data["location"] == [{"display": "山西省太原市阳曲县"}]
    assert data["code"][0]["text"] == "中医 执业助理医师"


def test_organization_read_and_search(client, make, world):
    inst = world["inst"]
    data = fhir_json(client.get(f"/fhir/Organization/{inst.id}"))
    assert data["name"] == "山西医科大学第一医院"
    assert data["identifier"] == [{"use": "official", "system": LICENSE_SYSTEM,
                                   "type": {"text": "医疗机构执业许可证登记号"},
                                   "value": inst.license_no}]
    addr = data["address"][0]
    assert (addr["text"], addr["district"], addr["city"], addr["state"]) == (
        "测试路1号", "迎泽区", "太原市", "山西省")
    assert "telecom" not in data and "contact" not in data
    body = json.dumps(data, ensure_ascii=False)
    assert inst.reserved_phone not in body and "张主任" not in body
    for q in ({"identifier": inst.license_no}, {"identifier": f"{LICENSE_SYSTEM}|{inst.license_no}"},
              {"name": "山西医科"}, {"_id": str(inst.id)}):
        data = fhir_json(client.get("/fhir/Organization", query_string=q))
        assert [e["resource"]["id"] for e in data["entry"]] == [str(inst.id)], q
    data = fhir_json(client.get("/fhir/Organization?name=北京"))
    assert data.get("entry", []) == []
    fhir_json(client.get("/fhir/Organization/999999"), 404)


def test_capability_statement(client):
    data = fhir_json(client.get("/fhir/metadata"))
    assert data["status"] == "active" and data["fhirVersion"] == "4.0.1"
    assert data["format"] == ["json"] and data["kind"] == "instance"
    [rest] = data["rest"]
    assert rest["mode"] == "server"
    by_type = {r["type"]: r for r in rest["resource"]}
    assert set(by_type) == {"Practitioner", "PractitionerRole", "Organization"}
    for r in by_type.values():
        assert {i["code"] for i in r["interaction"]} == {"read", "search-type"}
    assert {"identifier", "name"} <= {p["name"] for p in by_type["Practitioner"]["searchParam"]}
    assert "organization" in {p["name"] for p in by_type["PractitionerRole"]["searchParam"]}


def test_rate_limited_per_ip_with_operation_outcome(client, app, world, monkeypatch):
    monkeypatch.setitem(app.config, "FHIR_RATE_LIMIT", 2)
    fhir_json(client.get("/fhir/metadata"))
    fhir_json(client.get(f"/fhir/Practitioner/{world['person'].id}"))
    resp = client.get(f"/fhir/Practitioner/{world['person'].id}")
    data = fhir_json(resp, 429)
    assert data["issue"][0]["code"] == "throttled" and "过于频繁" in data["issue"][0]["diagnostics"]
    assert resp.headers["Retry-After"]
    fhir_json(client.get("/fhir/metadata", environ_base={"REMOTE_ADDR": "10.9.8.7"}))


def test_fhir_is_json_without_session_cookie_and_csrf(client, world):
    resp = client.get(f"/fhir/Practitioner/{world['person'].id}")
    assert "Set-Cookie" not in resp.headers
    resp = client.delete(f"/fhir/Practitioner/{world['person'].id}")
    assert resp.status_code == 405  # an OperationOutcome, not the CSRF error page


def _paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for v in value:
            yield from _paths(v, prefix)
    else:
        yield prefix


PUBLIC_PATHS = {
    "Practitioner": {
        "resourceType", "id", "active", "gender",
        "identifier.use", "identifier.system", "identifier.type.text", "identifier.value",
        "name.use", "name.text", "name.family", "name.given",
        "qualification.code.coding.system", "qualification.code.coding.code",
        "qualification.code.coding.display", "qualification.code.text",
        "qualification.period.start", "qualification.issuer.display"},
    "PractitionerRole": {
        "resourceType", "id", "active", "period.start", "period.end",
        "practitioner.reference", "practitioner.display",
        "organization.reference", "organization.display",
        "code.coding.system", "code.coding.code", "code.coding.display", "code.text",
        "specialty.text", "location.display"},
}


def test_no_field_beyond_the_public_set(client, make, world):
    """Every leaf of every returned Practitioner / PractitionerRole is on the allow-list of
    public fields, for valid and cancelled registrations, read and search alike."""
    gone = make.person(name="钱多多")
    r = make.registration(gone, world["inst"], status=RegistrationStatus.CANCELLED)
    r.status_changed_on = dt.date(2024, 1, 2)
    from models import db
    db.session.commit()
    docs = [fhir_json(client.get(f"/fhir/Practitioner/{world['person'].id}")),
            fhir_json(client.get(f"/fhir/Practitioner/{gone.id}")),
            fhir_json(client.get(f"/fhir/PractitionerRole/{r.id}"))]
    for q in ("/fhir/Practitioner?name=王", "/fhir/Practitioner?name=钱",
              f"/fhir/PractitionerRole?organization=Organization/{world['inst'].id}"):
        docs += [e["resource"] for e in fhir_json(client.get(q))["entry"]]
    assert len(docs) == 7
    for doc in docs:
        extra = set(_paths(doc)) - PUBLIC_PATHS[doc["resourceType"]]
        assert not extra, (doc["resourceType"], extra)
