#!/usr/bin/env python3
"""Converts api/openapi.yaml to minified JSON and writes it as a C++ source defining
hookd::api::openapi_json() (api/openapi_document.hpp). Run by the build (api/CMakeLists.txt).

Usage: openapi_embed.py OPENAPI_YAML OUTPUT_CPP

Stricter than plain YAML, so a slip in the hand-written document fails the build instead
of changing it silently: a key twice in one mapping, a key that is not a string (an
unquoted 200: or on:), or a value JSON cannot hold (an unquoted date) is an error, and
the document must say openapi 3.1.x.
"""
import json
import os
import sys

import yaml


class StrictLoader(yaml.SafeLoader):
    pass


def construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        where = f"line {key_node.start_mark.line + 1}"
        if not isinstance(key, str):
            raise SystemExit(f"openapi_embed: {where}: key {key!r} is not a string; quote it")
        if key in out:
            raise SystemExit(f"openapi_embed: {where}: key {key!r} appears twice in one mapping")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)

DELIMITER = "openapi"
PIECE = 32 * 1024


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: openapi_embed.py OPENAPI_YAML OUTPUT_CPP")
    source, output = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        try:
            document = yaml.load(f, Loader=StrictLoader)
        except yaml.YAMLError as e:
            raise SystemExit(f"openapi_embed: {source}: {e}")
    version = document.get("openapi") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("3.1."):
        raise SystemExit(f"openapi_embed: {source}: openapi must be 3.1.x, got {version!r}")
    try:
        text = json.dumps(document, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"openapi_embed: {source}: not representable as JSON: {e}")
    if f'){DELIMITER}"' in text:
        raise SystemExit("openapi_embed: the JSON contains the raw string's delimiter")

    # Pieces under 64 KiB: longer literals are beyond what compilers must support
    # (clang's -Wpedantic says so), and adjacent literals would be one.
    pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)]
    literals = "".join(f'    R"{DELIMITER}({p}){DELIMITER}",\n' for p in pieces)
    cpp = (
        "// Generated from api/openapi.yaml by api/openapi_embed.py at build time; do not edit.\n"
        '#include "api/openapi_document.hpp"\n'
        "\n"
        "#include <string>\n"
        "\n"
        "namespace hookd::api {\n"
        "namespace {\n"
        "\n"
        "constexpr std::string_view k_pieces[] = {\n"
        f"{literals}"
        "};\n"
        "\n"
        "}  // namespace\n"
        "\n"
        "std::string_view openapi_json() {\n"
        "  static const std::string json = [] {\n"
        "    std::string out;\n"
        "    for (std::string_view piece : k_pieces) out += piece;\n"
        "    return out;\n"
        "  }();\n"
        "  return json;\n"
        "}\n"
        "\n"
        "}  // namespace hookd::api\n"
    )
    temporary = output + ".tmp"
    with open(temporary, "w", encoding="ascii") as f:
        f.write(cpp)
    os.replace(temporary, output)


if __name__ == "__main__":
    main()
