"""A generated corpus of real-world and tricky image files, each with the outcome a user expects.

`ok` files carry the array a faithful decoder returns (and a tolerance: lossy formats get one);
`error` files carry a fragment of the message the user must see. Nothing here is read from disk.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

H, W = 48, 64


@dataclass(frozen=True)
class Case:
    name: str  # the file name the user gives (the extension may lie)
    data: bytes
    expected: np.ndarray | None = None  # decoded float array in [0, 1]
    atol: float = 1e-6  # largest difference allowed; for lossy files, the mean difference
    error: str | None = None  # fragment of the InputError message
    lossy: bool = False


def base_gray() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return ((0.2 + 0.6 * xx / (W - 1)) * (0.5 + 0.5 * (yy > H // 2))).astype(np.float32)


def base_rgb() -> np.ndarray:
    g = base_gray()
    return np.stack([g, 1 - g, 0.5 * np.ones_like(g)], axis=-1).astype(np.float32)


def save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def u8(a: np.ndarray) -> np.ndarray:
    return (np.clip(a, 0, 1) * 255).round().astype(np.uint8)


def q8(a: np.ndarray) -> np.ndarray:
    return u8(a).astype(np.float32) / 255


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def raw_png(width: int, height: int, rows: bytes, *, interlace: int = 0, extra: bytes = b"") -> bytes:
    """A grayscale 8-bit PNG from already-filtered scanlines (filter byte 0 per row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


def adam7_png(gray8: np.ndarray) -> bytes:
    """An interlaced PNG, written by hand (Pillow only writes non-interlaced ones)."""
    rows = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = gray8[y0::dy, x0::dx]
        if sub.size:
            rows += b"".join(b"\x00" + r.tobytes() for r in sub)
    return raw_png(gray8.shape[1], gray8.shape[0], rows, interlace=1)


def dicom(pixels: np.ndarray, *, preamble: bool = True, photometric: str = "MONOCHROME2", frames: int = 1,
          pixel_data: bool = True, **elements) -> bytes:
    import pydicom  # noqa: F401
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Rows, ds.Columns = pixels.shape[-2:] if pixels.ndim < 3 or photometric != "RGB" else pixels.shape[:2]
    ds.PhotometricInterpretation = photometric
    if photometric == "RGB":
        ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    else:
        ds.SamplesPerPixel = 1
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    for key, value in elements.items():
        setattr(ds, key, value)
    if pixel_data:
        ds.PixelData = pixels.astype(np.uint8 if photometric == "RGB" else np.uint16).tobytes()
    buf = io.BytesIO()
    if preamble:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta, ds.preamble = meta, b"\0" * 128
        ds.save_as(buf, enforce_file_format=True)
    else:
        ds.save_as(buf, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return buf.getvalue()


def ok_cases() -> list[Case]:
    g, rgb = base_gray(), base_rgb()
    g8, rgb8 = u8(g), u8(rgb)
    gray_img, rgb_img = Image.fromarray(g8), Image.fromarray(rgb8)
    g16 = (g * 65535).round().astype(np.uint16)
    alpha = np.where(np.arange(W) < W // 2, 255, 0).astype(np.uint8)[None].repeat(H, 0)
    rgba = np.dstack([rgb8, alpha])
    composited = q8(rgb) * (alpha[..., None] / 255)
    hu = g * 4000 - 1000  # a CT-like range, stretched by the decoder
    second = np.flipud(g8)
    cases = [
        Case("gray8.png", save(gray_img, "PNG"), q8(g)),
        Case("gray16.png", save(Image.fromarray(g16), "PNG"), g16 / 65535),
        Case("rgb.png", save(rgb_img, "PNG"), q8(rgb)),
        Case("rgba.png", save(Image.fromarray(rgba, "RGBA"), "PNG"), composited),
        Case("gray_alpha.png", save(Image.fromarray(np.dstack([g8, alpha]), "LA"), "PNG"),
             q8(g) * (alpha / 255)),
        Case("palette.png", save(gray_img.convert("P"), "PNG"), q8(g)),
        Case("palette_rgb.png", save(rgb_img.quantize(256), "PNG"), q8(rgb), atol=0.02, lossy=True),
        Case("bilevel.png", save(Image.fromarray(g8 > 127).convert("1"), "PNG"), (g8 > 127).astype(np.float32)),
        Case("interlaced.png", adam7_png(g8), q8(g)),
        Case("one_pixel.png", save(Image.new("L", (1, 1), 200), "PNG"), np.full((1, 1), 200 / 255, np.float32)),
        Case("thin_strip.png", save(Image.new("L", (4000, 1), 50), "PNG"), np.full((1, 4000), 50 / 255, np.float32)),
        Case("gray.jpg", save(gray_img, "JPEG", quality=95), q8(g), atol=0.02, lossy=True),
        Case("rgb.jpeg", save(rgb_img, "JPEG", quality=95), q8(rgb), atol=0.02, lossy=True),
        Case("progressive.jpg", save(rgb_img, "JPEG", quality=95, progressive=True), q8(rgb), atol=0.02, lossy=True),
        Case("cmyk.jpg", save(rgb_img.convert("CMYK"), "JPEG", quality=95), q8(rgb), atol=0.02, lossy=True),
        Case("gray8.tif", save(gray_img, "TIFF"), q8(g)),
        Case("gray16.tiff", save(Image.fromarray(g16), "TIFF"), g16 / 65535),
        Case("float01.tif", save(Image.fromarray(g, "F"), "TIFF"), g),
        Case("float_hu.tif", save(Image.fromarray(hu.astype(np.float32), "F"), "TIFF"),
             (hu - hu.min()) / np.ptp(hu), atol=1e-5),
        Case("int32.tif", save(Image.fromarray(g16.astype(np.int32), "I"), "TIFF"), g16 / 65535),
        Case("rgb_lzw.tif", save(rgb_img, "TIFF", compression="tiff_lzw"), q8(rgb)),
        Case("rgba.tif", save(Image.fromarray(rgba, "RGBA"), "TIFF"), composited),
        Case("multipage.tif", save(gray_img, "TIFF", save_all=True, append_images=[Image.fromarray(second)]), q8(g)),
        Case("gray.bmp", save(gray_img, "BMP"), q8(g)),
        Case("rgb.bmp", save(rgb_img, "BMP"), q8(rgb)),
        Case("bilevel.bmp", save(Image.fromarray(g8 > 127).convert("1"), "BMP"), (g8 > 127).astype(np.float32)),
        Case("gray.gif", save(gray_img, "GIF"), q8(g)),
        Case("animated.gif", save(gray_img, "GIF", save_all=True, append_images=[Image.fromarray(second)]), q8(g)),
        Case("lossless.webp", save(rgb_img, "WEBP", lossless=True), q8(rgb)),
        Case("lossy_rgba.webp", save(Image.fromarray(rgba, "RGBA"), "WEBP", quality=95), composited, atol=0.02,
             lossy=True),
        Case("gray16.pgm", save(Image.fromarray(g16), "PPM"), g16 / 65535),
        Case("rgb.tga", save(rgb_img, "TGA"), q8(rgb)),
        Case("png_named.jpg", save(gray_img, "PNG"), q8(g)),
        Case("jpeg_named.png", save(gray_img, "JPEG", quality=95), q8(g), atol=0.02, lossy=True),
        Case("no_extension", save(gray_img, "PNG"), q8(g)),
        Case("large_film.jpg", save(Image.new("RGB", (2048, 2048), (90, 90, 90)), "JPEG"),
             np.full((2048, 2048, 3), 90 / 255, np.float32), atol=0.01),
    ]
    px = (g * 4095).round().astype(np.uint16)
    window = np.clip((px - (2048 - 0.5)) / (1024 - 1) + 0.5, 0, 1)
    hu_px = px * 2.0 - 1024  # rescale slope 2, intercept -1024
    cases += [
        Case("ct_window.dcm", dicom(px, WindowCenter=2048, WindowWidth=1024), window),
        Case("monochrome1.dcm", dicom(px, photometric="MONOCHROME1", WindowCenter=2048, WindowWidth=1024), 1 - window),
        Case("no_preamble.dcm", dicom(px, preamble=False, WindowCenter=2048, WindowWidth=1024), window),
        Case("rescaled.dcm", dicom(px, RescaleSlope=2, RescaleIntercept=-1024, WindowCenter=0, WindowWidth=400),
             np.clip((hu_px - (0 - 0.5)) / (400 - 1) + 0.5, 0, 1)),
        Case("no_window.dcm", dicom(px), (px - px.min()) / np.ptp(px)),
        Case("multiframe.dcm", dicom(np.stack([px, px[::-1]]), frames=2), (px - px.min()) / np.ptp(px)),
        Case("rgb.dcm", dicom(rgb8, photometric="RGB"), rgb8 / rgb8.max(), atol=1e-6),
        Case("dicom_named.png", dicom(px), (px - px.min()) / np.ptp(px)),
    ]
    return cases


def jpeg2000_garbage(pixels: np.ndarray) -> bytes:
    """A DICOM file that says its pixels are JPEG 2000 and holds a codestream header and zeros."""
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless

    ds = pydicom.dcmread(io.BytesIO(dicom(pixels)))
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(100)])
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def wav_bytes() -> bytes:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(1600, np.float32), 16000, format="WAV")
    return buf.getvalue()


def error_cases() -> list[Case]:
    g8 = u8(base_gray())
    gray_img = Image.fromarray(g8)
    png, jpg = save(gray_img, "PNG"), save(gray_img, "JPEG", quality=90)
    tif, bmp = save(gray_img, "TIFF"), save(gray_img, "BMP")
    gif, webp = save(gray_img, "GIF"), save(gray_img, "WEBP")
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    half_rows = b"".join(b"\x00" + r.tobytes() for r in g8[: H // 2])
    bomb_text = png_chunk(b"zTXt", b"comment\x00\x00" + zlib.compress(b"A" * (80 * 2**20)))
    nan = np.full((H, W), 0.5, np.float32)
    nan[3, 4] = np.nan
    inf = np.full((H, W), 0.5, np.float32)
    inf[3, 4] = np.inf
    px = (base_gray() * 4095).round().astype(np.uint16)
    dicom_px = dicom(px)
    not_image = "not a readable image"
    corrupt = "could not be decoded"
    return [
        Case("empty.png", b"", error="is empty"),
        Case("notes.png", b"this is a text file, not an image\n" * 20, error=not_image),
        Case("noise.png", noise, error=not_image),
        Case("jpeg_cut_at_200.jpg", jpg[:200], error=corrupt),
        Case("jpeg_header_then_noise.jpg", jpg[:2] + noise, error=not_image),
        Case("jpeg_half.jpg", jpg[: len(jpg) // 2], error=corrupt),
        Case("png_half_file.png", png[: len(png) // 2], error="truncated"),
        Case("png_half_rows.png", raw_png(W, H, half_rows), error="truncated"),
        Case("png_text_bomb.png", raw_png(W, H, b"".join(b"\x00" + r.tobytes() for r in g8), extra=bomb_text),
             error=corrupt),
        Case("png_bad_header_crc.png", png[:29] + b"XXXX" + png[33:], error=not_image),
        Case("png_signature_only.png", png[:8], error=not_image),
        Case("png_no_idat.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 0, 0, 0, 0))
             + png_chunk(b"IEND", b""), error="truncated"),
        Case("bomb_10001x5000.png", save(Image.new("1", (10001, 5000)), "PNG"),
             error="10001x5000 = 50,005,000 pixels; the limit is 50,000,000 pixels"),
        Case("header_100000x100000.png", raw_png(100000, 100000, b""), error="the limit is 50,000,000 pixels"),
        Case("float_nan.tif", save(Image.fromarray(nan, "F"), "TIFF"), error="NaN or infinite"),
        Case("float_inf.tif", save(Image.fromarray(inf, "F"), "TIFF"), error="NaN or infinite"),
        Case("tiff_half.tif", tif[: len(tif) // 2], error=corrupt),
        Case("tiff_header_only.tif", tif[:8], error=not_image),
        Case("bmp_half.bmp", bmp[: len(bmp) // 2], error=corrupt),
        Case("gif_half.gif", gif[: len(gif) // 2], error=corrupt),
        Case("webp_half.webp", webp[: len(webp) // 2], error=corrupt),
        Case("dicom_without_pixels.dcm", dicom(np.zeros((4, 4)), pixel_data=False), error="without an image"),
        Case("dicom_preamble_then_noise.dcm", b"\0" * 128 + b"DICM" + noise, error="DICOM file without an image"),
        Case("dicom_60000x60000.dcm", dicom(np.zeros((8, 8)), Rows=60000, Columns=60000),
             error="the limit is 50,000,000 pixels"),
        Case("dicom_pixels_cut_short.dcm", dicom_px[:-2000], error="cannot be decoded (The number of bytes of pixel"),
        Case("dicom_zero_rows.dcm", dicom(np.zeros((8, 8)), Rows=0), error="'Rows' value of '0' is invalid"),
        Case("dicom_bits_allocated_7.dcm", dicom(px, BitsAllocated=7), error="'Bits Allocated' value of '7'"),
        Case("dicom_jpeg2000_garbage.dcm", jpeg2000_garbage(px),
             error="(JPEG 2000 Image Compression (Lossless Only)) cannot be decoded"),
        Case("recording.png", wav_bytes(), error=not_image),
        Case("archive.png", b"PK\x03\x04" + noise, error=not_image),
        Case("document.jpg", b"%PDF-1.4\n" + noise, error=not_image),
        Case("page.png", b"<!DOCTYPE html><html><body>hello</body></html>", error=not_image),
    ]
