"""Registry rows → FHIR R4 JSON (Practitioner, PractitionerRole, Organization, Bundle,
OperationOutcome, CapabilityStatement). Only the public set of fields (X6, 第二十一条):
姓名, 性别, 级别, 类别, 执业范围, 执业地点, 主要执业机构, 注册状态, 审批机关, 批准日期, and the
执业证书编码 partly masked. Never 身份证号, phone, birth date, address or qualification code
of a person."""
import datetime as dt

from models.enums import Gender, RegistrationStatus

from .public_register import mask_certificate_no, public_registrations, region_names

FHIR_VERSION = "4.0.1"
CERTIFICATE_SYSTEM = "urn:regsys:sid:practice-certificate-no"  # 执业证书编码
LICENSE_SYSTEM = "urn:regsys:sid:institution-license-no"  # 执业许可证登记号
CATEGORY_SYSTEM = "urn:regsys:cs:physician-category-level"
MIME = "application/fhir+json"


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _drop_empty(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def human_name(name: str) -> dict:
    """Text always; family/given only for 2–3 character names (one-character surname)."""
    out = {"use": "official", "text": name}
    if 2 <= len(name) <= 3 and "·" not in name:
        out["family"] = name[0]
        out["given"] = [name[1:]]
    return out


def _gender(g: Gender) -> str:
    return {Gender.MALE: "male", Gender.FEMALE: "female"}.get(g, "unknown")


def _category_concept(reg) -> dict:
    return {"coding": [{"system": CATEGORY_SYSTEM,
                        "code": f"{reg.category.value}-{reg.level.value}",
                        "display": f"{reg.category.label}{reg.level.label}"}],
            "text": f"{reg.category.label} {reg.level.label}"}


def practitioner(person, base_url: str = "") -> dict:
    regs = public_registrations(person)
    valid = [r for r in regs if r.status == RegistrationStatus.VALID]
    resource = {
        "resourceType": "Practitioner",
        "id": str(person.id),
        "identifier": [{
            "use": "official", "system": CERTIFICATE_SYSTEM,
            "type": {"text": "执业证书编码（部分隐藏）"},
            "value": mask_certificate_no(person.certificate_no)}] if person.certificate_no else [],
        "active": bool(valid),
        "name": [human_name(person.name)],
        "gender": _gender(person.gender),
        "qualification": [_drop_empty({
            "code": _category_concept(r),
            "period": {"start": _date(r.approved_on)},
            "issuer": {"display": r.authority.name} if r.authority else None,
        }) for r in valid],
    }
    return _drop_empty(resource)


def practitioner_role(reg, base_url: str = "") -> dict:
    period = {"start": _date(reg.approved_on)}
    if reg.status != RegistrationStatus.VALID and reg.status_changed_on:
        period["end"] = _date(reg.status_changed_on)
    resource = {
        "resourceType": "PractitionerRole",
        "id": str(reg.id),
        "active": reg.status == RegistrationStatus.VALID,
        "period": period,
        "practitioner": {"reference": f"Practitioner/{reg.person_id}",
                         "display": reg.person.name},
        "organization": {"reference": f"Organization/{reg.institution_id}",
                         "display": reg.institution.name},
        "code": [_category_concept(reg)],
        "specialty": [{"text": s.name} for s in reg.scopes],
        "location": [{"display": str(reg.location)}],
    }
    return _drop_empty(resource)


def organization(inst, base_url: str = "") -> dict:
    names = region_names(inst.region_code)
    address = _drop_empty({
        "use": "work", "type": "physical",
        "text": inst.address, "district": names.get("county"),
        "city": names.get("city"), "state": names.get("province"), "country": "CN"})
    resource = {
        "resourceType": "Organization",
        "id": str(inst.id),
        "identifier": [{"use": "official", "system": LICENSE_SYSTEM,
                        "type": {"text": "医疗机构执业许可证登记号"},
                        "value": inst.license_no}],
        "active": bool(inst.active),
        "type": [{"text": "医疗机构"}],
        "name": inst.name,
        "address": [address],
    }
    return _drop_empty(resource)


def bundle(resources: list[dict], base_url: str, self_url: str, next_url: str | None,
           total: int | None = None) -> dict:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    out = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "link": links,
        "entry": [{"fullUrl": f"{base_url}{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "match"}} for r in resources],
    }
    if total is not None:
        out["total"] = total
    return _drop_empty(out)


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


SEARCH_PARAMS = {
    "Practitioner": [
        ("_id", "token", "资源 id"),
        ("identifier", "token", "执业证书编码（完整编码，可带 system|）"),
        ("name", "string", "姓名（前缀匹配）"),
    ],
    "PractitionerRole": [
        ("_id", "token", "资源 id"),
        ("practitioner", "reference", "Practitioner/<id>"),
        ("organization", "reference", "Organization/<id>"),
    ],
    "Organization": [
        ("_id", "token", "资源 id"),
        ("identifier", "token", "执业许可证登记号（可带 system|）"),
        ("name", "string", "机构标准名称（前缀匹配）"),
    ],
}


def capability_statement(base_url: str, software_version: str = "1.0") -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "id": "regsys",
        "status": "active",
        "date": dt.date.today().isoformat(),
        "publisher": "医师电子化注册信息系统",
        "kind": "instance",
        "software": {"name": "医师电子化注册信息系统", "version": software_version},
        "implementation": {"description": "医师执业注册信息公开查询 FHIR 接口（只读）",
                           "url": base_url.rstrip("/")},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "只读接口：仅公开医师法第二十一条规定的注册信息；按 IP 限制访问频率。",
            "resource": [{
                "type": rtype,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": n, "type": t, "documentation": doc}
                                for n, t, doc in params] + [
                    {"name": "_count", "type": "number", "documentation": "每页条数（1–50）"},
                    {"name": "_page", "type": "number", "documentation": "页码"}],
            } for rtype, params in SEARCH_PARAMS.items()],
        }],
    }
