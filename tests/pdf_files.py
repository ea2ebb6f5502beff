"""Real PDF files written byte by byte for the deck tests: good, huge, encrypted, broken, bombs."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of these objects (1 is the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


def deck(
    pages: int = 3,
    size: tuple[int, int] = (612, 792),
    contents: list[bytes] | None = None,
    trailer: bytes = b"",
    extra: list[bytes] | None = None,
) -> bytes:
    """A deck whose page n says "Page n" in big letters on a black bar as wide as the page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 "
               b"/BaseFont /Helvetica >>"]  # fmt: skip
    kids = []
    for n in range(1, pages + 1):
        text = b"0 0 0 rg 0 %d %d 60 re f BT /F1 48 Tf 72 %d Td (Page %d) Tj ET" % (
            size[1] - 60, size[0], size[1] // 2, n,
        )  # fmt: skip
        objects.append(stream(contents[n - 1] if contents else text))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font "
            b"<< /F1 3 0 R >> /XObject << /Im %d 0 R >> >> /Contents %d 0 R >>"
            % (size[0], size[1], 4 + 2 * pages, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, b" ".join(kids))
    return pdf(objects + (extra or [b"null"]), trailer)


def encrypted() -> bytes:
    """A deck under the standard security handler with a user password (not the empty one)."""
    encrypt = b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <%s> /U <%s> >>" % (
        b"11" * 32,
        b"22" * 32,
    )
    file_id = b"<00112233445566778899aabbccddeeff>"
    # The /Encrypt dictionary is the object after the pages' image slot.
    trailer = b"/Encrypt 9 0 R /ID [%s %s] " % (file_id, file_id)
    return deck(pages=2, trailer=trailer, extra=[b"null", encrypt])


def flate_bomb(megabytes: int) -> bytes:
    """One page whose content stream is a few hundred KB that inflate to `megabytes` MB."""
    spaces = b" " * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, framed by hand below
    # A fully flushed block refers to nothing before it: the same block repeated is valid
    # deflate, so the bomb is built in a blink instead of compressing every megabyte.
    block = packer.compress(spaces) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(spaces, checksum)
    data = b"\x78\xda" + block * megabytes + packer.flush() + checksum.to_bytes(4, "big")
    return deck(pages=1, contents=[b""]).replace(
        b"<< /Length 0 >>\nstream\n\nendstream",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data),
    )


def image_bomb() -> bytes:
    """One page drawing an image XObject that declares 100000 x 100000 RGB pixels (30 GB)."""
    data = zlib.compress(b"\0" * (1 << 20), 9)
    image = stream(data, b"/Type /XObject /Subtype /Image /Width 100000 /Height 100000 "
                   b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode ")  # fmt: skip
    return deck(pages=1, contents=[b"q 612 0 0 792 0 0 cm /Im Do Q"], extra=[image])


def png(width: int, height: int, alpha: bool = False) -> bytes:
    out = io.BytesIO()
    mode = "RGBA" if alpha else "RGB"
    picture = Image.new(mode, (width, height), (200, 30, 30, 128) if alpha else (200, 30, 30))
    picture.save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares this size, with almost no pixel data: a bomb's header."""
    signature = b"\x89PNG\r\n\x1a\n"
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    return signature + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def jpeg(width: int, height: int, orientation: int = 1) -> bytes:
    """A JPEG photo; orientation 6 is a phone held upright (shown turned a quarter)."""
    out = io.BytesIO()
    picture = Image.new("RGB", (width, height), (30, 30, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    picture.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()
