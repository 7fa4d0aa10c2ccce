"""X5: application forms as PDF with Chinese text, from the physician and the institution."""
import os
import shutil
import subprocess

import sqlalchemy as sa

from models import db
from models.application import Application
from models.enums import ApplicationType as T
from services import applications as svc
from services.printing import application_pdf
from tests import factories_applications as fa


def _pdf_text(data: bytes, tmp_path) -> str | None:
    if not shutil.which("pdftotext"):
        # CI installs poppler-utils (scripts/install_ci_deps.sh): there the text must be read
        assert os.environ.get("CI", "").lower() not in ("true", "1"), "pdftotext missing in CI"
        return None
    f = tmp_path / "a.pdf"
    f.write_bytes(data)
    return subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True).stdout


def test_pdf_of_a_change_application(make, tmp_path):
    w = fa.world()
    a = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id, "scope_codes": ["12"],
                                "reason": "变更执业范围"})
    svc.confirm_application(fa.org_actor(w.old_inst), a.id, True, "同意变更")
    data = application_pdf(db.session.get(Application, a.id))
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert b"/Count 1" in data  # one page
    assert b"STSong-Light" in data and len(data) > 1500
    text = _pdf_text(data, tmp_path)
    if text is not None:
        assert w.person.name in text and "医师变更执业注册申请审核表" in text
        assert "同意变更" in text


def test_physician_and_institution_print(app, client, login_as, make):
    w = fa.world()
    a = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                               {"registration_id": w.reg.id, "reissue_reason": "遗失"})
    login_as(w.account, client)
    r = client.get(f"/physician/applications/{a.id}/print")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    org = app.test_client()
    login_as(make.institution_admin(w.old_inst), org)
    r = org.get(f"/org/applications/{a.id}/print")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    other = app.test_client()
    login_as(make.institution_admin(w.other_prov_inst), other)
    assert other.get(f"/org/applications/{a.id}/print").status_code == 404


def test_pdf_carries_the_approved_photo(make):
    import io
    from PIL import Image
    from models.account import Photo
    from models.enums import ReviewStatus
    w = fa.world()
    buf = io.BytesIO()
    Image.new("RGB", (354, 472), (200, 220, 240)).save(buf, "JPEG")
    photo = Photo(account_id=w.account.id, institution_id=w.old_inst.id, data=buf.getvalue(),
                  content_type="image/jpeg", width=354, height=472, size=len(buf.getvalue()),
                  status=ReviewStatus.APPROVED)
    db.session.add(photo)
    db.session.flush()
    w.reg.photo_id = photo.id
    db.session.commit()
    a = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                               {"registration_id": w.reg.id, "reissue_reason": "遗失"})
    data = application_pdf(db.session.get(Application, a.id))
    assert b"/Subtype /Image" in data
