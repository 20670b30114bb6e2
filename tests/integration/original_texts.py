"""Texts for the tests on the original app's schema: what a sample carries in
the fields that end up in the original's bounded columns, read straight from
the body, and texts longer than any of those columns.
"""
import json
import re
import urllib.parse

# Longer than the original's VARCHAR(255) (or VARCHAR(50) for reason and
# code). "gmail" is Gmail's whole "no such user" reply as MTAs relay it: the
# corpus's longest bounce text (anymail-legacy__bounced-550.multipart, 177
# characters) is its first three lines.
LONG = {
    "gmail": "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
             "550-5.1.1 double-checking the recipient's email address for typos or\n"
             "550-5.1.1 unnecessary spaces. For more information, go to\n"
             "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser "
             "a640c23a62f3a-ab7f0a1f39csi1234567866b.512 - gsmtp",
    "reason": "suppress-bounce-after-repeated-hard-failures-on-this-address-since-2019",
    "code": "5.1.1-RESOLVER.ADR.RecipNotFound-550-mailbox-unavailable-x",
    "description": "Not delivering to previously bounced address. " * 8,
    # multi-byte UTF-8: 300 characters, 760 bytes
    "unicode": "Zustellung fehlgeschlagen: Postfach unbekannt. 宛先不明。" * 6,
    "device": "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240805.005; wv) "
              "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 "
              "Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/478.0.0.41.86;IABMV/1;] "
              "GSA/15.31.31.29.arm64 LeadCRM-Embedded-Preview/3.2.1",
}


def _json_texts(body):
    data = json.loads(body).get("event-data") or {}
    status = data.get("delivery-status") or {}
    reject = data.get("reject") or {}
    code = status.get("code")
    return {"recipient": data.get("recipient") or "",
            "error": status.get("message") or "",
            "description": status.get("description") or reject.get("description") or "",
            "reason": data.get("reason") or reject.get("reason") or "",
            "code": "" if code is None else str(code)}


def _fields(body, content_type):
    if content_type.startswith("multipart/"):
        return re.findall(r'name="([^"]+)"\r\n\r\n(.*?)\r\n--', body.decode(), re.S)
    return urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)


def raw_texts(body, content_type):
    """recipient, error, description, reason and code as the sample carries
    them ("" when absent): for forms Mailgun's own value, the first."""
    if content_type.startswith("application/json"):
        return _json_texts(body)
    first = {}
    for name, value in _fields(body, content_type):
        first.setdefault(name, value)
    return {"recipient": first.get("recipient", ""),
            "error": first.get("error") or first.get("notification", ""),
            "description": first.get("description", ""),
            "reason": first.get("reason", ""),
            "code": first.get("code", "")}
