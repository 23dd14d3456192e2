"""Development tokens shaped like Cognito ID tokens, and their verification the way the authorizer does it.

The local stack signs with HS256 and a development secret (LOCAL_JWT_SECRET, fixed default) so that
`abax-payroll local token` in one process mints what `local serve` in another accepts.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import jwt

ISSUER = "https://cognito-idp.local/abax-payroll-local"
AUDIENCE = "abax-payroll-web"
DEFAULT_SECRET = "local-development-signing-secret-not-for-production"
ROLES = ("admin", "payroll")


class TokenRejected(Exception):
    """The token is missing, expired, badly signed or for someone else; the message says which."""


def _secret() -> str:
    return os.environ.get("LOCAL_JWT_SECRET", DEFAULT_SECRET)


def mint_token(
    tenant_id: str | None, role: str, *, expires_in: int = 3600, email: str | None = None, **extra: Any
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{tenant_id}-{role}")),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "iat": now,
        "exp": now + expires_in,
        "email": email or f"{role}@{tenant_id or 'nowhere'}.example",
        "cognito:groups": [role],
        **extra,
    }
    if tenant_id is not None:
        claims["custom:tenant_id"] = tenant_id
    return jwt.encode(claims, _secret(), algorithm="HS256")


def verify(authorization: str | None) -> dict[str, Any]:
    """Claims as API Gateway's Cognito authorizer hands them to the function (strings; groups see below)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise TokenRejected("no Bearer token")
    token = authorization.split(None, 1)[1].strip()
    try:
        claims = jwt.decode(
            token,
            _secret(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("the token is for another audience") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("the token's signature is not valid") from None
    except jwt.PyJWTError as error:
        raise TokenRejected(f"the token is not valid ({type(error).__name__})") from None
    # API Gateway's REST authorizer flattens the groups into "a,b": a name that itself holds a comma (or any
    # odd shape of the claim) would be lost that way, so the list is handed on as the token has it, and the
    # function reads names exactly (abax_payroll.api.common._groups reads both forms).
    return {
        **{key: str(value) for key, value in claims.items() if key != "cognito:groups"},
        "cognito:groups": claims.get("cognito:groups"),
    }
