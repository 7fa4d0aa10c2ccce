"""Factories for the institution console tests: pending change requests and photos,
verified (not yet activated) physician accounts."""
import io

from PIL import Image

from models import db
from models.account import ChangeRequest, Photo
from models.enums import AccountState, VerificationOutcome
from tests import factories


def png_bytes(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (354, 472), color).save(buf, format="PNG")
    return buf.getvalue()


def verified_physician(inst, **kw):
    """A registered physician at `inst` with a verified (not activated) account."""
    p, reg = factories.registered_physician(inst, **kw)
    acct = factories.physician_account(p, state=AccountState.VERIFIED, institution_obj=inst,
                                       outcome=VerificationOutcome.IN_REGISTER)
    return p, reg, acct


def activated_physician(inst, **kw):
    p, reg = factories.registered_physician(inst, **kw)
    acct = factories.physician_account(p, state=AccountState.ACTIVATED, institution_obj=inst)
    return p, reg, acct


def change_request(acct, reg, education_code="14", school="北京大学医学部", title_code="232",
                   major=None) -> ChangeRequest:
    cr = ChangeRequest(account_id=acct.id, registration_id=reg.id,
                       institution_id=reg.institution_id, education_code=education_code,
                       school=school, title_code=title_code, major=major,
                       original={"education_code": reg.education_code, "school": reg.school})
    db.session.add(cr)
    db.session.commit()
    return cr


def photo(acct, inst) -> Photo:
    data = png_bytes()
    ph = Photo(account_id=acct.id, institution_id=inst.id, data=data, content_type="image/png",
               width=354, height=472, size=len(data))
    db.session.add(ph)
    db.session.commit()
    return ph
