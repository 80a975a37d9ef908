#!/usr/bin/env python3
"""STAND-IN esptool (tests only), run by the stand-in platform's recipes as ``python3 esptool.py``.

Like the real esptool 4.x (esptool/loader.py) it imports pyserial first, even for the offline commands, so a
``python3`` without pyserial fails here as it fails with the real tool. Commands:
``--chip C elf2image ... --elf-sha256-offset 0xb0 -o OUT ELF``: an app image in the ESP32 image format
(header, extended header with the chip id, segments from the ELF's .rodata/.text/.data, checksum, appended
SHA-256; the ELF's SHA-256 at the offset, like esptool's --elf-sha256-offset);
``--chip C merge_bin -o OUT --fill-flash-size S ... ADDR FILE ...``: the files laid out at their offsets.
"""

import argparse
import hashlib
import struct
import sys

try:
    import serial  # noqa: F401  (esptool/loader.py imports pyserial unconditionally)
except ImportError:
    print(f"Pyserial is not installed for {sys.executable}. Check the README for installation instructions.")
    raise

CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32c3": 5, "esp32s3": 9, "esp32c2": 12, "esp32c6": 13, "esp32h2": 16}
# (drom, irom, dram) load addresses of each chip's memory map
ADDRESSES = {"esp32": (0x3F400020, 0x400D0020, 0x3FFB0000), "esp32s3": (0x3C000020, 0x42000020, 0x3FC88000)}
FLASH_MODES = {"qio": 0, "qout": 1, "dio": 2, "dout": 3}
FLASH_SIZES = {"1MB": 0x00, "2MB": 0x10, "4MB": 0x20, "8MB": 0x30, "16MB": 0x40}
FLASH_FREQS = {"40m": 0x0, "26m": 0x1, "20m": 0x2, "80m": 0xF}
APP_DESC_MAGIC = 0xABCD5432


def elf_sections(data):
    """Name -> bytes of the ELF's PROGBITS sections (32- or 64-bit little-endian ELF)."""
    if data[:4] != b"\x7fELF":
        return {}
    wide = data[4] == 2
    shoff = struct.unpack_from("<Q" if wide else "<I", data, 0x28 if wide else 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A if wide else 0x2E)
    headers = []
    for index in range(shnum):
        base = shoff + index * shentsize
        if wide:
            name, kind, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, base)
        else:
            name, kind, _, _, offset, size = struct.unpack_from("<IIIIII", data, base)
        headers.append((name, kind, offset, size))
    strtab = headers[shstrndx]
    names = data[strtab[2] : strtab[2] + strtab[3]]
    sections = {}
    for name, kind, offset, size in headers:
        label = names[name : names.index(b"\0", name)].decode()
        if kind == 1:  # SHT_PROGBITS
            sections[label] = data[offset : offset + size]
    return sections


def pad4(data):
    return data + b"\0" * (-len(data) % 4)


def elf2image(args):
    elf = open(args.input, "rb").read()
    sections = elf_sections(elf) or {".rodata": elf}
    # esp_app_desc_t opens the first segment (image offset 0x20); its app_elf_sha256 field lands at 0xb0.
    elf_sha256 = hashlib.sha256(elf).digest() if args.elf_sha256_offset == "0xb0" else b""
    desc = struct.pack(
        "<II8s32s32s16s16s32s32s",
        APP_DESC_MAGIC,
        0,
        b"",
        b"1",
        b"arduino-lib-builder",
        b"00:00:00",
        b"Jan  1 2024",
        b"v5.1.4-stand-in",
        elf_sha256,
    )
    drom_address, irom_address, dram_address = ADDRESSES.get(args.chip, ADDRESSES["esp32"])
    segments = [
        (drom_address, pad4(desc + sections.get(".rodata", b""))),
        (irom_address, pad4(sections.get(".text", b"\0\0\0\0"))),
        (dram_address, pad4(sections.get(".data", b"\0\0\0\0"))),
    ]
    size_freq = FLASH_SIZES[args.flash_size] | FLASH_FREQS[args.flash_freq]
    image = bytearray(struct.pack("<BBBBI", 0xE9, len(segments), FLASH_MODES[args.flash_mode], size_freq, irom_address))
    image += struct.pack("<B3sHBHH4sB", 0xEE, b"\0\0\0", CHIP_IDS[args.chip], 0, 0, 0xFFFF, b"", 1)
    checksum = 0xEF
    for address, data in segments:
        image += struct.pack("<II", address, len(data)) + data
        for value in data:
            checksum ^= value
    image += b"\0" * (15 - len(image) % 16)
    image.append(checksum)
    image += hashlib.sha256(image).digest()
    open(args.output, "wb").write(bytes(image))


def merge_bin(args):
    size = int(args.fill_flash_size[:-2]) * 1024 * 1024 if args.fill_flash_size else 0
    pairs = list(zip(args.files[::2], args.files[1::2]))
    merged = bytearray()
    for address, path in pairs:
        blob = open(path, "rb").read()
        offset = int(address, 0)
        merged += b"\xff" * (offset - len(merged))
        merged[offset : offset + len(blob)] = blob
    merged += b"\xff" * (size - len(merged))
    open(args.output, "wb").write(bytes(merged))


def main(argv):
    parser = argparse.ArgumentParser(prog="esptool.py")
    parser.add_argument("--chip", required=True, choices=sorted(CHIP_IDS))
    commands = parser.add_subparsers(dest="command", required=True)
    image = commands.add_parser("elf2image")
    merge = commands.add_parser("merge_bin")
    for sub in (image, merge):
        sub.add_argument("--flash_mode", default="keep")
        sub.add_argument("--flash_freq", default="keep")
        sub.add_argument("--flash_size", default="keep")
        sub.add_argument("-o", "--output", required=True)
    image.add_argument("--elf-sha256-offset")
    image.add_argument("input")
    merge.add_argument("--fill-flash-size")
    merge.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    (elf2image if args.command == "elf2image" else merge_bin)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
