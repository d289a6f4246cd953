"""durin's signals. None of them carries a token's plaintext or digest.

- ``token_expired(username, source)``: an expired token was presented and deleted
  (``source="auth_token"``); sent by the authentication class.
- ``token_renewed(request, new_expiry, token_id, client)``: a token's expiry was pushed back.
- ``token_issued(request, token_id, user, client)``: a token was issued, by any path.
- ``token_revoked(request, token_id, user_id, client_id, client, reason)``: a token was
  revoked on purpose; ``reason`` says why (every reason: docs/signals.md, which a test
  compares with the code).
"""

from __future__ import annotations

from django.dispatch import Signal

token_expired = Signal()
token_renewed = Signal()
token_issued = Signal()
token_revoked = Signal()
