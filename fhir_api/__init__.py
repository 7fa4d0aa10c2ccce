"""/fhir/ read-only FHIR R4 API (X6): Practitioner, PractitionerRole, Organization, and the
CapabilityStatement at /fhir/metadata. JSON only (application/fhir+json); errors are
OperationOutcome with Chinese diagnostics; every request counts against a per-IP limit.

Ids are the row ids (Practitioner = person, PractitionerRole = registration,
Organization = institution). Only persons with a published registration (有效 / 注销) exist
here; the fields are the public set of the public lookup page."""
import json
import re

from flask import Blueprint, Response, current_app, request

from extensions import csrf
from services import fhir_mapping as fm
from services import public_register as pr
from web.auth import client_ip

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
csrf.exempt(bp)  # read-only: no state changes, no cookies needed

RATE_SCOPE = "fhir_api"
DEFAULT_COUNT = 20
MAX_COUNT = 50
COMMON_PARAMS = {"_count", "_page", "_format"}
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")


class FhirError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(payload: dict, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    resp = Response(body, status=status, mimetype=fm.MIME)
    resp.headers["Content-Type"] = f"{fm.MIME}; charset=utf-8"
    return resp


def _outcome(status: int, code: str, message: str) -> Response:
    return _json(fm.operation_outcome(code, message), status)


@bp.errorhandler(FhirError)
def _fhir_error(err: FhirError):
    return _outcome(err.status, err.code, err.message)


@bp.before_request
def _guard():
    fmt = request.args.get("_format")
    if fmt is not None and fmt.strip().lower() not in JSON_FORMATS:
        return _outcome(406, "not-supported", "仅支持 JSON 格式（application/fhir+json）。")
    cfg = current_app.config
    if not pr.take_rate_token(RATE_SCOPE, client_ip(), cfg.get("FHIR_RATE_LIMIT", 60),
                              cfg.get("FHIR_RATE_WINDOW_MINUTES", 10)):
        resp = _outcome(429, "throttled", "请求过于频繁，请稍后再试。")
        resp.headers["Retry-After"] = str(60 * cfg.get("FHIR_RATE_WINDOW_MINUTES", 10))
        return resp


def _base_url() -> str:
    return request.url_root.rstrip("/") + bp.url_prefix + "/"


# ---- parameters ------------------------------------------------------------------------

def _params(allowed: set[str]) -> dict[str, str]:
    out = {}
    for key in request.args.keys():
        values = request.args.getlist(key)
        if key not in allowed | COMMON_PARAMS:
            raise FhirError(400, "not-supported", f"不支持的查询参数：{key[:40]}")
        if len(values) > 1:
            raise FhirError(400, "invalid", f"查询参数 {key[:40]} 只能出现一次。")
        value = values[0].strip()
        if not value and key not in COMMON_PARAMS:
            raise FhirError(400, "invalid", f"查询参数 {key[:40]} 的值不能为空。")
        if len(value) > 64:
            raise FhirError(400, "invalid", f"查询参数 {key[:40]} 的值过长。")
        out[key] = value
    return out


def _int_param(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(key)
    if not raw:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise FhirError(400, "invalid", f"参数 {key} 应为 {lo}–{hi} 之间的整数。")
    return int(raw)


def _paging(params: dict) -> tuple[int, int]:
    return (_int_param(params, "_page", 1, 1, pr.MAX_PAGE),
            _int_param(params, "_count", DEFAULT_COUNT, 1, MAX_COUNT))


def _row_id(value: str, what: str) -> int:
    if not _ID_RE.match(value or ""):
        raise FhirError(400, "invalid", f"{what} 的 id 无效：{value[:40]}")
    return int(value)


def _reference_id(value: str, rtype: str) -> int:
    """'Organization/12', '12' or an absolute URL ending in Organization/12."""
    tail = value.rsplit("/", 2)
    if len(tail) >= 2:
        if tail[-2] != rtype:
            raise FhirError(400, "invalid", f"引用应为 {rtype}/<id>。")
        return _row_id(tail[-1], rtype)
    return _row_id(value, rtype)


def _token(value: str, system: str) -> str:
    """identifier=[system|]value: a given system must be ours."""
    if "|" in value:
        sys_part, _, val = value.partition("|")
        if sys_part and sys_part != system:
            raise FhirError(400, "invalid", f"不支持的标识符体系：{sys_part[:60]}，应为 {system}")
        value = val
    if not value:
        raise FhirError(400, "invalid", "标识符的值不能为空。")
    return value


def _search_bundle(resources: list[dict], page: int, has_next: bool) -> Response:
    base = _base_url()
    args = {k: v for k, v in request.args.items() if k != "_page"}

    def url(p):
        q = "&".join(f"{k}={_quote(v)}" for k, v in list(args.items()) + [("_page", str(p))])
        return f"{request.base_url}?{q}"
    # total only when it is exact and costs nothing: everything fits on the first page
    total = len(resources) if page == 1 and not has_next else None
    return _json(fm.bundle(resources, base, url(page), url(page + 1) if has_next else None,
                           total))


def _quote(v: str) -> str:
    from urllib.parse import quote
    return quote(v, safe="/|:")


# ---- metadata ------------------------------------------------------------------------------

@bp.route("/metadata")
def metadata():
    _params(set())
    return _json(fm.capability_statement(_base_url()))


# ---- Practitioner --------------------------------------------------------------------------

@bp.route("/Practitioner/<rid>")
def practitioner_read(rid):
    _params(set())
    person = pr.public_person(_row_id(rid, "Practitioner"))
    if person is None:
        raise FhirError(404, "not-found", f"未找到 Practitioner/{rid[:20]}。")
    return _json(fm.practitioner(person))


@bp.route("/Practitioner")
def practitioner_search():
    params = _params({"_id", "identifier", "name"})
    page, count = _paging(params)
    if "_id" in params:
        person = pr.public_person(_row_id(params["_id"], "Practitioner"))
        people = [person] if person is not None else []
        if people and "name" in params and not person.name.startswith(params["name"]):
            people = []
        return _search_bundle([fm.practitioner(p) for p in people], 1, False)
    if "identifier" in params:
        person = pr.person_by_certificate(_token(params["identifier"], fm.CERTIFICATE_SYSTEM))
        people = [person] if person is not None else []
        if people and "name" in params and not person.name.startswith(params["name"]):
            people = []
        return _search_bundle([fm.practitioner(p) for p in people], 1, False)
    if "name" in params:
        result = pr.persons_by_name(params["name"], page, count)
        return _search_bundle([fm.practitioner(p) for p in result.items], page, result.has_next)
    raise FhirError(400, "required", "请至少提供一个查询条件：identifier、name 或 _id。")


# ---- PractitionerRole ------------------------------------------------------------------

@bp.route("/PractitionerRole/<rid>")
def role_read(rid):
    _params(set())
    reg = pr.public_registration(_row_id(rid, "PractitionerRole"))
    if reg is None:
        raise FhirError(404, "not-found", f"未找到 PractitionerRole/{rid[:20]}。")
    return _json(fm.practitioner_role(reg))


@bp.route("/PractitionerRole")
def role_search():
    params = _params({"_id", "practitioner", "organization"})
    page, count = _paging(params)
    if "_id" in params:
        reg = pr.public_registration(_row_id(params["_id"], "PractitionerRole"))
        regs = [reg] if reg is not None else []
        return _search_bundle([fm.practitioner_role(r) for r in regs], 1, False)
    inst_id = (_reference_id(params["organization"], "Organization")
               if "organization" in params else None)
    person_id = (_reference_id(params["practitioner"], "Practitioner")
                 if "practitioner" in params else None)
    if inst_id is None and person_id is None:
        raise FhirError(400, "required", "请至少提供一个查询条件：organization、practitioner 或 _id。")
    result = pr.registrations_of(institution_id=inst_id, person_id=person_id,
                                 page=page, per_page=count)
    return _search_bundle([fm.practitioner_role(r) for r in result.items], page,
                          result.has_next)


# ---- Organization ----------------------------------------------------------------------

@bp.route("/Organization/<rid>")
def organization_read(rid):
    _params(set())
    inst = pr.public_institution(_row_id(rid, "Organization"))
    if inst is None:
        raise FhirError(404, "not-found", f"未找到 Organization/{rid[:20]}。")
    return _json(fm.organization(inst))


@bp.route("/Organization")
def organization_search():
    params = _params({"_id", "identifier", "name"})
    page, count = _paging(params)
    if "_id" in params:
        inst = pr.public_institution(_row_id(params["_id"], "Organization"))
        return _search_bundle([fm.organization(inst)] if inst else [], 1, False)
    if "identifier" in params:
        inst = pr.institution_by_license(_token(params["identifier"], fm.LICENSE_SYSTEM))
        return _search_bundle([fm.organization(inst)] if inst else [], 1, False)
    if "name" in params:
        result = pr.search_institutions(params["name"], None, page, count)
        return _search_bundle([fm.organization(i) for i in result.items], page,
                              result.has_next)
    raise FhirError(400, "required", "请至少提供一个查询条件：identifier、name 或 _id。")


# ---- anything else under /fhir/ --------------------------------------------------------

@bp.route("/", defaults={"rest": ""}, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def fallback(rest):
    if request.method not in ("GET", "HEAD"):
        return _outcome(405, "not-supported", "本接口只读，仅支持 GET 请求。")
    return _outcome(404, "not-found", f"不支持的资源或路径：/fhir/{rest[:60]}")
