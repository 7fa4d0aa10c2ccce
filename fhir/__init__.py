"""/fhir/ read-only FHIR R4 API (X6)."""
from flask import Blueprint, jsonify

bp = Blueprint("fhir", __name__, url_prefix="/fhir")


@bp.route("/metadata")
def metadata():
    return jsonify({"resourceType": "OperationOutcome", "issue": [{
        "severity": "information", "code": "not-supported",
        "diagnostics": "FHIR 接口尚未上线（issue 9）。"}]}), 501
