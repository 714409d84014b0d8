#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PDF inputs and checks for pades.sh, written without any PDF library so
they share no code with the gateway's reader (qpdf):
  form OUT            a PDF 1.4 whose catalog has an indirect /AcroForm
                      with a text field on its first page
  big OUT MIB         a PDF with an unused image of MIB MiB of random bytes
  signature PDF CMS SIGNED
                      the last signature's /Contents (DER, padding cut)
                      into CMS and the bytes its /ByteRange covers into
                      SIGNED; prints the four /ByteRange numbers
  hostile KIND IN OUT damaged copies of IN: loop (the page tree contains
                      itself), outside (xref entries past the end)
  deep OUT LEVELS     a PDF whose one page sits LEVELS /Pages nodes deep
  tst CMS TOKEN SIGVALUE
                      from a DER SignedData: the first signer's
                      signature-time-stamp token into TOKEN and its
                      signature value into SIGVALUE (exit 1 without one)
"""
import os
import re
import sys


def write_pdf(path, objects, version=b"1.4"):
    """objects: list of bytes bodies for objects 1..n; catalog is 1."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def page_content():
    text = b"BT /F1 18 Tf 72 720 Td (A decision to seal) Tj ET"
    return b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"


def form(path):
    write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 7 0 R >> >> /Annots [6 0 R] >>",
        page_content(),
        b"<< /Fields [6 0 R] /DA (/Helv 0 Tf 0 g) >>",
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (Maija) /Rect [72 600 300 620] "
        b"/P 3 0 R /F 4 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def big(path, mib):
    data = os.urandom(mib * 1024 * 1024)
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height 1024 /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (len(data) // 1024, len(data)) +
             data + b"\nendstream")
    write_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 6 0 R >> /XObject << /Im1 5 0 R >> >> >>",
        page_content(),
        image,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def deep(path, levels):
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for i in range(levels):
        parent = b"/Parent %d 0 R " % (i + 1) if i > 0 else b""
        objects.append(b"<< /Type /Pages %s/Kids [%d 0 R] /Count 1 >>" % (parent, i + 3))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>" % (levels + 1))
    write_pdf(path, objects)


def der_length(blob):
    """Length of the DER element at the start of blob (a SEQUENCE)."""
    if blob[1] < 0x80:
        return 2 + blob[1]
    n = blob[1] & 0x7F
    return 2 + n + int.from_bytes(blob[2:2 + n], "big")


def signature(path, cms_out, signed_out):
    data = open(path, "rb").read()
    found = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data))
    if not found:
        sys.exit("no /ByteRange")
    a, b, c, d = (int(x) for x in found[-1].groups())
    contents = data[a + b:c]
    if not (contents.startswith(b"<") and contents.endswith(b">")):
        sys.exit("the gap is not a hex string")
    blob = bytes.fromhex(contents[1:-1].decode())
    with open(cms_out, "wb") as f:
        f.write(blob[:der_length(blob)])
    with open(signed_out, "wb") as f:
        f.write(data[a:a + b] + data[c:c + d])
    print(a, b, c, d)


def hostile(kind, src, dst):
    data = open(src, "rb").read()
    if kind == "loop":
        # The first /Kids array gets the /Pages object's own number.
        m = re.search(rb"(\d+) 0 obj\s*<<\s*/Type\s*/Pages\s*/Kids\s*\[\s*(\d+) 0 R", data)
        own, kid = m.group(1), m.group(2)
        if len(own) != len(kid):
            sys.exit("numbers of different widths")
        data = data[:m.start(2)] + own + data[m.end(2):]
    elif kind == "outside":
        start = data.rindex(b"\nxref\n")
        head, tail = data[:start], data[start:]
        tail = re.sub(rb"\n(\d{10}) 00000 n", lambda m: b"\n%010d 00000 n" % (int(m.group(1)) + 50000000),
                      tail)
        data = head + tail
    else:
        sys.exit("unknown kind")
    open(dst, "wb").write(data)


def xrefbomb(path, n, behind):
    """A small PDF 1.5 whose xref stream declares n objects (compressed,
    a few kilobytes), its /Size key spelt with a #-escape; behind: the
    stream sits behind a classic table's /Prev instead of at startxref,
    with an /Index too."""
    import zlib
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    stream_at = len(out)
    rows = bytearray(b"\x00\x00\x00\x00\x00\xff\xff")
    for off in offsets + [stream_at]:
        rows += b"\x01" + off.to_bytes(4, "big") + b"\x00\x00"
    rows += bytes(7 * (n - len(offsets) - 2))
    data = zlib.compress(bytes(rows), 9)
    # At startxref the count is only in the escaped /Size (the default
    # /Index is [0 Size]); behind a /Prev it is in /Index too.
    index = b"/Index [0 %d] " % n if behind else b""
    out += (b"4 0 obj\n<< /Type /XRef /Si#7Ae %d /W [1 4 2] %s/Root 1 0 R "
            b"/Filter /FlateDecode /Length %d >>\nstream\n" % (n, index, len(data)))
    out += data + b"\nendstream\nendobj\n"
    start = stream_at
    if behind:
        start = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\n" % stream_at
    out += b"startxref\n%d\n%%%%EOF\n" % start
    with open(path, "wb") as f:
        f.write(out)


def der_items(blob):
    """The (tag, header length, whole element) of each DER element in blob."""
    i, out = 0, []
    while i < len(blob):
        n = der_length(blob[i:])
        hl = 2 if blob[i + 1] < 0x80 else 2 + (blob[i + 1] & 0x7F)
        out.append((blob[i], hl, blob[i:i + n]))
        i += n
    return out


def inner(element):
    tag, hl, whole = der_items(element)[0]
    return whole[hl:]


TST_OID = bytes.fromhex("060b2a864886f70d010910020e")


def tst(cms_path, token_out, sig_out):
    content_info = der_items(open(cms_path, "rb").read())[0][2]
    signed_data = der_items(inner(der_items(inner(content_info))[1][2]))[0][2]
    signer_infos = der_items(inner(signed_data))[-1][2]
    signer = der_items(inner(signer_infos))[0][2]
    fields = der_items(inner(signer))
    sig = [f for f in fields if f[0] == 0x04][0]
    unsigned = [f for f in fields if f[0] == 0xA1]
    if not unsigned:
        sys.exit("no unsigned attributes")
    for attr in der_items(inner(unsigned[0][2])):
        parts = der_items(inner(attr[2]))
        if parts[0][2] == TST_OID:
            with open(token_out, "wb") as f:
                f.write(der_items(inner(parts[1][2]))[0][2])
            with open(sig_out, "wb") as f:
                f.write(inner(sig[2]))
            return
    sys.exit("no signature-time-stamp attribute")


def main():
    cmd = sys.argv[1]
    if cmd == "form":
        form(sys.argv[2])
    elif cmd == "big":
        big(sys.argv[2], int(sys.argv[3]))
    elif cmd == "signature":
        signature(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "tst":
        tst(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "deep":
        deep(sys.argv[2], int(sys.argv[3]))
    elif cmd == "xrefbomb":
        xrefbomb(sys.argv[2], int(sys.argv[3]), len(sys.argv) > 4 and sys.argv[4] == "behind")
    elif cmd == "hostile":
        hostile(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
