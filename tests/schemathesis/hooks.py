"""Schemathesis hooks for ticketbooth's JSON API (loaded by .ci/schemathesis).

Signed-in operations get a real access token, for an account made once per run. A device that
Schemathesis itself signs out (`POST /api/logout`, `DELETE /api/devices/{id}`) ends that token,
so the token is fetched again after any 401 and at most every second.
"""

import os

import requests
import schemathesis

BASE = os.environ["TICKETBOOTH_URL"]
ACCOUNT = {"username": "schemathesis", "password": "correct horse battery staple"}


def _post(path, body):
    return requests.post(f"{BASE}{path}", json=body, timeout=30)


@schemathesis.auth(refresh_interval=1)
class FreshAccessToken:
    created = False

    def get(self, case, context):
        if not FreshAccessToken.created:
            answer = _post("/api/users", ACCOUNT)
            # 409: an earlier get of this run made it.
            assert answer.status_code in (201, 409), answer.text
            FreshAccessToken.created = True
        answer = _post("/api/token", ACCOUNT)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
