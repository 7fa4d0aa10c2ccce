"""Factories for the physician site tests: registry persons in each verification outcome,
accounts in each state, activation codes as an institution would issue them, and photos."""
import datetime as dt
import io

from PIL import Image

from models import db
from models.account import ActivationCode
from models.enums import AccountState, RegistrationStatus, VerificationOutcome
from models.institution import utcnow
from services.security import random_code
from tests import factories as f


def registry_physician(inst=None, **reg_kw):
    """(institution, person, registration) — a person in the register with a valid registration."""
    inst = inst or f.institution()
    person, reg = f.registered_physician(inst, **reg_kw)
    return inst, person, reg


def qualified_only(status=None, inst=None):
    """A person with a qualification and no valid registration (P4b)."""
    person = f.person()
    qual = f.qualification(person)
    if status is not None:
        f.registration(person, inst or f.institution(), qual=qual, status=status)
    return person, qual


def account_for(person, *, state=AccountState.VERIFIED, outcome=VerificationOutcome.IN_REGISTER,
                institution=None, phone_verified=True, **kw):
    return f.physician_account(person, state=state, outcome=outcome,
                               institution_obj=institution, phone_verified=phone_verified, **kw)


def activation_code(account, institution=None, code=None, used=False) -> ActivationCode:
    """An 激活码 row as the institution console creates it (I5)."""
    row = ActivationCode(account_id=account.id,
                         institution_id=(institution.id if institution else account.institution_id),
                         code=code or random_code(), sent_via="sms",
                         used_at=utcnow() if used else None)
    db.session.add(row)
    db.session.commit()
    return row


def activated_physician(inst=None, **kw):
    """(institution, person, registration, account) — an activated in-register physician."""
    inst, person, reg = registry_physician(inst)
    acct = f.physician_account(person, institution_obj=inst, **kw)
    return inst, person, reg, acct


def photo_bytes(size=(354, 472), fmt="JPEG", quality=85, color=(200, 220, 240)) -> bytes:
    im = Image.new("RGB", size, color)
    # a little structure so JPEG sizes are realistic
    for x in range(0, size[0], 20):
        for y in range(0, size[1], 20):
            im.putpixel((x, y), (x % 255, y % 255, 90))
    out = io.BytesIO()
    im.save(out, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def noisy_jpeg(target_kb: int) -> bytes:
    """A 354×472 JPEG just above target_kb kilobytes (random noise compresses badly)."""
    import random
    rnd = random.Random(7)
    im = Image.new("RGB", (354, 472))
    im.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
                for _ in range(354 * 472)])
    lo, hi = 1, 95
    best = None
    while lo <= hi:
        q = (lo + hi) // 2
        out = io.BytesIO()
        im.save(out, format="JPEG", quality=q)
        size = len(out.getvalue())
        if size > target_kb * 1024:
            best = out.getvalue()
            hi = q - 1
        else:
            lo = q + 1
    assert best is not None
    return best


def not_in_register_status():
    return RegistrationStatus.FILED
