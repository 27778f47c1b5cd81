#!/usr/bin/env python3
"""Recovers a CRD's structural JSON Schema from the ajv validator that @kubernetes-models/istio
compiled from Istio's crd-all.gen.yaml (see README.md beside this file).

    npm pack @kubernetes-models/istio@3.0.1 && tar xzf kubernetes-models-istio-3.0.1.tgz
    npx prettier@3 --parser babel package/_schemas/ExtensionsIstioIoV1alpha1WasmPlugin.js > wp.js
    python3 recover.py wp.js wasmplugins.extensions.istio.io v1alpha1 > wasmplugin.json

The compiled code is regular: one function per schema node, each keyword an error object with its
parameters. Anything it cannot place is reported on stderr and fails the run.
"""

import json
import re
import sys


def recover(src):
    root = re.search(r"export const validate = (validate\d+);", src).group(1)
    enums = {m.group(1): json.loads(re.sub(r",\s*\]", "]", m.group(2)))
             for m in re.finditer(r"let (schema\d+_enum) = (\[[^\]]*\]);", src, re.S)}
    funcs = {}
    parts = re.split(r"^function (validate\d+)\(", src, flags=re.M)
    for i in range(1, len(parts), 2):
        body = parts[i + 1]
        end = re.search(r"^(let |import |function |export )", body, re.M)
        funcs[parts[i]] = body[:end.start()] if end else body
    external = set(re.findall(r"import \{ validate as (validate\d+) \}", src))
    problems = []

    def node(name, seen=()):
        if name in external:
            return {"type": "object"}  # metadata: Kubernetes' ObjectMeta
        if name in seen:
            problems.append(f"recursive {name}")
            return {}
        b = funcs[name]
        subs = re.findall(r"(validate\d+)\(data, \{", b)
        if subs and set(subs) <= external:
            return {"type": "object"}  # a reference to Kubernetes' ObjectMeta
        s = {}
        types = re.findall(r'params: \{ type: "(\w+)" \}', b)
        if types:
            s["type"] = types[0]
        for m in re.finditer(r"allowedValues: (schema\d+_enum)", b):
            s["enum"] = enums[m.group(1)]
        for m in re.finditer(r'keyword: "(\w+)",\s*params: \{ (?:comparison: "[^"]+", )?limit: (0x[0-9a-f]+|\d+) \}', b):
            s[m.group(1)] = int(m.group(2), 0)
        for m in re.finditer(r'keyword: "pattern",\s*params: \{\s*pattern:\s*("(?:[^"\\]|\\.)*")', b):
            s["pattern"] = json.loads(m.group(1))
        for m in re.finditer(r'params: \{ format: "([^"]+)" \}', b):
            s["format"] = m.group(1)
        required = re.findall(r'missingProperty: "(\w+)"', b)
        if required:
            s["required"] = required
        props = {m.group(1): node(m.group(2), seen + (name,))
                 for m in re.finditer(r"void 0 !== data\.(\w+) &&\s*\(?\s*(validate\d+)\(data\.\1\b", b)}
        if props:
            s["properties"] = props
        unplaced = set(re.findall(r"data\.(\w+)", b)) - {"length"} - set(props) - set(required)
        if unplaced:
            problems.append(f"{name}: unplaced {sorted(unplaced)}")
        m = re.search(r"(validate\d+)\(data\[i0\]", b)
        if m:
            s["items"] = node(m.group(1), seen + (name,))
        m = re.search(r"(validate\d+)\(data\[key0\]", b)
        if m:
            s["additionalProperties"] = node(m.group(1), seen + (name,))
        for kw in ("anyOf", "oneOf", "not"):
            if f'keyword: "{kw}"' in b:
                subschemas = [node(x, seen + (name,)) for x in subs]
                s[kw] = subschemas[0] if kw == "not" else subschemas
                break
        else:
            if subs:
                problems.append(f"{name}: unplaced subschemas {subs}")
        return s

    schema = node(root)
    return schema, problems


def main():
    path, crd, version = sys.argv[1:4]
    schema, problems = recover(open(path).read())
    if problems:
        sys.exit("\n".join(problems))
    props = schema["properties"]
    schema["properties"] = {k: props[k] for k in ("apiVersion", "kind", "metadata", "spec", "status") if k in props}
    doc = {"$schema": "http://json-schema.org/draft-07/schema#",
           "$comment": f"Istio 1.29.2 CRD {crd} {version}: structural schema recovered from "
                       "@kubernetes-models/istio 3.0.1 (npm). See README.md beside this file.",
           **schema}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
