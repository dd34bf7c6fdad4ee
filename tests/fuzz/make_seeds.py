#!/usr/bin/env python3
"""Writes the hand-made seed corpus of each fuzz target (tests/fuzz/README.md).

Run from anywhere: python3 tests/fuzz/make_seeds.py. Seeds found by fuzzing
(crashes that were fixed) are added by hand beside these and never removed.
"""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEP = b"\n~~~\n"  # fuzz_util.hpp kPartSeparator


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def j(obj):
    return json.dumps(obj, ensure_ascii=False).encode()


def filing():
    base = {"type": "complaint", "subject": "تأخر صرف المكافأة",
            "description": "لم تصرف مكافأة شهر رمضان حتى الآن.", "channel": "portal",
            "beneficiary": {"name": "محمد العتيبي", "phone": "+966 50-123-4567",
                            "email": "m.alotaibi@example.sa", "national_id": "1012345678"}}
    write("filing", "full.json", j(base))
    svc = dict(base, service="stipend", contact_preference="written_only", confidential=True)
    del svc["type"]
    write("filing", "service.json", j(svc))
    idn = json.loads(json.dumps(base))
    idn["beneficiary"] = {"name": "سارة", "email": "سارة@مثال.السعودية"}
    write("filing", "idn_email.json", j(idn))
    write("filing", "not_utf8.json", j(base).replace(b"portal", b"port\xc3\x28l"))
    write("filing", "unknown_field.json", j(dict(base, extra=1)))
    write("filing", "wrong_type.json", j(dict(base, confidential="yes")))
    write("filing", "array.json", b"[1,2,3]")
    write("filing", "truncated.json", j(base)[:40])


def action():
    cases = [
        ("0 assign", {"unit": "KSU.SA.FIN"}), ("0 start", {}), ("1 request_info", {"question": "ما رقمك الجامعي؟"}),
        ("1 answer", {"answer": "صرفت المكافأة."}), ("1 reject", {"reason": "خارج الاختصاص"}),
        ("1 transfer", {"to_unit": "KSU.VRA", "reason": "اختصاص آخر"}), ("1 add_note", {"text": "ملاحظة"}),
        ("1 reply", {"text": "شكرا"}), ("1 await_third_party", {"party": "البنك", "reason": "تحويل"}),
        ("1 escalate", {"reason": "تأخر"}), ("2 object", {"reason": "لم يصرف بعد"}),
        ("2 close", {"reason": "accepted"}), ("2 decide_objection", {"outcome": "upheld", "answer": "نعم"}),
        ("1 third_party_replied", {}), ("1 provide_info", {"reply": "١٢٣٤"}),
        ("1 answer", {"answer": 5}), ("1 answer", {"answer": "x", "extra": "y"}),
    ]
    for i, (head, body) in enumerate(cases):
        write("action", f"{i:02d}_{head.split()[1]}", head.encode() + SEP + j(body))


def org_tree():
    write("org_tree", "ksu.json", (ROOT / "deploy/org/ksu.json").read_bytes())
    small = {"version": 1, "units": [
        {"id": "X", "name": {"ar": "س", "en": "X"}, "head_title": {"ar": "م", "en": "H"}},
        {"id": "X.A", "parent": "X", "name": {"ar": "أ", "en": "A"}}]}
    write("org_tree", "small.json", j(small))
    write("org_tree", "duplicate_key.json", b'{"version": 1, "version": 2, "units": []}')
    write("org_tree", "cycle.json", j({"version": 1, "units": [
        {"id": "A", "parent": "B", "name": {"ar": "أ", "en": "A"}},
        {"id": "B", "parent": "A", "name": {"ar": "ب", "en": "B"}}]}))


def calendar():
    write("calendar", "saudi.conf", (ROOT / "deploy/calendar/saudi.conf").read_bytes())
    write("calendar", "overrides.conf",
          'weekend fri\nhours 07:30-14:30\nclose 2027-01-11 2027-01-12 "أمطار" "Rain closure"\n'
          'open 2027-03-08\nfixed 01-01 new_year "رأس السنة" "New Year"\n'
          'hijri شوال-01 +3 eid "عيد" "Eid"\n')
    write("calendar", "overlap.conf", 'fixed 01-01 +3 a "أ" "A"\nfixed 01-02 b "ب" "B"\n')
    write("calendar", "bad_hijri_day.conf", 'hijri ramadan-30 x "س" "X"\n')


def envelope(origin=b"KSU", seq=1, kind=b"case.filed", payload=b'{"tracking_number":"KSU-2026-000001"}'):
    out = bytes([1, len(origin)]) + origin + struct.pack(">QQ", seq, 1772344800000)
    out += bytes(32) + bytes([len(kind)]) + kind + struct.pack(">I", len(payload)) + payload
    return out + bytes(range(64))


def wire():
    hdr = lambda t: bytes([1, t])
    write("wire", "hello", hdr(1) + SEP + j({"code": "KSU", "acked": 3, "head": 7, "calendar_version": 1}))
    write("wire", "welcome", hdr(2) + SEP + j({"cursor": 3}))
    write("wire", "events", hdr(3) + SEP + envelope() + SEP + envelope(seq=2, kind=b"case.assigned"))
    write("wire", "ack", hdr(4) + SEP + j({"cursor": 9, "calendar_version": 2}))
    write("wire", "nack", hdr(5) + SEP + j({"cursor": 3, "reason": "gap", "message": "expected 4"}))
    write("wire", "calendar", hdr(6) + SEP + j({"version": 2}) + SEP +
          (ROOT / "deploy/calendar/saudi.conf").read_bytes() + SEP + bytes(range(64)))
    write("wire", "z85_key", b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")
    write("wire", "bad_version", bytes([2, 1]) + SEP + b"{}")


def envelope_seeds():
    write("envelope", "filed", envelope())
    write("envelope", "empty_payload", envelope(payload=b""))
    write("envelope", "long_origin", envelope(origin=b"ABCDEFGHIJKLMNOP", seq=2**64 - 1))
    write("envelope", "trailing", envelope() + b"x")
    write("envelope", "truncated", envelope()[:60])


def attachment():
    write("attachment", "pdf", b"report.pdf" + SEP + b"application/pdf" + SEP + b"%PDF-1.7\n%\xe2\xe3")
    write("attachment", "png_arabic", "صورة الإيصال.png".encode() + SEP + b"Image/PNG; x=y" + SEP +
          b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write("attachment", "jpeg_quote", b'a"b\\c%.jpeg' + SEP + b"image/jpeg" + SEP + b"\xff\xd8\xff\xe0")
    write("attachment", "bidi", "photo\u202egpj.exe".encode() + SEP + b"image/jpeg" + SEP + b"\xff\xd8\xff")
    write("attachment", "traversal", b"../../etc/passwd" + SEP + b"application/pdf" + SEP + b"%PDF-")
    write("attachment", "mismatch", b"x.png" + SEP + b"image/png" + SEP + b"%PDF-")


def config():
    write("config", "node.conf", (ROOT / "deploy/node.conf.example").read_bytes().replace(
        b"REPLACE-WITH-64-HEX-DIGITS", b"ab" * 32))
    write("config", "hub.conf", (ROOT / "deploy/hub.conf.example").read_bytes())
    write("config", "z85_hub_key.conf",
          b"data = d\n[federation]\nhub = tcp://127.0.0.1:7700\nhub_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n")
    write("config", "bad_port.conf", b"data = d\n[http]\nlisten = 127.0.0.1:99999\nthreads = 0\n")
    write("config", "unknown.conf", b"data = d\nnope = 1\n")


if __name__ == "__main__":
    filing(); action(); org_tree(); calendar(); wire(); envelope_seeds(); attachment(); config()
