#!/usr/bin/env python3
"""Writes the delivery portal's files (portal/) as a C++ source defining
hookd::api::portal_assets() (api/portal_assets.hpp). Run by the build (api/CMakeLists.txt).

Usage: portal_embed.py OUTPUT_CPP PORTAL_DIR FILE...

Each file is compiled in as it is and gzip-compressed (level 9, no name or time in
the header, so the output depends on the files alone), with a strong ETag made of its
SHA-256. Only the file types listed in TYPES may be served; another fails the build.
"""
import gzip
import hashlib
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# Kept in the tree beside the assets, never served.
SKIPPED = {"LICENSE", "VERSION", "README.md"}


def c_bytes(data):
    rows = []
    for i in range(0, len(data), 24):
        rows.append("    " + ",".join(str(b) for b in data[i:i + 24]) + ",")
    return "\n".join(rows) if rows else "    0,"


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: portal_embed.py OUTPUT_CPP PORTAL_DIR FILE...")
    output, root = sys.argv[1], os.path.abspath(sys.argv[2])
    entries = []
    for path in sorted(os.path.abspath(p) for p in sys.argv[3:]):
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if relative.startswith("../"):
            raise SystemExit(f"portal_embed: {path} is not under {root}")
        name = os.path.basename(relative)
        # Licence and version notes stay beside the files; editors' hidden and backup
        # files (".app.js.swp", "app.js~") are never part of the portal.
        if name in SKIPPED or name.startswith(".") or name.endswith("~"):
            continue
        kind = TYPES.get(os.path.splitext(relative)[1])
        if kind is None:
            raise SystemExit(f"portal_embed: {relative}: no content type for this kind of file")
        with open(path, "rb") as f:
            data = f.read()
        entries.append((relative, kind, data))

    arrays = []
    table = []
    for n, (relative, kind, data) in enumerate(entries):
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        arrays.append(f"// {relative}\nconstexpr unsigned char k_plain_{n}[] = {{\n{c_bytes(data)}\n}};\n"
                      f"constexpr unsigned char k_gzip_{n}[] = {{\n{c_bytes(packed)}\n}};\n")
        table.append(f'    {{"{relative}", "{kind}", view(k_plain_{n}, {len(data)}), '
                     f'view(k_gzip_{n}, {len(packed)}), R"etag({etag})etag"}},')
    cpp = (
        "// Generated from portal/ by api/portal_embed.py at build time; do not edit.\n"
        '#include "api/portal_assets.hpp"\n'
        "\n"
        "namespace hookd::api {\n"
        "namespace {\n"
        "\n"
        "std::string_view view(const unsigned char* p, std::size_t n) {\n"
        "  return {reinterpret_cast<const char*>(p), n};\n"
        "}\n"
        "\n"
        + "\n".join(arrays) +
        "\n"
        "}  // namespace\n"
        "\n"
        "std::span<const portal_asset> portal_assets() {\n"
        f"  static const portal_asset assets[] = {{\n" + "\n".join(table) + "\n  };\n"
        "  return assets;\n"
        "}\n"
        "\n"
        "}  // namespace hookd::api\n"
    )
    if not entries:
        raise SystemExit("portal_embed: no files to serve")
    temporary = output + ".tmp"
    with open(temporary, "w", encoding="ascii") as f:
        f.write(cpp)
    os.replace(temporary, output)


if __name__ == "__main__":
    main()
