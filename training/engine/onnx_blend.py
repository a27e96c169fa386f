"""One ONNX graph for an ensemble: member graphs side by side on the same inputs, their
probability (or value) outputs weighted and summed, so serving runs one session and the
exported model answers exactly what the Python ensemble answers.

Members must take the same inputs (names, types); each one's nodes, initializers and
intermediate values are renamed with a prefix so they cannot collide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _prefixed_graph(model, prefix: str, keep: set[str]):
    """A copy of ``model.graph`` with every name not in ``keep`` prefixed."""
    import onnx

    graph = onnx.GraphProto()
    graph.CopyFrom(model.graph)

    def rename(name: str) -> str:
        return name if (not name or name in keep) else prefix + name

    for init in graph.initializer:
        init.name = rename(init.name)
    for init in graph.sparse_initializer:
        init.values.name = rename(init.values.name)
    for node in graph.node:
        node.name = rename(node.name) if node.name else ""
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        for attr in node.attribute:
            if attr.g and attr.g.node:  # subgraphs (If/Loop): rename their outer references too
                raise ValueError("members with subgraphs cannot be blended")
    for value in graph.value_info:
        value.name = rename(value.name)
    for out in graph.output:
        out.name = rename(out.name)
    return graph


def blend_models(
    members: Sequence[tuple[object, str]],
    weights: Sequence[float],
    *,
    output_name: str = "probabilities",
    extra_outputs: Sequence[tuple[str, str]] = (),
):
    """``members``: (ModelProto, name of the output to blend). Returns one ModelProto whose
    ``output_name`` is sum(w_i * member_i) in float32.

    ``extra_outputs``: (member index as str, output name) pairs copied through unchanged
    (e.g. a label output of member 0); rarely needed.
    """
    import onnx
    from onnx import TensorProto, helper

    if len(members) != len(weights) or not members:
        raise ValueError("one weight per member is needed")
    first = members[0][0]
    inputs = list(first.graph.input)
    input_names = {i.name for i in inputs}
    for model, _ in members[1:]:
        if {i.name for i in model.graph.input} != input_names:
            raise ValueError("ensemble members must take the same inputs")
    nodes, initializers, value_info = [], [], []
    scaled = []
    opsets: dict[str, int] = {}
    for k, ((model, out), w) in enumerate(zip(members, weights, strict=True)):
        for imp in model.opset_import:
            opsets[imp.domain] = max(opsets.get(imp.domain, 0), imp.version)
        graph = _prefixed_graph(model, f"m{k}_", input_names)
        nodes.extend(graph.node)
        initializers.extend(graph.initializer)
        value_info.extend(graph.value_info)
        src = f"m{k}_{out}"
        cast = f"m{k}__blend_cast"
        nodes.append(helper.make_node("Cast", [src], [cast], to=TensorProto.FLOAT, name=f"m{k}__cast"))
        weight = f"m{k}__weight"
        initializers.append(helper.make_tensor(weight, TensorProto.FLOAT, [], [float(w)]))
        product = f"m{k}__weighted"
        nodes.append(helper.make_node("Mul", [cast, weight], [product], name=f"m{k}__mul"))
        scaled.append(product)
    nodes.append(helper.make_node("Sum", scaled, [output_name], name="blend_sum"))
    outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, _output_shape(members[0]))]
    for k, name in extra_outputs:
        src_model = members[int(k)][0]
        src = next(o for o in src_model.graph.output if o.name == name)
        renamed = onnx.ValueInfoProto()
        renamed.CopyFrom(src)
        renamed.name = f"m{k}_{name}"
        outputs.append(renamed)
    graph = helper.make_graph(nodes, "ensemble", inputs, outputs, initializer=initializers, value_info=value_info)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = max(m.ir_version for m, _ in members)
    onnx.checker.check_model(model)
    return model


def _output_shape(member) -> list | None:
    """The blended output's shape: the first member's blended output's, when it declares one."""
    model, name = member
    for out in model.graph.output:
        if out.name == name and out.type.tensor_type.HasField("shape"):
            return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in out.type.tensor_type.shape.dim]
    return [None, None]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0
